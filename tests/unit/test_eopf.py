"""Sentinel-2 EOPF Zarr products (v2 and v3, L1C and L2A): the reader, its radiometry, windowed reads,
conversion and the local archive, on products from tests/support/eopf_products.py."""
import functools
import http.server
import json

import numpy as np
import pytest
import rasterio

from labelmigration.core.search.local import LocalArchiveBackend
from labelmigration.core.sentinel2.convert import safe_to_geotiff
from labelmigration.core.sentinel2.eopf import fetch_for_reading, is_eopf_product, open_eopf
from labelmigration.core.sentinel2.safe_stack import band_stack
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.tests.support.eopf_products import describe_safe_product, make_eopf_pair, make_eopf_product
from labelmigration.tests.support.loopback import serving

FORMATS = (2, 3)
LEVELS = ("L1C", "L2A")


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
def test_reader_reads_every_array_as_written(tmp_path, zarr_format, level):
    safe = describe_safe_product(level=level, size_10m=108)
    written = make_eopf_product(tmp_path, safe, zarr_format)
    assert is_eopf_product(str(written.path))
    product = open_eopf(str(written.path))
    assert (product.level, product.product_type, product.baseline, product.tile) == (
        level, f"S02MSI{level}", "05.11", "32UPU")
    assert product.zarr_format == zarr_format and product.cloud_cover == 12.5
    assert (product.grid.epsg, product.grid.ulx, product.grid.uly) == (32632, safe.ulx, safe.uly)
    assert product.grid.sizes == {10: (108, 108), 20: (54, 54), 60: (18, 18)}
    assert ("B10" in product.band_files) == (level == "L1C") and ("SCL" in product.band_files) == (level == "L2A")
    stack = band_stack([product], [], 10)
    for name, (band, resolution) in written.arrays.items():
        if band not in product.band_files:
            continue  # AOT, WVP, CLD, SNW: written for structure, not read
        path = product.band_files[band][resolution]
        values = stack._file(path).dataset.GetRasterBand(1).ReadAsArray()
        np.testing.assert_array_equal(values, safe._values_at(band, resolution, slice(None)), err_msg=name)


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize("baseline, offset", [("05.11", -1000.0), ("03.01", 0.0)])
def test_radiometry_comes_from_the_arrays_attributes(tmp_path, zarr_format, baseline, offset):
    safe = describe_safe_product(level="L2A", baseline=baseline, size_10m=108)
    product = open_eopf(str(make_eopf_product(tmp_path, safe, zarr_format).path))
    assert product.quantification == 10000.0 and product.offsets["B04"] == offset
    stack = band_stack([product], ["B04", "B8A"], 10, reflectance=True)
    reflectance = stack.read("B04", 0, 0, 108, 108)
    dn = safe._values_at("B04", 10, slice(None)).astype(np.float64)
    expected = np.where(dn == 0, np.nan, dn * 0.0001 + offset / 10000)
    np.testing.assert_allclose(reflectance, expected, atol=1e-6)


