"""The HTTP requests the EOPF reader makes for a label window of a remote Zarr v2 product: every chunk file
under the window is fetched once, whole, and no other chunk is (issue 18: the bytes read stay within 1.2x of
the chunks a label meets).

GDAL's Zarr driver reads the chunks of a /vsicurl/ store through /vsicurl_streaming/, whose existence check
starts a GET that the driver's next read abandons and starts again (OSGeo/gdal port/cpl_vsil_curl_streaming.cpp,
VSICurlStreamingHandle::Exists, Seek and Read; frmts/zarr LoadTileData's GetStreamingFilename): each chunk
larger than the streaming handle's first-bytes cache went out 1.1 to 1.4 times, as two GETs. The chunks here
(1200 px of noisy uint16, about 1.6 MB) are large enough for that to show: with the reader's old /vsicurl/
root this test fails on GDAL 3.6 and 3.10 with two GETs per chunk.

Expected answers: which chunks the window meets, from the chunk grid (chunk of a pixel = its row // chunk rows,
column // chunk columns, over the window's corner pixels); their bytes, from the chunk files on disk; what
the server delivered, counted by the loopback server below per request (RFC 9110: a GET answers its Range or
the whole file). The pixels: the same product read from its local folder.
"""
import re
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.sentinel2.eopf import open_eopf
from labelmigration.core.sentinel2.eopf_store import zarr_root
from labelmigration.tests.support.eopf_products import describe_safe_product, make_eopf_product
from labelmigration.tests.support.loopback import serving
from labelmigration.tests.support.safe_products import ValueField

SIZE = 2400  # L2A 10 m chunks are half the side: 2 x 2 chunks of 1200 px
B02 = "measurements/reflectance/r10m/b02"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


class _LoggingHandler(SimpleHTTPRequestHandler):
    """Files with single byte ranges; logs (method, path, bytes delivered) of every request."""

    def log_message(self, *_args):
        pass

    def do_HEAD(self):  # noqa: N802 (http.server's name)
        self._log("HEAD", 0)
        super().do_HEAD()

    def do_GET(self):  # noqa: N802
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self._log("GET", 0)
            self.send_error(404)
            return
        data = path.read_bytes()
        match = _RANGE.match(self.headers.get("Range", ""))
        start, end = (int(match.group(1)), min(int(match.group(2) or len(data) - 1), len(data) - 1)) \
            if match else (0, len(data) - 1)
        self.send_response(206 if match else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        delivered = 0
        for offset in range(start, end + 1, 1 << 16):
            block = data[offset:min(offset + (1 << 16), end + 1)]
            try:
                self.wfile.write(block)
            except OSError:  # the client hung up: the rest never went out
                break
            delivered += len(block)
        self._log("GET", delivered)

    def _log(self, method: str, delivered: int) -> None:
        with self.server.lock:
            self.server.log.append((method, unquote(self.path.split("?")[0]), delivered))


@contextmanager
def logging_server(folder: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: _LoggingHandler(*a, directory=str(folder), **k))
    server.lock, server.log = threading.Lock(), []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An L2A Zarr v2 product under a folder name that needs escaping in a URL (space, '&')."""
    root = tmp_path_factory.mktemp("eopf-http")
    safe = describe_safe_product(level="L2A", size_10m=SIZE, nodata_corner=False)
    safe.values = ValueField(safe.ulx, safe.uly, SIZE * 10.0, 0, 100)
    product = make_eopf_product(root / "a b&c", safe, 2)
    assert product.chunks[B02] == (SIZE // 2, SIZE // 2)
    with logging_server(root) as server:
        yield product, server, f"{server.url}/{quote(product.path.relative_to(root).as_posix())}"


def _read_window(path: str, column: int, row: int, width: int, height: int) -> np.ndarray:
    dataset = gdal.Open(path)
    try:
        return dataset.GetRasterBand(1).ReadAsArray(column, row, width, height)
    finally:
        dataset = None


@pytest.mark.parametrize("window", [(1100, 1150, 200, 120), (300, 200, 64, 64)])  # 4 chunks; 1 chunk
def test_each_chunk_under_a_window_is_fetched_once(served, window):
    product, server, url = served
    column, row, width, height = window
    chunk = SIZE // 2
    needed = {(r, c) for r in (row // chunk, (row + height - 1) // chunk)
              for c in (column // chunk, (column + width - 1) // chunk)}
    gdal.VSICurlClearCache()
    remote = open_eopf(url)
    with server.lock:
        server.log.clear()
    pixels = _read_window(remote.band_files["B02"][10], *window)
    with server.lock:
        log = list(server.log)
    chunk_gets = {}
    for method, path, delivered in log:
        if method == "GET" and path.startswith(f"/a b&c/{product.path.name}/{B02}/") and not path.endswith("/"):
            chunk_gets.setdefault(path.rsplit("/", 1)[1], []).append(delivered)
    expected = {f"{r}.{c}": product.chunk_file(B02, r, c).stat().st_size for r, c in needed}
    assert {key: len(sizes) for key, sizes in chunk_gets.items()} == {key: 1 for key in expected}, chunk_gets
    assert {key: sizes[0] for key, sizes in chunk_gets.items()} == expected
    local = open_eopf(str(product.path))
    np.testing.assert_array_equal(pixels, _read_window(local.band_files["B02"][10], *window))


def test_only_a_vsicurl_root_changes_form():
    assert zarr_root("/data/S2A.zarr") == "/data/S2A.zarr"
    assert zarr_root("/vsis3/bucket/S2A.zarr") == "/vsis3/bucket/S2A.zarr"
    assert zarr_root("/vsicurl/https://host/x y&z.zarr") == "/vsicurl?list_dir=no&url=https://host/x%20y%26z.zarr"
