"""A loopback HTTP server that serves files with byte ranges and injects faults on request.

It stands in for the CDSE download service, a DHuS hub or a COG bucket in the download tests:

* files: ``server.add_file('/a.zip', data)``; GET and HEAD with ``Range`` (206 + Content-Range),
  ``If-Range``, ``ETag``, ``Last-Modified``, ``Content-Length``;
* faults: ``server.script('/a.zip', Fault(cut_after=1000), Fault(status=429, retry_after=1))``;
  each request to the path consumes the next fault, then the file is served normally;
  ``server.always('/a.zip', Fault(hang=True))`` applies a fault to every later request of the path
  (after the scripted ones), for every method (the ``/token`` POST too);
* hostile servers: ``Fault(hang=True)`` accepts the connection and never sends a byte;
  ``Fault(drip=5)`` sends the answer one byte every 5 s (``drip_headers=True``: the status line
  and headers too, else the headers at once and then the body) until the client gives up;
* an OAuth token endpoint at ``/token`` (password and refresh_token grants, client ``cdse-public``)
  whose access tokens expire after ``token_lifetime`` seconds; files added with ``protected=True``
  need ``Authorization: Bearer <valid token>``;
* a request log (``server.log``) and the peak number of requests served at once (``server.peak``).

It only serves; the test that starts it shuts it down (use :func:`fault_server`).
"""
import email.utils
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List, Optional

from .loopback import serving

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
CLIENT_ID = "cdse-public"


@dataclass
class Fault:
    """What to do instead of (or while) serving one request."""

    cut_after: Optional[int] = None  # send headers for the full answer, then this many bytes, then close
    status: Optional[int] = None  # answer this status (429, 503, 202, ...) with a short body
    retry_after: Optional[str] = None  # Retry-After header sent with status
    timeout: Optional[float] = None  # sleep this long before answering (then close without answering)
    wrong_bytes: bool = False  # serve corrupted content of the right length (see corrupted())
    html_error: bool = False  # answer 200 with an HTML error page
    ignore_range: bool = False  # answer 200 with the whole file even when a Range was asked for
    throttle: Optional[float] = None  # seconds to wait between blocks of 64 KiB
    hang: bool = False  # accept the connection, never send a byte (until the client or the server closes)
    drip: Optional[float] = None  # send one byte every drip seconds
    drip_headers: bool = False  # with drip: the status line and headers drip too
    redirect: Optional[str] = None  # answer 302 Found with this Location


def corrupted(data: bytes) -> bytes:
    """What Fault(wrong_bytes=True) serves: the same length and first 64 bytes (the file still looks
    like its kind), every later byte flipped."""
    return data[:64] + bytes(b ^ 0xFF for b in data[64:])


@dataclass
class Request:
    method: str
    path: str
    range: Optional[str]
    authorized: bool  # an Authorization header was present
    status: int = 0
    authorization: Optional[str] = None  # the header itself