def test_each_arrays_own_scale_and_offset_are_used(tmp_path):
    safe = describe_safe_product(level="L1C", size_10m=108)
    written = make_eopf_product(tmp_path, safe, 2, consolidated=False)
    for name, (band, _) in written.arrays.items():
        attrs_file = written.path / name / ".zattrs"
        attrs = json.loads(attrs_file.read_text())
        attrs.update(scale_factor=0.0002, add_offset=0.05 if band == "B03" else 0.0)
        attrs_file.write_text(json.dumps(attrs))
    product = open_eopf(str(written.path))
    assert product.quantification == 5000.0 and product.offsets["B03"] == 250.0 and product.offsets["B02"] == 0.0
    values = band_stack([product], ["B03"], 10, reflectance=True).read("B03", 60, 60, 4, 4)
    dn = safe._values_at("B03", 10, slice(60, 64))[:, 60:64].astype(np.float64)
    np.testing.assert_allclose(values, dn * 0.0002 + 0.05, atol=1e-6)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_a_window_reads_only_the_chunks_under_it(tmp_path, zarr_format):
    """Every other chunk is garbage: a read that touched one would fail or differ."""
    safe = describe_safe_product(level="L1C", size_10m=216)  # 10 m chunks of 36 px, 6 x 6 of them
    written = make_eopf_product(tmp_path, safe, zarr_format)
    name = "measurements/reflectance/r10m/b02"
    assert written.chunks[name] == (36, 36)
    for row in range(6):
        for column in range(6):
            if (row, column) != (1, 2):
                written.chunk_file(name, row, column).write_bytes(b"not a chunk" * 10)
    product = open_eopf(str(written.path))
    values = band_stack([product], ["B02"], 10).read("B02", 75, 40, 30, 30)  # rows 40..69, columns 75..104
    np.testing.assert_array_equal(values, safe._values_at("B02", 10, slice(40, 70))[:, 75:105])


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, requested, **kwargs):
        self.requested = requested
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_over_http_the_same_reader_fetches_only_the_chunks_under_a_window(tmp_path, zarr_format):
    safe = describe_safe_product(level="L1C", size_10m=216)
    written = make_eopf_product(tmp_path, safe, zarr_format)
    requested = []
    handler = functools.partial(_CountingHandler, directory=str(tmp_path), requested=requested)
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/{written.path.name}"
        assert is_eopf_product(url)
        product = open_eopf(url)
        stack = band_stack([product], ["B02"], 10)
        left, top = safe.ulx + 75 * 10, safe.uly - 40 * 10
        fetch_for_reading([product], ["B02"], 10, (left, top - 300, left + 300, top))
        values = stack.read("B02", 75, 40, 30, 30)
    np.testing.assert_array_equal(values, safe._values_at("B02", 10, slice(40, 70))[:, 75:105])
    prefix = f"/{written.path.name}/measurements/reflectance/r10m/b02/"
    # GDAL 3.10 also asks for the array's folder itself (a listing, no pixels): only files count
    chunks = {path[len(prefix):] for path in requested if path.startswith(prefix) and "/." not in path
              and not path.endswith(("zarr.json", ".zarray", ".zattrs")) and path != prefix}
    assert chunks == ({"1.2"} if zarr_format == 2 else {"c/1/2"})


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
def test_safetogeotiff_gives_the_safes_pixels(tmp_path, zarr_format, level):
    safe, written = make_eopf_pair(tmp_path, zarr_format, level=level, size_10m=108)
    bands = ["B02", "B8A", "B01"] + (["B10"] if level == "L1C" else [])
    results = {}
    for form, path in (("safe", safe.path), ("zarr", written.path)):
        result = safe_to_geotiff(str(path), str(tmp_path / f"{form}.tif"), bands=bands, resolution=20,
                                 reflectance=True, include_scl=level == "L2A")
        with rasterio.open(result.output) as out:
            results[form] = (out.read(), out.transform, out.crs, out.descriptions)
        assert result.epsg == 32632 and result.baseline == "05.09"
    np.testing.assert_array_equal(results["zarr"][0], results["safe"][0])
    assert results["zarr"][1:] == results["safe"][1:]


def test_the_local_archive_finds_zarr_products_beside_safes(tmp_path):
    safe, written = make_eopf_pair(tmp_path, 3, level="L2A", size_10m=108, tile="32UPU")
    l1c_scene = describe_safe_product(level="L1C", tile="32UQU", cloud_cover=40.0, size_10m=108)
    other = make_eopf_product(tmp_path / "zarr", l1c_scene, 2)
    backend = LocalArchiveBackend(str(tmp_path))
    scenes = {scene.id: scene for scene in backend.index()}
    assert backend.skipped == []
    l1c = scenes[other.path.name[:-5]]
    assert (l1c.tile, l1c.cloud_cover, l1c.level, l1c.collection) == ("32UQU", 40.0, "L1C", "sentinel-2-l1c")
    assert l1c.datetime.isoformat().startswith("2020-08-15T10:25:59") and l1c.url == str(other.path)
    assert "POLYGON" in l1c.footprint_wkt
    assert safe.name in scenes  # the SAFE and the Zarr of one scene are one scene: found once


def test_damaged_metadata_fails_named(tmp_path):
    written = make_eopf_product(tmp_path, describe_safe_product(level="L2A", size_10m=108), 3, consolidated=False)
    node_file = written.path / "measurements/reflectance/r10m/b02/zarr.json"
    node = json.loads(node_file.read_text())
    del node["attributes"]["proj:transform"]
    node_file.write_text(json.dumps(node))
    with pytest.raises(LabelMigrationError, match="r10m/b02' has no usable proj:transform"):
        open_eopf(str(written.path))
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(LabelMigrationError, match="not a Zarr product"):
        open_eopf(str(tmp_path / "empty.zarr"))
    assert not is_eopf_product(str(tmp_path / "scene.tif"))
