"""The HTTP API, the composition root and the demo data."""
