"""Serves the page (`/`) and its files (`/ui/...`) under a strict Content-Security-Policy."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from core.errors import NotFound
from serving.web.viewer import router as viewer_router

STATIC = Path(__file__).parent / "static"
# Only files of this folder, only from this server; no inline script or style, no framing.
# `blob:` images are page renders fetched with the sign-in header; `data:` the favicon.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}

pages = APIRouter(include_in_schema=False)


@pages.get("/")
async def index() -> FileResponse:
    """The page."""
    return FileResponse(STATIC / "index.html", headers=HEADERS, media_type="text/html")


@pages.get("/ui/{name:path}")
async def asset(name: str) -> FileResponse:
    """A file of the page (scripts, style), only from its own folder."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file():
        raise NotFound(f"no file {name!r} in the web page")
    media = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain"
    return FileResponse(path, headers=HEADERS, media_type=media)


def install(app: FastAPI, *, enabled: bool, render_scale: float) -> None:
    """The viewer's API always; the page itself when `enabled`."""
    app.state.viewer_scale = render_scale
    app.include_router(viewer_router)
    if enabled:
        app.include_router(pages)
