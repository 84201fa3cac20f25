"""A relay on 127.0.0.1 through which GDAL reads remote assets that need credentials it must never see.

GDAL's /vsicurl/ asks the relay (HTTP range requests on ``http://127.0.0.1:<port>/<key>/<file name>``); the
relay asks the asset's server with the same range and the credential headers of the asset's
ScopedCredentials, fresh for each request (a CdseToken refreshes itself; a token the server refuses is
renewed once). So the credentials are never in a GDAL option, a VRT, a log or an output (GDAL 3.6's
/vsicurl/ honours no path-specific header, and a global one would go to every host), and at most
max_connections requests go out at once however many threads GDAL and the run use.

A server that ignores ranges (answers 200 with the whole file) has the file downloaded once, into a
temporary folder, and read from there. The relay's paths are random keys registered in this process;
anything else is answered 404 without asking anyone.
"""
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Optional, Sequence, Tuple

from .connections import use_proxy
from .credentials import ScopedCredentials
from .http import HttpError, open_url

LOG = logging.getLogger(__name__)
_ODATA_NODE = re.compile(r"Nodes\(([^()/]+)\)/\$value$")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_PASSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges", "Content-Type", "Last-Modified", "ETag")
_BLOCK = 1 << 16


@dataclass(frozen=True)
class Entry:
    url: str
    credentials: ScopedCredentials
    proxy: Optional[str]


class AssetRelay(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, max_connections: int):
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.entries: Dict[str, Entry] = {}
        self.copies: Dict[str, str] = {}  # key -> the whole file, for a server that ignores ranges
        self.slots = threading.BoundedSemaphore(max(1, int(max_connections)))
        self.lock, self.copying = threading.Lock(), threading.Lock()
        self.folder: Optional[str] = None
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def register(self, url: str, credentials: ScopedCredentials, proxy: Optional[str]) -> str:
        """The relay's URL for url: one per asset and credentials, so that GDAL's /vsicurl/ cache serves
        every reader."""
        entry = Entry(url, credentials, proxy)
        with self.lock:
            key = next((key for key, known in self.entries.items() if known == entry), None)
            if key is None:
                key = secrets.token_hex(12)
                self.entries[key] = entry
        return f"{self.url}/{key}/{file_name(url)}"

    def forget(self, credentials: Sequence[ScopedCredentials]) -> None:
        """Drop the paths of these credentials and the files downloaded for them."""
        with self.lock:
            keys = [key for key, entry in self.entries.items() if entry.credentials in credentials]
            for key in keys:
                del self.entries[key]
            copies = [self.copies.pop(key) for key in keys if key in self.copies]
        for path in copies:
            try:
                os.unlink(path)
            except OSError:
                pass

    def entry(self, path: str) -> Tuple[Optional[str], Optional[Entry]]:
        parts = urllib.parse.urlsplit(path).path.split("/")
        with self.lock:
            entry = self.entries.get(parts[1]) if len(parts) == 3 else None
        return (parts[1], entry) if entry is not None and parts[2] == file_name(entry.url) else (None, None)

    def whole_file(self, key: str, response) -> str:
        """The answer's whole body in a file of the relay's temporary folder (once per key)."""
        with self.copying:
            with self.lock:
                known = self.copies.get(key)
            if known:
                return known
            if self.folder is None:
                self.folder = tempfile.mkdtemp(prefix="labelmigration-assets-")
            path = os.path.join(self.folder, key)
            with open(path + ".part", "wb") as handle:
                shutil.copyfileobj(response, handle, _BLOCK)
            os.replace(path + ".part", path)
            with self.lock:
                self.copies[key] = path
            return path


class _RelayHandler(BaseHTTPRequestHandler):
    server: AssetRelay

    def log_message(self, *_args):  # the relay's paths are not for the log
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._relay(head=False)

    def do_HEAD(self):  # noqa: N802
        self._relay(head=True)

    def _relay(self, head: bool) -> None:
        key, entry = self.server.entry(self.path)
        if entry is None:
            self.send_error(404)
            return
        # HEAD as a one-byte GET: the size comes with Content-Range, and every server answers a GET
        wanted = "bytes=0-0" if head else self.headers.get("Range")
        with self.server.lock:
            copy = self.server.copies.get(key)
        if copy:
            self._from_file(copy, head)
            return
        with self.server.slots:
            try:
                response = _open(entry, {"Range": wanted} if wanted else {})
            except HttpError as error:
                LOG.warning("%s", error)
                self.send_error(error.status or 502)
                return
            with response:
                if wanted and response.status == 200 and not head:
                    LOG.info("%s answers no byte ranges: the file is downloaded whole, once", entry.url.split("?")[0])
                    self._from_file(self.server.whole_file(key, response), head)
                else:
                    self._answer(response, head)

    def _answer(self, response, head: bool) -> None:
        if head:
            total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
            self._head(total if total.isdigit() else response.headers.get("Content-Length", "0"))
            return
        self.send_response(response.status)
        for name in _PASSED_HEADERS:
            if response.headers.get(name):
                self.send_header(name, response.headers[name])
        self.end_headers()
        try:
            shutil.copyfileobj(response, self.wfile, _BLOCK)
        except OSError:  # GDAL hung up (it had what it wanted)
            pass

    def _head(self, size: str) -> None:
        self.send_response(200)
        self.send_header("Content-Length", size)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def _from_file(self, path: str, head: bool) -> None:
        size = os.path.getsize(path)
        if head:
            self._head(str(size))
            return
        wanted = _RANGE.match(self.headers.get("Range", ""))
        start, end = (int(wanted.group(1)), int(wanted.group(2) or size - 1)) if wanted else (0, size - 1)
        end = min(end, size - 1)
        if start > end:
            self.send_error(416)
            return
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(path, "rb") as handle:
            handle.seek(start)
            self.wfile.write(handle.read(end - start + 1))


def _open(entry: Entry, headers: Dict[str, str]):
    """The upstream answer; credentials the server refuses are renewed once."""
    with use_proxy(entry.proxy):
        try:
            return open_url(entry.url, headers=headers, credentials=entry.credentials, retries=3)
        except HttpError as error:
            if error.status != 401:
                raise
            entry.credentials.invalidate()
            return open_url(entry.url, headers=headers, credentials=entry.credentials, retries=3)


def file_name(url: str) -> str:
    """The asset's file name (OData's ``.../Nodes(T32UPU_..._B02_10m.jp2)/$value`` or the path's last part)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    node = _ODATA_NODE.search(path)
    name = node.group(1) if node else path.rstrip("/").rpartition("/")[2]
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or "asset"
