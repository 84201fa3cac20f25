"""Loopback stand-ins for the Copernicus Data Space's token endpoint and its download service (the HTTPS
alternates of CDSE STAC v1 assets), for tests/e2e/test_cdse_stac.py.

- ``token_server``: OpenID Connect token endpoint (password and refresh_token grants, form-encoded, as
  core.net.cdse.CdseToken sends them); each token it issues is new, and it says how long it lives.
- ``asset_server``: answers ``/odata/v1/Products(<id>)/Nodes(...)/.../Nodes(<file>)/$value`` with the file
  ``<root>/<id>/<file>``, only with a bearer token the token server issued and that has not expired,
  and byte ranges (a GET without Range, or any GET while .ranges is False, gets the whole file). It logs every
  request (path, Range, token, status, bytes) and the most requests it served at once.
"""
import os
import re
import secrets
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List, Optional

from .loopback import serving

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_ODATA = re.compile(r"^/odata/v1/Products\(([0-9a-f-]+)\)/(?:Nodes\([^()/]+\)/)*Nodes\(([^()/]+)\)/\$value$")


@dataclass
class Issued:
    """Tokens issued, by value: when each expires (monotonic seconds); the grants asked for, in order."""
    lifetime: float
    expires: Dict[str, float] = field(default_factory=dict)
    refresh_tokens: Dict[str, float] = field(default_factory=dict)
    grants: List[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def valid(self, token: Optional[str]) -> bool:
        with self.lock:
            return token is not None and self.expires.get(token, 0.0) > time.monotonic()


class _TokenHandler(BaseHTTPRequestHandler):
    def log_message(self, *_args):
        pass

    def do_POST(self):  # noqa: N802 (http.server's name)
        issued: Issued = self.server.issued
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
        grant = fields.get("grant_type", "")
        with issued.lock:
            issued.grants.append(grant)
            allowed = (grant == "password" and fields.get("client_id") == "cdse-public"
                       and (fields.get("username"), fields.get("password")) == self.server.login) or (
                grant == "refresh_token"
                and issued.refresh_tokens.get(fields.get("refresh_token"), 0) > time.monotonic())
            if allowed:
                access, refresh = "at-" + secrets.token_hex(16), "rt-" + secrets.token_hex(16)
                issued.expires[access] = time.monotonic() + issued.lifetime
                issued.refresh_tokens[refresh] = time.monotonic() + 3600
        if not allowed:
            self._json(401, b'{"error": "invalid_grant"}')
            return
        self._json(200, ('{"access_token": "%s", "expires_in": %s, "refresh_token": "%s", "refresh_expires_in": 3600, '
                         '"token_type": "Bearer"}' % (access, issued.lifetime, refresh)).encode())

    def _json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def token_server(user: str, password: str, lifetime: float) -> Iterator[ThreadingHTTPServer]:
    """The token endpoint at .url; .issued holds the tokens and the grants."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    server.login, server.issued = (user, password), Issued(lifetime)
    server.url = f"http://127.0.0.1:{server.server_address[1]}/auth/realms/CDSE/protocol/openid-connect/token"
    with serving(server):
        yield server


@dataclass
class Request:
    path: str
    range: Optional[str]
    token: Optional[str]
    status: int
    sent: int


class _AssetHandler(BaseHTTPRequestHandler):
    def log_message(self, *_args):
        pass

    def do_HEAD(self):  # noqa: N802
        self._answer(head=True)

    def do_GET(self):  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        server = self.server
        with server.lock:
            server.active += 1
            server.most_at_once = max(server.most_at_once, server.active)
        try:
            status, sent = self._serve(head)
        finally:
            with server.lock:
                server.active -= 1
        authorization = self.headers.get("Authorization", "")
        with server.lock:
            server.requests.append(Request(self.path, self.headers.get("Range"),
                                           authorization[7:] if authorization.startswith("Bearer ") else None,
                                           status, sent))

    def _serve(self, head: bool):
        authorization = self.headers.get("Authorization", "")
        if not (authorization.startswith("Bearer ") and self.server.issued.valid(authorization[7:])):
            self.send_error(401)
            return 401, 0
        match = _ODATA.match(urllib.parse.unquote(self.path))
        path = os.path.join(self.server.root, match.group(1), match.group(2)) if match else ""
        if not os.path.isfile(path):
            self.send_error(404)
            return 404, 0
        size = os.path.getsize(path)
        wanted = _RANGE.match(self.headers.get("Range", "")) if self.server.ranges else None
        start, end = (int(wanted.group(1)), int(wanted.group(2) or size - 1)) if wanted else (0, size - 1)
        end = min(end, size - 1)
        time.sleep(self.server.delay)  # a remote server's latency: lets requests overlap as they would
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", "image/jp2")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return 200, 0
        with open(path, "rb") as handle:
            handle.seek(start)
            payload = handle.read(end - start + 1)
        self.wfile.write(payload)
        return (206 if wanted else 200), len(payload)


@contextmanager
def asset_server(root, issued: Issued, delay: float = 0.02) -> Iterator[ThreadingHTTPServer]:
    """The download service at .url serving root; .requests, .most_at_once."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AssetHandler)
    server.daemon_threads = True
    server.root, server.issued, server.delay, server.ranges = str(root), issued, delay, True
    server.requests, server.active, server.most_at_once, server.lock = [], 0, 0, threading.Lock()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield server
