"""The storefront's static files, held in memory and served under names that carry a hash
of their content, so that browsers may keep them for a year."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ..keys import WEB_ASSETS
from ..platform.errors import NotFound

STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # an unhashed name: its content may change under it


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


class Assets:
    """Every file of a directory, by its plain name and by its hashed name."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.hashed: dict[str, str] = {}  # app.css -> app.1a2b3c4d5e.css
        self.files: dict[str, Asset] = {}
        for path in sorted(p for p in directory.iterdir() if p.is_file()):
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:10]
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
                kind += "; charset=utf-8"
            asset = Asset(body, kind, f'"{digest}"')
            name = f"{path.stem}.{digest}{path.suffix}"
            self.hashed[path.name] = name
            self.files[name] = self.files[path.name] = asset

    def url(self, name: str) -> str:
        """Where a page links to a static file: its hashed name."""
        return f"/static/{self.hashed[name]}"


routes = web.RouteTableDef()


@routes.get("/static/{name}")
async def static_file(request: web.Request) -> web.Response:
    assets = request.app[WEB_ASSETS]
    name = request.match_info["name"]
    asset = assets.files.get(name)
    if asset is None:
        raise NotFound(f"no static file {name!r}")
    cache = REVALIDATE if name in assets.hashed else IMMUTABLE
    headers = {"Cache-Control": cache, "ETag": asset.etag, "Content-Type": asset.content_type}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers=headers)
