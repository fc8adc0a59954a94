"""Pairing's entrypoints: HTTP routers, the composition root (`app.service`), the command line."""
