"""Plain HTTP on the WebSocket port: /healthz, /metrics and the web clients' static files."""

from __future__ import annotations

import hmac
import ipaddress
import json
import mimetypes
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

if TYPE_CHECKING:
    from gatewayd.app import App

WS_PATH = "/ws"


def response(status: int, body: bytes, content_type: str, **headers: str) -> Response:
    h = Headers(
        {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            "Connection": "close",
            **headers,
        }
    )
    return Response(status, HTTPStatus(status).phrase, h, body)


# Each page lives in its own folder (clients/web/checkout/, kiosk/, backoffice/); the
# addresses users and kiosk configurations already know keep serving them.
PAGE_ADDRESSES = {
    "/": "checkout/index.html",
    "/index.html": "checkout/index.html",
    "/kiosk.html": "kiosk/index.html",
    "/backoffice.html": "backoffice/index.html",
}


def bad_request(why: str) -> Response:
    return response(400, f"bad request: {why}\n".encode(), "text/plain; charset=utf-8")


def static_file(root: Path, path: str, pages: dict[str, str] = PAGE_ADDRESSES) -> Response:
    """A file under `root`; `pages` maps the pages' addresses (HQ serves its own at `/`)."""
    path = path.split("?", 1)[0]
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        return bad_request("control character in the path")
    rel = pages.get(path) or path.lstrip("/")
    target = (root / rel).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        return response(404, b"not found\n", "text/plain; charset=utf-8")
    ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
        ctype += "; charset=utf-8"
    return response(200, target.read_bytes(), ctype, **{"X-Content-Type-Options": "nosniff"})


def host_allowed(host_header: str | None, names: set[str]) -> bool:
    """Whether the Host header names this till: an IP address (a rebinding attack needs a
    name of the attacker's), `localhost`, or a name in `server.allowed_hosts`."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host in names


def make_process_request(app: App):
    web_root = app.web_root
    cfg = app.config.server
    names = {"localhost", *(h.lower() for h in cfg.allowed_hosts)}
    metrics_auth = f"Bearer {cfg.metrics_token}".encode() if cfg.metrics_token else None

    def process_request(connection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == WS_PATH:
            return None  # WebSocket handshake (Origin checked by websockets)
        if path in ("/healthz", "/metrics") and not host_allowed(request.headers.get("Host"),
                                                                 names):
            # DNS rebinding: a page on evil.example resolved to this till reads as its own
            return response(421, b"this till does not answer to that host name\n",
                            "text/plain; charset=utf-8")
        if path == "/healthz":
            health = app.health()
            body = json.dumps(health, ensure_ascii=False).encode()
            return response(200 if health["status"] == "ok" else 503, body, "application/json")
        if path == "/metrics":
            given = request.headers.get("Authorization", "").encode()
            if metrics_auth is not None and not hmac.compare_digest(given, metrics_auth):
                return response(401, b"/metrics needs its token (server.metrics_token)\n",
                                "text/plain; charset=utf-8",
                                **{"WWW-Authenticate": 'Bearer realm="gatewayd metrics"'})
            return response(200, app.metrics.render().encode(), "text/plain; version=0.0.4")
        if web_root is None:
            return response(404, b"no web clients installed\n", "text/plain; charset=utf-8")
        return static_file(web_root, path)

    return process_request
