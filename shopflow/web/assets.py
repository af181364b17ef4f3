"""The storefront's static files, held in memory and served under names that carry a hash
of their content, so that browsers may keep them for a year. Text files are also kept
gzipped, compressed once at startup, for the browsers that accept it."""

from __future__ import annotations

import gzip
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
MIN_GZIP = 256  # bytes: below this, gzip's header and a round of inflating cost more than they save


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str
    gzipped: bytes | None = None  # the body gzipped, when that is worth sending

    @property
    def gzip_etag(self) -> str:
        """Another representation, another entity tag (RFC 9110 8.8.3)."""
        return self.etag[:-1] + '-gz"'


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (`gzip;q=0` refuses it, as does an
    `identity`-only list); `*` counts."""
    chosen: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        chosen[coding.strip()] = q
    return chosen.get("gzip", chosen.get("x-gzip", chosen.get("*", 0.0))) > 0


def _gzip(body: bytes, kind: str) -> bytes | None:
    text = kind.startswith("text/") or kind.split(";")[0] in ("application/javascript", "image/svg+xml")
    if not text or len(body) < MIN_GZIP:
        return None
    packed = gzip.compress(body, compresslevel=9, mtime=0)  # once, at startup
    return packed if len(packed) < len(body) else None


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
            asset = Asset(body, kind, f'"{digest}"', _gzip(body, kind))
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
    headers = {"Cache-Control": cache, "Content-Type": asset.content_type}
    body, etag = asset.body, asset.etag
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("Accept-Encoding", "")):
            body, etag = asset.gzipped, asset.gzip_etag
            headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if etag in request.headers.get("If-None-Match", ""):
        headers.pop("Content-Encoding", None)
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers)
