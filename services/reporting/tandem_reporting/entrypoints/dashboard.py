"""The dashboard's pages and scripts, served by the service itself (`/dashboard/`, `/dashboard/ops.html`).

Static files only, holding no data: every figure comes from the API with the bearer token the page
was given (see `static/session.js`), under the same access rules as any other caller. Chart.js is
vendored (`static/VENDORED.md`): nothing is loaded from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC", "dashboard_router"]

STATIC = Path(__file__).resolve().parent / "static"

dashboard_router = APIRouter()
dashboard_router.mount("/dashboard", StaticFiles(directory=STATIC, html=True), name="dashboard")
