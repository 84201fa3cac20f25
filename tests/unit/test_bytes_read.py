"""The counting of bench/bench_bytes_read.py (the benchmark itself is no test): which chunks or tiles a label
window meets, how many bytes they hold, and what its server counts as pixel data and as metadata.

Expected answers: a brute force over every pixel of the window (chunk of a pixel = its row // chunk rows,
column // chunk columns); the chunk files found on disk and their own pixel extents; the TIFF's own
TileByteCounts and TileOffsets tags, parsed here from the file's bytes (TIFF 6.0, section 2: header, IFD
entries of 12 bytes); HTTP range lengths (RFC 9110: bytes=a-b is b - a + 1 bytes).
"""
import importlib.util
import struct
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.tests.support.eopf_products import describe_safe_product, make_eopf_product

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))  # the benchmark imports its neighbour common.py
    try:
        spec = importlib.util.spec_from_file_location("bench_bytes_read_under_test", BENCH / "bench_bytes_read.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("window", [(0, 0, 1, 1), (35, 35, 2, 2), (36, 0, 36, 36), (10, 50, 100, 7),
                                    (200, 190, 30, 40)])  # the last one runs past the 216 px array's edge
def test_cells_under_a_window_are_those_of_its_pixels(bench, window):
    column, row, width, height = window
    rows = np.arange(row, min(row + height, 216))
    columns = np.arange(column, min(column + width, 216))
    expected = {(r // 36, c // 24) for r in rows for c in columns}
    assert bench.cells_under(bench.Window("w", column, row, width, height), 36, 24, 216, 216) == expected


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_needed_zarr_bytes_are_the_chunk_files_under_the_window(bench, tmp_path, zarr_format):
    product = make_eopf_product(tmp_path, describe_safe_product(level="L1C", size_10m=216, nodata_corner=False),
                                zarr_format)
    window = bench.Window("w", 50, 30, 40, 20)  # rows 30..49, columns 50..89 of chunks of 36 px
    expected = 0
    for name, (band, resolution) in product.arrays.items():
        if band not in bench.BANDS or resolution != 10:
            continue
        for chunk_file in (path for path in (tmp_path / product.path.name / name).rglob("*")
                           if path.is_file() and not path.name.startswith(".") and path.name != "zarr.json"):
            key = chunk_file.relative_to(tmp_path / product.path.name / name).as_posix()
            row, column = map(int, key[2:].split("/") if zarr_format == 3 else key.split("."))
            chunk_rows, chunk_columns = product.chunks[name]
            if (row * chunk_rows < 50 and (row + 1) * chunk_rows > 30
                    and column * chunk_columns < 90 and (column + 1) * chunk_columns > 50):
                expected += chunk_file.stat().st_size
    assert expected > 0
    assert bench.zarr_needed_bytes(product, window) == expected


def _tiff_tags(path: Path, wanted=(324, 325)) -> dict:
    """TileOffsets (324) and TileByteCounts (325) of a classic little-endian TIFF's first IFD."""
    data = path.read_bytes()
    assert data[:4] == b"II*\x00"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    tags = {}
    for number in range(count):
        tag, kind, values, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * number)
        if tag in wanted:
            size = {3: 2, 4: 4, 16: 8}[kind]
            form = {3: "H", 4: "I", 16: "Q"}[kind]
            where = ifd + 2 + 12 * number + 8 if values * size <= 4 else value
            tags[tag] = list(struct.unpack_from(f"<{values}{form}", data, where))
    return tags


@pytest.fixture
def cog(tmp_path):
    values = (np.arange(700 * 600).reshape(600, 700) * 7919 % 4093 + 1).astype(np.uint16)
    source = gdal.GetDriverByName("MEM").Create("", 700, 600, 1, gdal.GDT_UInt16)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    source.SetProjection(srs.ExportToWkt())
    source.SetGeoTransform([500000, 10, 0, 5000000, 0, -10])
    source.GetRasterBand(1).WriteArray(values)
    path = tmp_path / "cog.tif"
    gdal.Translate(str(path), source, format="COG",
                   creationOptions=["COMPRESS=DEFLATE", "BLOCKSIZE=256", "OVERVIEWS=NONE"])
    return path


def test_needed_cog_bytes_are_the_tiles_under_the_window(bench, cog):
    tags = _tiff_tags(cog)
    counts = tags[325]  # 3 x 3 tiles of 256 px, row by row
    assert len(counts) == 9
    window = bench.Window("w", 250, 500, 300, 90)  # rows 500..589 (tile row 1, 2), columns 250..549 (0, 1, 2)
    expected = sum(counts[row * 3 + column] for row in (1, 2) for column in (0, 1, 2))
    assert bench.cog_needed_bytes([str(cog)], window) == expected
    assert bench.cog_data_start(str(cog)) == min(tags[324])


def _get(url: str, first: int, last: int) -> bytes:
    request = urllib.request.Request(url, headers={"Range": f"bytes={first}-{last}"})
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    with direct.open(request, timeout=10) as answer:
        return answer.read()


def test_the_server_counts_header_tiles_chunks_and_metadata_apart(bench, tmp_path, cog):
    start = min(_tiff_tags(cog)[324])
    (tmp_path / "store.zarr" / "b02" / "c" / "0").mkdir(parents=True)
    (tmp_path / "store.zarr" / "b02" / "c" / "0" / "1").write_bytes(bytes(1000))
    (tmp_path / "store.zarr" / "zarr.json").write_text("{}" + " " * 498)
    with bench.counting_server(tmp_path) as server:
        server.cog_data_start["/cog.tif"] = start
        assert len(_get(f"{server.url}/cog.tif", 0, 99)) == 100
        assert (server.data, server.metadata) == (0, 100)
        assert len(_get(f"{server.url}/cog.tif", start - 10, start + 29)) == 40
        assert (server.data, server.metadata) == (30, 110)
        assert len(_get(f"{server.url}/store.zarr/b02/c/0/1", 0, 999)) == 1000
        assert len(_get(f"{server.url}/store.zarr/zarr.json", 0, 10 ** 6)) == 500
        assert (server.data, server.metadata) == (1030, 610)
