"""API docs that work offline: Swagger UI at /docs and ReDoc at /redoc, their assets served by the
service itself rather than a CDN (a locked-down network shows a blank page otherwise).

The assets ship in the PyPI package `fastapi-offline` (Swagger UI, ReDoc, a favicon); only its
files are used, from `/docs-assets/`. Swagger UI's online validator badge is off, and ReDoc does
not load Google Fonts: nothing leaves the machine.

    serve_docs(app)   # by create_app, with FastAPI(docs_url=None, redoc_url=None)
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from tandem_kernel.access import public

__all__ = ["ASSETS_PATH", "serve_docs"]

ASSETS_PATH = "/docs-assets"


def serve_docs(app: FastAPI) -> None:
    """Add /docs, /redoc and their assets to `app` (created without FastAPI's own docs routes)."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS_PATH, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(_: Annotated[None, public()]) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(_: Annotated[None, public()]) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
