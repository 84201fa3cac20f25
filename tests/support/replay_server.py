"""A loopback HTTP server that replays recorded catalogue answers (JSON), with fault injection.

Routes are chosen by path and, optionally, by query parameters that must match; a route may also be
a function of the request (for a small STAC API that filters items). Faults (an HTML page, 401,
429/502/503/504 with or without Retry-After, a connection reset) are queued per path and served
before the normal answer (:meth:`ReplayServer.fault`), or served to every request of a path from
then on (:meth:`ReplayServer.always`: a server that is busy for good).
"""
import json
import socket
import struct
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from .loopback import serving

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Down for maintenance</h1></body></html>"


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, str]  # last value per name, decoded
    headers: Dict[str, str]
    body: bytes = b""
    at: float = field(default_factory=time.monotonic)  # when it came (time.monotonic())

    def json(self):
        return json.loads(self.body or b"null")


Answer = Tuple[int, Dict[str, str], bytes]
RESET: Answer = (0, {}, b"")  # no answer: the connection is reset (TCP RST) once the request is read


@dataclass
class _Route:
    path: str
    query: Dict[str, str]
    answer: Callable[[Request], Answer]


@dataclass
class ReplayServer:
    url: str = ""
    requests: List[Request] = field(default_factory=list)
    _routes: List[_Route] = field(default_factory=list)
    _faults: Dict[str, List[Tuple[Dict[str, str], Answer]]] = field(default_factory=dict)
    _standing: Dict[str, Answer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_json(self, path: str, document, query: Optional[Dict[str, str]] = None, status: int = 200) -> None:
        """Answer document (a JSON value, or bytes sent as they are) on path when query matches."""
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.add(path, lambda _request: (status, {"Content-Type": "application/json"}, body), query)

    def add(self, path: str, answer: Callable[[Request], Answer], query: Optional[Dict[str, str]] = None) -> None:
        """Routes are tried newest first, so a specific query added later wins over a catch-all."""
        self._routes.insert(0, _Route(path, dict(query or {}), answer))

    def fault(self, path: str, kind: str, times: int = 1, retry_after: Optional[str] = "0",
              query: Optional[Dict[str, str]] = None) -> None:
        """Serve a fault on path for the next times requests (those whose query matches, when given:
        a fault in the middle of paging): 'html', '401', '404', '429', '502', '503', '504' (with
        Retry-After: retry_after, none when it is None) or 'reset' (the connection is reset without
        an answer)."""
        with self._lock:
            self._faults.setdefault(path, []).extend([(dict(query or {}), _fault_answer(kind, retry_after))] * times)

    def always(self, path: str, kind: str, retry_after: Optional[str] = None) -> None:
        """Serve a fault on every later request of path (after the queued ones)."""
        with self._lock:
            self._standing[path] = _fault_answer(kind, retry_after)

    def requests_to(self, path: str) -> List[Request]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            pending = self._faults.get(request.path, [])
            for index, (query, answer) in enumerate(pending):
                if all(request.query.get(k) == v for k, v in query.items()):
                    del pending[index]
                    return answer
            if request.path in self._standing:
                return self._standing[request.path]
        for route in self._routes:
            if route.path == request.path and all(request.query.get(k) == v for k, v in route.query.items()):
                return route.answer(request)
        return 404, {"Content-Type": "text/plain"}, f"no recorded answer for {request.path}".encode()


def _fault_answer(kind: str, retry_after: Optional[str]) -> Answer:
    if kind == "reset":
        return RESET
    if kind == "html":
        return 200, {"Content-Type": "text/html"}, HTML_PAGE
    if kind == "401":
        return 401, {"WWW-Authenticate": 'Basic realm="hub"', "Content-Type": "text/html"}, HTML_PAGE
    if kind == "404":
        return 404, {"Content-Type": "text/plain"}, b"not found"
    if kind in ("429", "502", "503", "504"):
        headers = {"Content-Type": "text/plain"}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return int(kind), headers, b"busy"
    raise ValueError(f"unknown fault {kind!r}")


class _Handler(BaseHTTPRequestHandler):
    server_version = "ReplayServer"

    def log_message(self, *_args):
        pass

    def _serve(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(method, parts.path, query, {k: v for k, v in self.headers.items()}, body)
        status, headers, payload = self.server.replay._answer(request)
        if (status, headers, payload) == RESET:
            self._reset()
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        """Close the connection with a TCP RST (SO_LINGER 0) instead of an answer: the client sees
        'connection reset by peer'."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._serve("GET")

    def do_POST(self):  # noqa: N802
        self._serve("POST")


@contextmanager
def replay_server() -> Iterator[ReplayServer]:
    """A ReplayServer listening on 127.0.0.1 (a free port) for the duration of the block."""
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    http.daemon_threads = True
    replay = ReplayServer(url=f"http://127.0.0.1:{http.server_address[1]}")
    http.replay = replay
    with serving(http):
        yield replay

