"""The review web app's files, as `autolabel serve` hands them out.

The app is built from ``web/`` (Vite) into ``static/`` next to this module (``make web``); the
build output is not committed. Only ``/``, ``/index.html``, ``/assets/*`` and ``/config.json``
are the app's: every other path belongs to the API, and the app routes with the URL's hash
(``#/tasks``…) so its pages never collide with API paths.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).parent / "static"

# The app talks to the API on its own origin and signs in with a token (`autolabel user add`).
# On AWS the CDK stack deploys a config.json naming the API's URL and the Cognito client instead.
EMBEDDED_CONFIG: dict[str, Any] = {"apiBase": "", "auth": {"kind": "token"}}

# No inline scripts and nothing from another origin; images are blob: URLs fetched with the token.
# Inline *style attributes* are how the app positions bars and overlays, hence 'unsafe-inline' for styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>autolabel: web app not built</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The autolabel web app is not built</h1>
<p>The API is running (try <code>/health</code>), but the review web app's files are missing from
<code>{where}</code>.</p>
<p>Build them from the repository root with <code>make web</code> (it runs <code>npm ci</code> and
<code>npm run build</code> in <code>web/</code>; Node.js 20+ needed), or simply use <code>make serve</code>,
which builds the app first. Then reload this page.</p>
</body></html>
"""


@dataclass(frozen=True)
class StaticResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def is_app_path(path: str) -> bool:
    """Whether a request path is one of the app's files rather than an API route."""
    return path in ("/", "/index.html", "/config.json") or path.startswith("/assets/")


def _security_headers() -> dict[str, str]:
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def static_response(path: str, root: Path = STATIC_DIR, config: dict[str, Any] | None = None) -> StaticResponse:
    """The answer for an app path (see ``is_app_path``): a file of the build, the app's
    ``config.json`` (``config``, by default the embedded one), or a clear 404."""
    headers = _security_headers()
    if path == "/config.json":
        headers.update({"Content-Type": "application/json", "Cache-Control": "no-cache"})
        return StaticResponse(200, headers, json.dumps(config or EMBEDDED_CONFIG).encode())
    if path in ("/", "/index.html"):
        index = root / "index.html"
        if not index.is_file():
            headers.update({"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"})
            return StaticResponse(404, headers, NOT_BUILT_PAGE.format(where=root).encode())
        headers.update(
            {
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-cache",  # always revalidated: it names the current hashed assets
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            }
        )
        return StaticResponse(200, headers, index.read_bytes())
    assets = (root / "assets").resolve()
    wanted = (root / path.lstrip("/")).resolve()
    # resolve() folds any '..' (even percent-decoded ones), so a path outside assets/ is refused.
    if not wanted.is_relative_to(assets) or not wanted.is_file():
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return StaticResponse(404, headers, b"not found\n")
    content_type = mimetypes.guess_type(wanted.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "text/javascript"):
        content_type += "; charset=utf-8"
    # Vite names assets by content hash, so a name never changes meaning.
    headers.update({"Content-Type": content_type, "Cache-Control": "public, max-age=31536000, immutable"})
    return StaticResponse(200, headers, wanted.read_bytes())