@dataclass
class _File:
    data: bytes
    protected: bool
    content_type: str
    etag: str
    modified: str


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, user: str = "alice", password: str = "secret", token_lifetime: float = 600.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.user, self.password, self.token_lifetime = user, password, token_lifetime
        self.files: Dict[str, _File] = {}
        self.faults: Dict[str, List[Fault]] = {}
        self.standing: Dict[str, Fault] = {}  # path -> the fault of every request once the script is used up
        self.closing = threading.Event()  # set when the server shuts down: hanging answers end
        self.log: List[Request] = []
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.password_grants = self.refresh_grants = 0
        self.refresh_works = True
        self.throttle: Optional[float] = None  # default throttle for every file answer
        self._access: Dict[str, float] = {}  # token -> expiry (monotonic)
        self._refresh: Dict[str, float] = {}

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (timeouts, cancel) are part of the tests

    # -- set-up -----------------------------------------------------------------------------
    def add_file(self, path: str, data: bytes, protected: bool = False,
                 content_type: str = "application/octet-stream") -> str:
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        modified = email.utils.formatdate(time.time() - 3600, usegmt=True)
        self.files[path] = _File(data, protected, content_type, etag, modified)
        return self.url + path

    def script(self, path: str, *faults: Fault) -> None:
        self.faults.setdefault(path, []).extend(faults)

    def always(self, path: str, fault: Fault) -> str:
        """Apply fault to every request of path from now on (after the scripted ones); the URL."""
        self.standing[path] = fault
        return self.url + path

    def server_close(self):
        self.closing.set()
        super().server_close()

    def requests_to(self, path: str) -> List[Request]:
        return [r for r in self.log if r.path == path]

    # -- tokens -----------------------------------------------------------------------------
    def issue_tokens(self) -> dict:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        now = time.monotonic()
        self._access[access] = now + self.token_lifetime
        self._refresh[refresh] = now + 3600
        return {"access_token": access, "expires_in": self.token_lifetime, "refresh_token": refresh,
                "refresh_expires_in": 3600, "token_type": "Bearer"}

    def accept_tokens_of(self, issuer: "FaultServer") -> None:
        """Accept the access tokens another server's /token issues (a download service and a token
        endpoint on different hosts, as in a private deployment)."""
        self._access = issuer._access

    def token_valid(self, header: Optional[str]) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        expiry = self._access.get(header[len("Bearer "):])
        return expiry is not None and time.monotonic() < expiry

    def use_refresh_token(self, token: str) -> bool:
        return self.refresh_works and self._refresh.pop(token, 0) > time.monotonic()

    def next_fault(self, path: str) -> Fault:
        with self.lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else self.standing.get(path, Fault())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultServer
    _counted = False

    def log_message(self, *_args):
        pass

    def do_HEAD(self):  # noqa: N802 (http.server's name)
        self._serve(head=True)

    def do_GET(self):  # noqa: N802
        self._serve(head=False)

    def do_POST(self):  # noqa: N802
        record = self._record("POST")
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        field = {key: values[0] for key, values in form.items()}
        fault = self.server.next_fault(urllib.parse.urlsplit(self.path).path)
        if self.path != "/token":
            return self._answer(record, 404, b"not found")
        status, body = self._token_answer(field)
        try:
            if not self._hostile(fault, record, status, json.dumps(body).encode(), "application/json"):
                self._answer(record, status, json.dumps(body).encode(), "application/json")
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- hostile answers --------------------------------------------------------------------
    def _hostile(self, fault: Fault, record: Request, status: int, body: bytes, content_type: str) -> bool:
        """Serve a hang or drip fault; False when fault is neither."""
        if fault.hang:
            self._uncount()
            self.server.closing.wait(600)  # the client gives up first; the server's shutdown ends it
            self.close_connection = True
            return True
        if fault.drip is None:
            return False
        record.status = status
        head = (f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        if not fault.drip_headers:
            self.wfile.write(head)
            self.wfile.flush()
            head = b""
        self._uncount()
        for byte in head + body:
            if self.server.closing.wait(fault.drip):
                break
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
        self.close_connection = True
        return True

    # -- token endpoint ---------------------------------------------------------------------
    def _token_answer(self, field: dict):
        server = self.server
        if field.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        with server.lock:
            if field.get("grant_type") == "password":
                if field.get("username") != server.user or field.get("password") != server.password:
                    return 401, {"error": "invalid_grant", "error_description": "Invalid user credentials"}
                server.password_grants += 1
                return 200, server.issue_tokens()
            if field.get("grant_type") == "refresh_token":
                if not server.use_refresh_token(field.get("refresh_token", "")):
                    return 400, {"error": "invalid_grant", "error_description": "Token is not active"}
                server.refresh_grants += 1
                return 200, server.issue_tokens()
        return 400, {"error": "unsupported_grant_type"}

    # -- files ------------------------------------------------------------------------------
    def _serve(self, head: bool):
        record = self._record("HEAD" if head else "GET")
        with self.server.lock:
            self.server.active += 1
            self.server.peak = max(self.server.peak, self.server.active)
        self._counted = True
        try:
            self._serve_file(record, head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._uncount()

    def _uncount(self):
        """No longer busy; called before the last bytes leave, so that a client that starts its next
        request as soon as it has them never looks like one more parallel connection."""
        if self._counted:
            self._counted = False
            with self.server.lock:
                self.server.active -= 1

    def _serve_file(self, record: Request, head: bool):
        path = urllib.parse.urlsplit(self.path).path
        item = self.server.files.get(path)
        fault = self.server.next_fault(path)
        if fault.redirect:
            return self._answer(record, 302, b"", extra={"Location": fault.redirect})
        if item is not None and self._hostile(fault, record, 200, item.data, item.content_type):
            return
        if item is None and self._hostile(fault, record, 404, b"not found", "text/plain"):
            return
        if fault.timeout:
            time.sleep(fault.timeout)
            self.close_connection = True
            return
        if fault.status:
            return self._answer(record, fault.status, b"try again later",
                                extra={"Retry-After": fault.retry_after} if fault.retry_after else None)
        if fault.html_error:
            return self._answer(record, 200, b"<html><body>Service down for maintenance</body></html>",
                                "text/html")
        if item is None:
            return self._answer(record, 404, b"not found")
        if item.protected and not self.server.token_valid(self.headers.get("Authorization")):
            return self._answer(record, 401, b'{"detail":"Expired signature!"}', "application/json")
        data = corrupted(item.data) if fault.wrong_bytes else item.data
        start, end, status = self._byte_range(item, len(data), fault)
        if status == 416:
            return self._answer(record, 416, b"", extra={"Content-Range": f"bytes */{len(data)}"})
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", item.content_type)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", item.etag)
        self.send_header("Last-Modified", item.modified)
        self.send_header("Content-Length", str(end - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if not head:
            self._send_body(data[start:end], fault)

    def _byte_range(self, item: _File, size: int, fault: Fault):
        match = _RANGE.match(self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        if not match or fault.ignore_range or (if_range and if_range != item.etag):
            return 0, size, 200
        start = int(match.group(1))
        end = min(int(match.group(2)) + 1 if match.group(2) else size, size)
        if start >= size:
            return 0, 0, 416
        return start, end, 206

    def _send_body(self, payload: bytes, fault: Fault):
        throttle = fault.throttle if fault.throttle is not None else self.server.throttle
        cut = fault.cut_after is not None
        body = payload[:fault.cut_after] if cut else payload
        block = 65536
        for offset in range(0, len(body), block):
            last = offset + block >= len(body)
            if last:
                self._uncount()
            self.wfile.write(body[offset:offset + block])
            if throttle and not last:
                self.wfile.flush()
                time.sleep(throttle)
        if cut:
            self.wfile.flush()
            self.close_connection = True

    # -- helpers ----------------------------------------------------------------------------
    def _record(self, method: str) -> Request:
        record = Request(method, urllib.parse.urlsplit(self.path).path, self.headers.get("Range"),
                         "Authorization" in self.headers, authorization=self.headers.get("Authorization"))
        with self.server.lock:
            self.server.log.append(record)
        return record

    def _answer(self, record: Request, status: int, body: bytes, content_type: str = "text/plain",
                extra: Optional[dict] = None):
        self._uncount()
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextmanager
def fault_server(**options) -> Iterator[FaultServer]:
    """Start a FaultServer on 127.0.0.1 (a free port) for the block; options go to FaultServer."""
    with serving(FaultServer(**options)) as server:
        yield server

