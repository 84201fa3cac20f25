"""Benchmark: bytes read over HTTP for one label, from a remote EOPF Zarr product and from COGs (issue 18).

    .venv/bin/python bench/bench_bytes_read.py [--size 2196] [--noise-dn 100] [--workdir DIR]

Writes (the test suite's generators) the EOPF Zarr form of one synthetic Sentinel-2 scene, L2A as Zarr v3
(baseline 05.12) and L1C as Zarr v2 (05.11), chunked as ESA chunks its products (scaled to the tile side:
L2A 10 m chunks of half the side, L1C of a sixth), and the same 10 m bands as COGs (DEFLATE, GDAL's default
512 px tiles, no overviews). A counting HTTP server on 127.0.0.1 (tests/support/range_server.py) serves
them with range requests. For each label, cropscene's core (crop_scene) reads the 10 m bands B02 B03 B04
B08 under the label:

- from the Zarr product's URL (the EOPF reader: metadata, then only the chunks under the window);
- from a VRT stacking the COGs' URLs (/vsicurl/ range reads).

Bytes read: what reached the client for that crop (a response abandoned after its headers counts only what
got through), GDAL's caches cleared before, split into pixel data (Zarr
chunk files; COG bytes past the header) and metadata (Zarr JSON: .zmetadata / zarr.json, .zarray, ...; the
COG's header: what lies before its first tile). Bytes needed: computed here, not by the reader: the chunk
files (their stored sizes) of each band array whose chunk-grid cell meets the label's pixel window, and the
tiles (TIFF tile byte counts) of each COG whose tile meets it. Prints them and two ratios per label: all
bytes read / needed, and pixel data read / needed (target: within 1.2x). The metadata is read once per
product opened; a real product's consolidated metadata is a few MB next to chunks of several MB each.

``--real-chunks`` measures instead an L1C Zarr v2 product with the chunk sides of a real full tile (1830 px at
10 m, 915 at 20 m, 305 at 60 m: a 10980 px tile cut in 6) on a tile of ``--real-size`` px (default 3660: 2 x 2
chunks at 10 m), where the chunks weigh what real ones weigh next to the metadata.
"""
import argparse
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from contextlib import contextmanager, nullcontext
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Set, Tuple

from common import import_plugin

BANDS = ("B02", "B03", "B04", "B08")
COG_BLOCK = 512
TARGET_RATIO = 1.2
REAL_L1C_CHUNK_10M = 1830  # ESA's L1C chunk side at 10 m (a 10980 px tile in 6; 915 / 305 px at 20 / 60 m)
_SEND_BLOCK = 1 << 15  # bytes per write, and the send buffer's size
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_CHUNK_KEY = re.compile(r"/(?:c/\d+/\d+|\d+\.\d+)$")


