"""Enrollment's entrypoints: the HTTP API (`http`, `http_imports`), the composition root (`app`),
the command line (`cli`) and the demo data loader (`demo`)."""
