"""`autolabel serve`: a threaded HTTP server that hands each request to the API's resolver as
an API Gateway HTTP API (payload v2) event — the very object the Lambda receives — so what is
tested locally is what runs on AWS."""

from __future__ import annotations

import base64
import errno
import json
import logging
import mimetypes
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from aws_lambda_powertools.utilities.typing import LambdaContext

from autolabel.api.app import create_app
from autolabel.api.resolver import MAX_BODY_BYTES, ThreadSafeHttpResolver, too_large_response
from autolabel.app import transfers
from autolabel.domain.errors import AutolabelError, CannotListen, TooLarge
from autolabel.ports import BLOB_PATH, Backends
from autolabel.web import STATIC_DIR, is_app_path, static_response

log = logging.getLogger("autolabel.api.server")

# Sent with every answer that does not set its own (the app's page sets its CSP): an API body
# or a served image is never run as a page, sniffed into another type, framed, or told to
# another site by a Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class LocalContext:
    """The few LambdaContext fields a handler might read."""

    function_name: str = "autolabel-serve"
    memory_limit_in_mb: int = 0
    invoked_function_arn: str = "local"
    aws_request_id: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def to_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes, client_ip: str) -> dict[str, Any]:
    """The HTTP API v2 event API Gateway would send for this request."""
    url = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        # API Gateway joins repeated headers (and repeated query keys) with commas.
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query = {key: ",".join(values) for key, values in parse_qs(url.query, keep_blank_values=True).items()}
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path or "/",
        "rawQueryString": url.query,
        "headers": merged,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": merged.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": url.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": client_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if query:
        event["queryStringParameters"] = query
    if cookies:
        event["cookies"] = cookies
    if body:
        event["body"] = text
    return event


def plain_error(status: int, code: str, message: str) -> dict[str, Any]:
    """An error the server answers itself, in the API's error shape."""
    body = json.dumps({"error": code, "message": message, "details": {}})
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def make_handler(
    app: ThreadSafeHttpResolver,
    static_root: Path = STATIC_DIR,
    web_config: dict[str, Any] | None = None,
    backends: Backends | None = None,
) -> type[BaseHTTPRequestHandler]:
    """The request handler: the web app's files and signed blob links are answered here,
    everything else by ``app``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
        # Headers and body go out as separate writes; with Nagle's algorithm on, the body
        # waits for the client's delayed ACK of the headers: +40 ms on every response.
        disable_nagle_algorithm = True
        timeout = 120  # an idle (or stalled) connection gives its thread back after two minutes
        server_version = "autolabel"

        def _handle(self) -> None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                # API Gateway needs the length up front too; refusing beats misreading the stream.
                self._send(plain_error(411, "length_required", "send a Content-Length, not a chunked body"))
                self.close_connection = True
                return
            length_header = self.headers.get("Content-Length") or "0"
            try:
                length = int(length_header)
            except ValueError:
                length = -1
            if length < 0:
                self._send(plain_error(400, "bad_request", "invalid Content-Length"))
                self.close_connection = True
                return
            path = unquote(urlsplit(self.path).path)
            if backends is not None and path.startswith(BLOB_PATH) and self.command in ("GET", "HEAD", "PUT"):
                self._blob(path[len(BLOB_PATH) :], length)
                return
            if length > MAX_BODY_BYTES:
                # Refused before reading: the connection is closed rather than drained.
                self._send(too_large_response(length))
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            if self.command in ("GET", "HEAD") and is_app_path(path):
                # The web app's files: public, like the page that asks for the token.
                page = static_response(path, static_root, web_config)
                self._send({"statusCode": page.status, "headers": page.headers, "body": page.body})
                return
            event = to_event(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
            context = cast(LambdaContext, LocalContext(aws_request_id=event["requestContext"]["requestId"]))
            try:
                response = app.resolve(event, context)
            except Exception:
                log.exception("unhandled error for %s %s", self.command, urlsplit(self.path).path)
                response = plain_error(500, "internal_error", "internal error")
            self._send(response)

        def _blob(self, key: str, length: int) -> None:
            assert backends is not None
            """A signed blob link (what a presigned S3 URL is on AWS): no bearer token, the
            signature is the permission. Bodies of any accepted size, not the API's 8 MiB."""
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            expires, signature = query.get("expires", ""), query.get("sig", "")
            try:
                if self.command == "PUT":
                    if length > transfers.MAX_MODEL_BYTES:
                        self.close_connection = True
                        raise TooLarge(f"at most {transfers.MAX_MODEL_BYTES} bytes", {})
                    data = self.rfile.read(length) if length else b""
                    content_type = self.headers.get("Content-Type")
                    transfers.write_signed(backends, key, expires, signature, data, content_type)
                    self._send({"statusCode": 200, "headers": {}, "body": ""})
                    return
                if length:
                    self.rfile.read(length)
                found = transfers.read_signed(backends, key, expires, signature)
                headers = {
                    "Content-Type": mimetypes.guess_type(found.name)[0] or "application/octet-stream",
                    "Cache-Control": "private, max-age=300",
                    "X-Content-Type-Options": "nosniff",
                }
                self._send({"statusCode": 200, "headers": headers, "body": found.read_bytes()})
            except AutolabelError as exc:
                self._send(plain_error(exc.http_status, exc.code, exc.message))

        def _send(self, response: dict[str, Any]) -> None:
            raw = response.get("body") or ""
            if isinstance(raw, bytes):
                payload = raw
            elif response.get("isBase64Encoded"):
                payload = base64.b64decode(raw)
            else:
                payload = str(raw).encode("utf-8")
            self.send_response(int(response["statusCode"]))
            headers: dict[str, Any] = dict(response.get("headers") or {})
            given = {name.lower() for name in headers}
            headers.update({name: value for name, value in SECURITY_HEADERS.items() if name.lower() not in given})
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, str(value))
            for cookie in response.get("cookies") or []:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # The path without its query: a signed link's signature is as good as a token. The
            # Authorization header is never logged (only the request line ever was).
            log.debug('%s - "%s %s" %s', self.address_string(), self.command, urlsplit(self.path).path, code)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s - %s", self.address_string(), format % args)

    return Handler


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never blocks shutdown
    request_queue_size = 128  # 50+ clients connecting at once must not be refused


def make_server(
    backends: Backends, host: str = "127.0.0.1", port: int = 8080, static_root: Path = STATIC_DIR
) -> ApiServer:
    return ApiServer((host, port), make_handler(create_app(backends), static_root, backends=backends))


def run_server(backends: Backends, host: str, port: int, announce: Callable[[str], None] = print) -> None:
    try:
        server = make_server(backends, host, port)
    except OSError as exc:
        raise CannotListen(listen_problem(exc, host, port), {"host": host, "port": port}) from None
    bound_host, bound_port = server.server_address[:2]
    announce(f"http://{bound_host!s}:{bound_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def listen_problem(exc: OSError, host: str, port: int) -> str:
    """Why ``host:port`` cannot be listened on, and what to do instead."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use: stop what uses it, or pick another (--port 0 picks a free one)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"this machine has no address {host}: pass one of its own addresses to --host (127.0.0.1 by default)"
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}: ports below 1024 need privileges; pick another with --port"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve --host {host!r} ({exc.strerror}): give an IP address or a name this machine resolves"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