class _CountingHandler(SimpleHTTPRequestHandler):
    """Files with single byte ranges; counts the body bytes delivered (data or metadata).

    The body goes out in blocks through a small send buffer, each block counted before it is written (a
    client that has the bytes finds them counted) and taken back when the client hung up before it: a
    response the client abandons after its headers (GDAL's /vsicurl_streaming/ did so with the first of its
    two GETs of each Zarr chunk before the reader opened remote stores in the /vsicurl?url= form; see
    core/sentinel2/eopf_store.zarr_root) counts what reached the client, not the whole file."""

    def log_message(self, *_args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        match = _RANGE.match(self.headers.get("Range", ""))
        start, end = (int(match.group(1)), min(int(match.group(2) or size - 1), size - 1)) if match else (0, size - 1)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BLOCK)
        self.send_response(206 if match else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(path, "rb") as handle:
            handle.seek(start)
            payload = handle.read(end - start + 1)
        url_path = self.path.split("?")[0]
        for offset in range(0, len(payload), _SEND_BLOCK):
            block = payload[offset:offset + _SEND_BLOCK]
            self._count(url_path, start + offset, len(block))
            try:
                self.wfile.write(block)
            except OSError:  # the client hung up: this block never reached it
                self._count(url_path, start + offset, len(block), -1)
                return

    def _count(self, url_path: str, offset: int, length: int, sign: int = 1) -> None:
        """Adds (sign -1: takes back) the length bytes at offset of the file, as pixel data or metadata."""
        if url_path in self.server.cog_data_start:  # a COG: its header (metadata), then the tiles (data)
            metadata = max(0, min(offset + length, self.server.cog_data_start[url_path]) - offset)
        else:  # a Zarr store: chunk files are data, the JSON documents metadata
            metadata = 0 if _CHUNK_KEY.search(url_path) else length
        with self.server.lock:
            self.server.data += sign * (length - metadata)
            self.server.metadata += sign * metadata


@contextmanager
def counting_server(folder: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: _CountingHandler(*a, directory=str(folder), **k))
    server.lock, server.data, server.metadata = threading.Lock(), 0, 0
    server.cog_data_start = {}  # url path -> offset of the first tile (what lies before is the header)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    from labelmigration.tests.support.loopback import serving  # after import_plugin()
    with serving(server):
        yield server


class Window(NamedTuple):
    """A label's pixel window on the 10 m grid of the tile."""
    name: str
    column: int
    row: int
    width: int
    height: int


def label_windows(size: int, chunk: int) -> List[Window]:
    """A few labels: small and large inside one chunk, and one straddling a corner of four chunks."""
    corner = chunk  # where chunks (0, 0), (0, 1), (1, 0) and (1, 1) meet
    return [Window("small, inside a chunk", chunk // 3, chunk // 3, 32, 32),
            Window("field block, inside a chunk", chunk // 6, chunk // 5, min(400, chunk // 2), min(300, chunk // 2)),
            Window("straddling 4 chunks", corner - 100, corner - 80, 200, 160),
            Window("straddling 2 chunks", corner - 50, chunk // 4, 120, 60)]


def cells_under(window: Window, cell_rows: int, cell_columns: int, rows: int, columns: int) -> Set[Tuple[int, int]]:
    """(row, column) of every grid cell (chunk or tile) of a rows x columns array the window meets."""
    last_row = min(rows, window.row + window.height) - 1
    last_column = min(columns, window.column + window.width) - 1
    return {(r, c) for r in range(max(0, window.row) // cell_rows, last_row // cell_rows + 1)
            for c in range(max(0, window.column) // cell_columns, last_column // cell_columns + 1)}


def zarr_needed_bytes(product, window: Window) -> int:
    """The stored sizes of the chunk files of the 10 m band arrays the window meets."""
    total = 0
    for name, (band, resolution) in product.arrays.items():
        if band not in BANDS or resolution != 10:
            continue
        rows, columns = product.safe.shape(10)
        chunk_rows, chunk_columns = product.chunks[name]
        for row, column in cells_under(window, chunk_rows, chunk_columns, rows, columns):
            chunk_file = product.chunk_file(name, row, column)
            total += chunk_file.stat().st_size if chunk_file.exists() else 0
    return total


def cog_needed_bytes(paths: Iterable[str], window: Window) -> int:
    """The byte counts of the COG tiles the window meets (GDAL's TIFF metadata: BLOCK_SIZE_<x>_<y>)."""
    from osgeo import gdal
    total = 0
    for path in paths:
        dataset = gdal.Open(path)
        band = dataset.GetRasterBand(1)
        block_columns, block_rows = band.GetBlockSize()
        for row, column in cells_under(window, block_rows, block_columns, dataset.RasterYSize, dataset.RasterXSize):
            total += int(band.GetMetadataItem(f"BLOCK_SIZE_{column}_{row}", "TIFF") or 0)
        dataset = None
    return total


def cog_data_start(path: str) -> int:
    """The offset of a COG's first tile (its header lies before)."""
    from osgeo import gdal
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    block_columns, block_rows = band.GetBlockSize()
    rows, columns = -(-dataset.RasterYSize // block_rows), -(-dataset.RasterXSize // block_columns)
    offsets = [int(band.GetMetadataItem(f"BLOCK_OFFSET_{c}_{r}", "TIFF") or 0)
               for r in range(rows) for c in range(columns)]
    return min(offset for offset in offsets if offset > 0)


def write_cogs(product, folder: Path) -> List[Path]:
    """The product's 10 m bands as COGs on the same grid (same pixels)."""
    from osgeo import gdal, osr
    safe = product.safe
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(safe.epsg)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for band in BANDS:
        values = safe._values_at(band, 10, slice(None))
        source = gdal.GetDriverByName("MEM").Create("", values.shape[1], values.shape[0], 1, gdal.GDT_UInt16)
        source.SetGeoTransform([safe.ulx, 10, 0, safe.uly, 0, -10])
        source.SetProjection(srs.ExportToWkt())
        source.GetRasterBand(1).SetNoDataValue(0)
        source.GetRasterBand(1).WriteArray(values)
        path = folder / f"{band}.tif"
        gdal.Translate(str(path), source, format="COG",
                       creationOptions=["COMPRESS=DEFLATE", f"BLOCKSIZE={COG_BLOCK}", "OVERVIEWS=NONE"])
        paths.append(path)
    return paths


def write_label(path: Path, safe, window: Window) -> Path:
    import numpy as np
    from labelmigration.tests.support.rasters import from_origin, write_raster
    values = np.ones((window.height, window.width), dtype=np.uint8)
    return write_raster(path, values, f"EPSG:{safe.epsg}",
                        from_origin(safe.ulx + window.column * 10, safe.uly - window.row * 10, 10, 10))


@contextmanager
def real_l1c_chunks(size: int):
    """The test generator's L1C chunks cut at ESA's real sides on a size px tile (its chunks per tile side
    set to size / 1830 at every resolution, as a full tile's 6), restored afterwards."""
    from labelmigration.tests.support import eopf_products
    saved = dict(eopf_products.CHUNK_FRACTION["L1C"])
    eopf_products.CHUNK_FRACTION["L1C"] = {resolution: size // REAL_L1C_CHUNK_10M for resolution in saved}
    try:
        yield
    finally:
        eopf_products.CHUNK_FRACTION["L1C"] = saved


def bytes_sent_for(server, read) -> Tuple[int, int]:
    """(pixel data, metadata) bytes the server sent while read() ran, GDAL's HTTP caches cleared before."""
    from osgeo import gdal
    gdal.VSICurlClearCache()
    with server.lock:
        server.data = server.metadata = 0
    read()
    with server.lock:
        return server.data, server.metadata


def measure(product, cogs: List[Path], root: Path, server, work: Path) -> List[Dict[str, object]]:
    from osgeo import gdal
    from labelmigration.core.labels.crop import crop_scene
    zarr_url = f"{server.url}/{product.path.relative_to(root).as_posix()}"
    cog_urls = [f"/vsicurl/{server.url}/{path.relative_to(root).as_posix()}" for path in cogs]
    for path in cogs:
        server.cog_data_start[f"/{path.relative_to(root).as_posix()}"] = cog_data_start(str(path))
    rows = []
    chunk = product.chunks["measurements/reflectance/r10m/b02"][0]
    for number, window in enumerate(label_windows(product.safe.size_10m, chunk)):
        label = write_label(work / f"label{number}.tif", product.safe, window)

        def read_zarr():
            crop_scene(zarr_url, str(label), str(work / "zarr.tif"), str(work / "zarr-label.tif"), band_names=BANDS)

        def read_cog():
            gdal.BuildVRT(str(work / "cogs.vrt"), cog_urls, separate=True).FlushCache()
            crop_scene(str(work / "cogs.vrt"), str(label), str(work / "cog.tif"), str(work / "cog-label.tif"))

        for form, read, needed in (("zarr v%d" % product.zarr_format, read_zarr, zarr_needed_bytes(product, window)),
                                   ("cog", read_cog, cog_needed_bytes([str(p) for p in cogs], window))):
            data, metadata = bytes_sent_for(server, read)
            rows.append({"product": product.safe.level, "form": form, "label": window.name,
                         "window": f"{window.width}x{window.height} px at ({window.column}, {window.row})",
                         "read": data + metadata, "metadata": metadata, "needed": needed,
                         "ratio": (data + metadata) / needed if needed else math.inf,
                         "data_ratio": data / needed if needed else math.inf})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2196, help="tile side in 10 m pixels (multiple of 6)")
    parser.add_argument("--noise-dn", type=int, default=100, help="per-pixel noise, for realistic compression")
    parser.add_argument("--workdir", default=None, help="where the products are written (default: a temp folder)")
    parser.add_argument("--real-chunks", action="store_true",
                        help=f"L1C Zarr v2 with real chunk sides ({REAL_L1C_CHUNK_10M} px at 10 m) instead")
    parser.add_argument("--real-size", type=int, default=2 * REAL_L1C_CHUNK_10M,
                        help="tile side for --real-chunks, a multiple of 1830")
    args = parser.parse_args(argv)
    if args.real_chunks and args.real_size % REAL_L1C_CHUNK_10M:
        parser.error(f"--real-size must be a multiple of {REAL_L1C_CHUNK_10M}")
    for name in ("no_proxy", "NO_PROXY"):  # GDAL's curl must reach the loopback server directly
        os.environ[name] = ",".join(filter(None, [os.environ.get(name, ""), "127.0.0.1"]))
    import_plugin()
    from osgeo import gdal
    from labelmigration.tests.support.eopf_products import describe_safe_product, make_eopf_product
    from labelmigration.tests.support.safe_products import ValueField
    gdal.UseExceptions()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="lm-bench-bytes-"))
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lm-bench-bytes-work-"))
    rows = []
    try:
        with counting_server(root) as server:
            cases = [("L1C", 2, args.real_size)] if args.real_chunks else [("L2A", 3, args.size), ("L1C", 2, args.size)]
            for level, zarr_format, size in cases:
                safe = describe_safe_product(level=level, size_10m=size, baseline="05.11", nodata_corner=False)
                safe.values = ValueField(safe.ulx, safe.uly, size * 10.0, 0, args.noise_dn)
                with real_l1c_chunks(size) if args.real_chunks else nullcontext():
                    product = make_eopf_product(root / level.lower(), safe, zarr_format)
                cogs = write_cogs(product, root / f"{level.lower()}-cog")
                rows += measure(product, cogs, root, server, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{'product':7} {'form':8} {'label':28} {'window':26} {'read MB':>8} {'of it meta':>10} {'needed MB':>9} "
          f"{'all/needed':>10} {'data/needed':>11}")
    for row in rows:
        print(f"{row['product']:7} {row['form']:8} {row['label']:28} {row['window']:26} {row['read'] / 1e6:8.3f} "
              f"{row['metadata'] / 1e6:10.3f} {row['needed'] / 1e6:9.3f} {row['ratio']:10.3f} {row['data_ratio']:11.3f}"
              + ("" if row["data_ratio"] <= TARGET_RATIO else "  data > 1.2x"))
    print(f"worst data ratio {max(row['data_ratio'] for row in rows):.3f}, worst overall ratio "
          f"{max(row['ratio'] for row in rows):.3f} (target {TARGET_RATIO}); tile side "
          f"{args.real_size if args.real_chunks else args.size} px, "
          f"{'L1C chunks of ' + str(REAL_L1C_CHUNK_10M) + ' px at 10 m, ' if args.real_chunks else ''}"
          f"{os.cpu_count()} CPUs, GDAL {gdal.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
