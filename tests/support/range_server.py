"""A loopback HTTP server with byte-range support that counts the bytes it sends.

It stands in for a COG bucket to show that cropping reads only the blocks it needs; issue 4's
e2e tests use nginx for the same role.
"""
import os
import re
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from .loopback import serving

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *_args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        match = _RANGE.match(self.headers.get("Range", ""))
        start, end = (int(match.group(1)), int(match.group(2) or size - 1)) if match else (0, size - 1)
        end = min(end, size - 1)
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(path, "rb") as handle:
            handle.seek(start)
            payload = handle.read(end - start + 1)
        self.wfile.write(payload)
        with self.server.lock:
            self.server.bytes_sent += len(payload)
            self.server.requests += 1


@contextmanager
def range_server(folder) -> Iterator[ThreadingHTTPServer]:
    """Serve folder on 127.0.0.1; the server has .url, .bytes_sent and .requests."""

    def handler(*args, **kwargs):
        return _Handler(*args, directory=str(folder), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.bytes_sent, server.requests, server.lock = 0, 0, threading.Lock()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield server
