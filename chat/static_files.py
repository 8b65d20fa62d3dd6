"""The pages' static files under content-versioned URLs, cached for a year, compressed as the browser asks.

Two bundles, each with a version that is a hash of all its files' contents:

- ``dsfr``: the DSFR files made by ``chat/assets.py`` (``chat/static/dsfr/``, its allowlist);
- ``pnav``: our own scripts (``chat/static/js/*.js``) and ``chat/static/pnav.css``.

A file is served at ``/assets/<version of its bundle>/<path>`` (``/assets/3fa9…/js/tchat.js``,
``/assets/c01d…/dsfr/visitor.min.css``): any change of a file changes the URL of every file of its bundle, so the
browser may keep them for a year without asking again (``Cache-Control: public, max-age=31536000, immutable``).
A whole bundle shares one version, not one per file, so that relative references keep working: the scripts
import each other as ``./client.js`` and the stylesheets refer to ``fonts/…`` and ``icons/…``. A URL with another
version is a 404 (never a newer file under an old URL, which a cache would keep for a year).

Our scripts and stylesheet are served minified, and compression is negotiated on ``Accept-Encoding``: brotli,
then gzip, then none. The install step stores the minified copies and both encodings of every compressible file
in ``chat/static/built/`` under the SHA-256 of the original, so a file edited since (a checkout in development) is
never served stale: its hash finds nothing, and it is served as it is, gzipped in memory at first use (brotli and
esbuild are build-time tools only).

Files are read once per process, at the first request or page that needs them (:func:`bundles`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chat.assets import ALLOWED as DSFR_ALLOWED
from chat.assets import BUILT, OWN_ALLOWED, STATIC_DIR, compressible, sha256
from chat.assets import TARGET as DSFR_DIR

PREFIX = "/assets"
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
               ".woff2": "font/woff2", ".woff": "font/woff"}
_ENCODING = re.compile(r"^\s*([A-Za-z0-9*-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


@dataclass
class File:
    body: bytes
    sha256: str
    media_type: str
    encoded: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Bundle:
    name: str
    version: str
    files: dict[str, File]


def _load(name: str, root: Path, allowed: re.Pattern[str], prefix: str = "") -> Bundle:
    files: dict[str, File] = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or not allowed.match(relative):
            continue
        body = path.read_bytes()
        minified = BUILT / f"{sha256(body)}.min"
        if minified.is_file():
            body = minified.read_bytes()
        digest = sha256(body)
        file = File(body, digest, MEDIA_TYPES.get(path.suffix, "application/octet-stream"))
        if compressible(relative):
            for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
                stored = BUILT / (digest + suffix)
                if stored.is_file():
                    file.encoded[encoding] = stored.read_bytes()
            if "gzip" not in file.encoded:
                file.encoded["gzip"] = gzip.compress(body, compresslevel=9, mtime=0)
        files[prefix + relative] = file
    listing = "\n".join(f"{path} {file.sha256}" for path, file in files.items())
    return Bundle(name, hashlib.sha256(listing.encode()).hexdigest()[:16], files)


@functools.cache
def bundles() -> dict[str, Bundle]:
    """The two bundles, read from disk once per process."""
    return {"dsfr": _load("dsfr", DSFR_DIR, DSFR_ALLOWED, "dsfr/"), "pnav": _load("pnav", STATIC_DIR, OWN_ALLOWED)}


def _bundle_of(path: str) -> Bundle:
    return bundles()["dsfr" if path.startswith("dsfr/") else "pnav"]


def asset_url(path: str) -> str:
    """The versioned URL of a static file (``js/tchat.js``, ``pnav.css``, ``dsfr/visitor.min.css``); templates
    call it as ``asset(…)``. An unknown path raises, so that a typo fails the page's test rather than a browser."""
    bundle = _bundle_of(path)
    if path not in bundle.files:
        raise LookupError(f"no static file {path!r} (run `make assets`?)")
    return f"{PREFIX}/{bundle.version}/{path}"


def negotiate(accept_encoding: str, available: set[str]) -> str | None:
    """The encoding to send: brotli before gzip when both are acceptable, ``None`` for the file as it is."""
    accepted: dict[str, float] = {}
    for part in accept_encoding.split(","):
        match = _ENCODING.match(part)
        if match:
            try:
                accepted[match.group(1).lower()] = float(match.group(2) or 1)
            except ValueError:
                continue
    for encoding in ("br", "gzip"):
        quality = accepted[encoding] if encoding in accepted else accepted.get("*", 0.0)
        if encoding in available and quality > 0:
            return encoding
    return None


async def asset(request: Request) -> Response:
    version, path = str(request.path_params["version"]), str(request.path_params["path"])
    bundle = _bundle_of(path)
    file = bundle.files.get(path)
    if version != bundle.version or file is None:
        return PlainTextResponse("Fichier introuvable.", status_code=404)
    # No ETag: an immutable file is never revalidated, its URL changes with its content.
    headers = {"cache-control": IMMUTABLE}
    if file.encoded:
        headers["vary"] = "accept-encoding"
    encoding = negotiate(request.headers.get("accept-encoding", ""), set(file.encoded))
    if encoding is None:
        return Response(file.body, media_type=file.media_type, headers=headers)
    return Response(file.encoded[encoding], media_type=file.media_type,
                    headers={**headers, "content-encoding": encoding})
