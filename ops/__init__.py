"""The project's operational tooling: the images (ops.image, ops.engine) and the Helm chart (ops.chart)."""
