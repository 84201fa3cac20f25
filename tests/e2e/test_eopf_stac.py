"""ESA's EOPF Zarr catalogue through the STAC backend, end to end: search the items, then migratelabels reads
the scene from the remote Zarr product (only the chunks under the label) and gives what it gives on the SAFE
of the same scene.

Real: a STAC API of this module's own (stac-fastapi-pgstac on PostgreSQL + PostGIS; the session's holds
the fixture items other modules count) serving items with the structure of the EOPF Sentinel Zarr Samples
catalogue (https://stac.core.eopf.eodc.eu; the templates and where their structure comes from:
tests/data/eopf_stac/SOURCE.md), nginx serving the Zarr stores with range requests, GDAL reading them
through /vsicurl/, and the whole core.search and core.migration code path.

Synthetic: the products. tests/support/eopf_products.py writes the EOPF form (Zarr v2 as baseline 05.11
products are stored, v3 as 05.12 ones) of a SAFE written by tests/support/safe_products.py, with the same
pixels. Each item is its template filled in from the product's own root attribute ``stac_discovery`` (as
the catalogue's builder fills it), every asset href moved under the served product
(tools/eopf_stac_servers.py's builder, which the README's local EOPF catalogue uses too).

Expected answers: the SAFE run (backend "local" on the SAFE) for the pair and the match row, and, computed
here from the generator's SCL formula (class per block of 5 x 7 pixels of 20 m), the cloud over the label;
the chunks a window needs from the chunk grid of each array (tests/support's EopfProduct.chunks).
"""
from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
import re
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.run import migrate_labels
from labelmigration.core.search.stac import EOPF_STAC, StacBackend, default_collection, item_scene
from labelmigration.tests.support.eopf_products import make_eopf_product
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.e2e

TOOL = Path(__file__).resolve().parents[2] / "tools" / "eopf_stac_servers.py"
SIZE = 216  # 10 m pixels per tile side: L2A 10 m chunks of 108 px (2 x 2), L1C of 36 px (6 x 6)
SENSING = dt.datetime(2020, 8, 15, 10, 25, 59)
# the label: 40 x 30 px at 10 m, 1200 m east and 1500 m south of the tile corner (clear of the nodata corner)
LABEL_COLUMNS, LABEL_ROWS, LABEL_DX, LABEL_DY = 40, 30, 1200.0, 1500.0
BANDS = ["B02", "B03", "B04", "B08", "B11"]  # B11: a 20 m band resampled onto the 10 m pair grid
SCL_CLOUDY = (3, 8, 9, 10)  # cloud shadow, cloud medium / high probability, thin cirrus (the SCL class list)
CASES = {"l2a-v3": ("L2A", 3), "l2a-v2": ("L2A", 2), "l1c-v2": ("L1C", 2)}
READ_REACH = 8  # native pixels a resampling kernel may reach beyond the window (a generous bound)


def _load_tool():
    spec = importlib.util.spec_from_file_location("labelmigration_eopf_stac_servers", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


eopf_tool = _load_tool()  # the item builder the README's local EOPF catalogue uses too


def _template(level: str) -> dict:
    return eopf_tool.item_template(level)


class EopfCatalogue(NamedTuple):
    url: str  # this module's own STAC API (the session's holds the fixture items other tests count)
    database: object  # its PgstacDatabase, for loading more
    cases: dict  # case: (collection id, item, SAFE description, written EOPF product, SAFE archive folder)


@pytest.fixture(scope="module")
def eopf_catalogue(e2e_servers_started, asset_server, tmp_path_factory):
    """The products written and served by the session's nginx, their items in a STAC API of this module's
    own (stac-fastapi-pgstac on its own PostgreSQL, tools/e2e_servers.py), stopped at the module's end."""
    servers = sys.modules["labelmigration_e2e_servers"]  # tools/e2e_servers.py, as tests/e2e/conftest.py loads it
    folder = tmp_path_factory.mktemp("eopf-stac")
    safes = {level: make_safe_product(folder / f"safe-{level}", level=level, size_10m=SIZE, sensing=SENSING,
                                      cloud_cover=20.0, seed=3)
             for level in ("L2A", "L1C")}
    cases, collections, items = {}, [], []
    for case, (level, zarr_format) in CASES.items():
        written = make_eopf_product(asset_server.root / "eopf" / case, safes[level], zarr_format)
        href = f"{asset_server.url}/eopf/{case}/{written.path.name}"
        collection = f"sentinel-2-{case}-eopf"
        item = eopf_tool.eopf_item(level, written.path, href, collection)
        assert item["properties"]["product:type"] == f"S02MSI{level}"
        assert item["assets"]["B02_10m"]["href"] == href + "/measurements/reflectance/r10m/b02"
        collections.append(eopf_tool.eopf_collection(collection, [item]))
        items.append(item)
        cases[case] = (collection, item, safes[level], written, folder / f"safe-{level}")
    database = servers.PgstacDatabase()
    api = None
    try:
        database.start()
        database.load(collections, items)
        api = servers.StacApi(database, folder / "stac-api")
        api.start()
        gdal.VSICurlClearCache()
        yield EopfCatalogue(api.url, database, cases)
    finally:
        if api is not None:
            api.stop()
        database.stop()


def _srs(epsg: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _label_lonlat_wkt(safe) -> str:
    left, top = safe.ulx + LABEL_DX, safe.uly - LABEL_DY
    right, bottom = left + LABEL_COLUMNS * 10, top - LABEL_ROWS * 10
    convert = osr.CoordinateTransformation(_srs(safe.epsg), _srs(4326))
    ring = [convert.TransformPoint(x, y)[:2] for x, y in
            ((left, top), (right, top), (right, bottom), (left, bottom), (left, top))]
    return "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))"


def test_eopf_items_map_to_scenes_of_their_zarr_products():
    """Expected: the template's own fields (the real item structure, SOURCE.md): the tile of grid:code, the
    level of product:type, the product asset's .zarr as the scene's product, the id as its title."""
    assert default_collection(EOPF_STAC, "L1C") == "sentinel-2-l1c"
    assert default_collection(EOPF_STAC, "L2A") == "sentinel-2-l2a"
    for level in ("L2A", "L1C"):
        item = _template(level)
        scene = item_scene(item, "stac")
        assert (scene.id, scene.title) == (item["id"], item["id"])
        assert scene.tile == item["properties"]["grid:code"][len("MGRS-"):] == "32UMD"
        assert scene.level == level and scene.product_type == f"S02MSI{level}"
        assert scene.url == item["assets"]["product"]["href"] and scene.url.endswith(".zarr")
        assert scene.cloud_cover == item["properties"]["eo:cloud_cover"]
        assert scene.assets["B02_10m"] == scene.url + "/measurements/reflectance/r10m/b02"
        assert scene.collection == f"sentinel-2-{level.lower()}"


def test_search_finds_the_eopf_items_with_their_zarr_products(eopf_catalogue):
    for case, (collection, item, safe, written, _) in eopf_catalogue.cases.items():
        level = CASES[case][0]
        scenes = StacBackend(eopf_catalogue.url).search(
            _label_lonlat_wkt(safe), SENSING - dt.timedelta(days=2), SENSING + dt.timedelta(days=2), max_cloud=50.0,
            product=level, collection=collection)
        assert [scene.id for scene in scenes] == [item["id"]], case
        scene = scenes[0]
        assert scene.url == item["assets"]["product"]["href"] and scene.url.endswith(written.path.name)
        assert (scene.tile, scene.level, scene.cloud_cover) == (safe.tile, level, safe.cloud_cover)
        assert scene.datetime.replace(microsecond=0, tzinfo=None) == SENSING
        # a cloud limit below the item's cloud cover leaves it out, on the server or here
        assert StacBackend(eopf_catalogue.url).search(
            _label_lonlat_wkt(safe), SENSING - dt.timedelta(days=2), SENSING + dt.timedelta(days=2),
            max_cloud=safe.cloud_cover - 1, product=level, collection=collection) == []


def _write_label(folder: Path, safe) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    values = (np.arange(LABEL_ROWS * LABEL_COLUMNS).reshape(LABEL_ROWS, LABEL_COLUMNS) % 5 + 1).astype(np.uint8)
    return write_raster(folder / f"field_{SENSING:%Y%m%d}.tif", values, f"EPSG:{safe.epsg}",
                        from_origin(safe.ulx + LABEL_DX, safe.uly - LABEL_DY, 10, 10))


def _rows(folder: Path) -> dict:
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        return {row["label"]: row for row in csv.DictReader(handle)}


def _expected_cloud_pct(safe) -> float:
    """Cloud and shadow over the label from the generator's SCL formula, at the label's pixel centres."""
    columns, rows = np.meshgrid(np.arange(LABEL_COLUMNS), np.arange(LABEL_ROWS))
    x = safe.ulx + LABEL_DX + columns * 10 + 5
    y = safe.uly - LABEL_DY - rows * 10 - 5
    col20, row20 = np.floor((x - safe.ulx) / 20).astype(int), np.floor((safe.uly - y) / 20).astype(int)
    classes = 1 + np.mod((row20 // 5) * 3 + (col20 // 7) * 5 + safe.values.seed, 11)
    return 100.0 * float(np.isin(classes, SCL_CLOUDY).mean())


def _chunk_requests(asset_server, before: int, product_uri: str) -> dict:
    """{array path: {(chunk row, chunk column)}} of the chunk files nginx sent (200/206) since before."""
    key = re.compile(r"^(.*)/(?:c/(\d+)/(\d+)|(\d+)\.(\d+))$")
    fetched: dict = {}
    for line in asset_server.access_log_lines()[before:]:
        method, uri, status = line.split(" ", 4)[:3]
        if method != "GET" or status not in ("200", "206") or not uri.startswith(product_uri + "/"):
            continue
        match = key.match(uri[len(product_uri) + 1:])
        if match:
            row, column = (match.group(2), match.group(3)) if match.group(2) else (match.group(4), match.group(5))
            fetched.setdefault(match.group(1), set()).add((int(row), int(column)))
    return fetched


def _chunks_under(safe, resolution: int, chunk: tuple, reach: int) -> set:
    """The chunks of a resolution's grid the label window (grown by reach native pixels) touches."""
    column0 = math.floor(LABEL_DX / resolution) - reach
    row0 = math.floor(LABEL_DY / resolution) - reach
    column1 = math.ceil((LABEL_DX + LABEL_COLUMNS * 10) / resolution) + reach
    row1 = math.ceil((LABEL_DY + LABEL_ROWS * 10) / resolution) + reach
    side = SIZE * 10 // resolution
    return {(r, c) for r in range(max(0, row0) // chunk[0], min(side, row1 - 1) // chunk[0] + 1)
            for c in range(max(0, column0) // chunk[1], min(side, column1 - 1) // chunk[1] + 1)}


@pytest.mark.parametrize("case", list(CASES))
def test_migratelabels_reads_the_remote_zarr_windowed_and_pairs_as_the_safe(
        asset_server, eopf_catalogue, tmp_path, case):
    level, _ = CASES[case]
    collection, item, safe, written, safe_archive = eopf_catalogue.cases[case]
    labels = tmp_path / "labels"
    _write_label(labels, safe)
    common = dict(days_before=2, days_after=2, max_cloud=50.0, product=level, bands=BANDS, cloud_masks=False,
                  write_report=False, workers=1)
    gdal.VSICurlClearCache()
    before = len(asset_server.access_log_lines())
    migrate_labels(str(labels), MigrationOptions(backend="stac", url=eopf_catalogue.url, collection=collection,
                                                 **common), str(tmp_path / "zarr"))
    product_uri = item["assets"]["product"]["href"][len(asset_server.url):]
    fetched = _chunk_requests(asset_server, before, product_uri)
    migrate_labels(str(labels), MigrationOptions(backend="local", url=str(safe_archive), **common),
                   str(tmp_path / "safe"))

    # the same match and the same pair as from the SAFE
    zarr_row, safe_row = _rows(tmp_path / "zarr")["field_20200815"], _rows(tmp_path / "safe")["field_20200815"]
    assert zarr_row["status"] == safe_row["status"] == "done", (zarr_row, safe_row)
    assert zarr_row["scene"] == safe_row["scene"] == item["id"]
    for column in ("datetime", "offset_days", "footprint_cloud_pct", "footprint_shadow_pct", "nodata_pct",
                   "coverage_pct"):
        assert zarr_row[column] == safe_row[column], column
    if level == "L2A":  # rated from the SCL inside the Zarr product, as from the SAFE's SCL
        assert float(zarr_row["footprint_cloud_pct"]) == pytest.approx(_expected_cloud_pct(safe), abs=0.01)
        assert fetched.get("conditions/mask/l2a_classification/r20m/scl"), sorted(fetched)
    for column in ("image", "label_raster"):
        zarr_pair, safe_pair = gdal.Open(str(tmp_path / "zarr" / zarr_row[column])), \
            gdal.Open(str(tmp_path / "safe" / safe_row[column]))
        assert zarr_pair.RasterCount == safe_pair.RasterCount == (len(BANDS) if column == "image" else 1)
        assert zarr_pair.GetGeoTransform() == safe_pair.GetGeoTransform()
        assert zarr_pair.GetProjection() == safe_pair.GetProjection()
        assert np.array_equal(zarr_pair.ReadAsArray(), safe_pair.ReadAsArray()), column
        if column == "image":
            assert (zarr_pair.ReadAsArray() != 0).all()
    assert zarr_pair.GetGeoTransform() == pytest.approx(
        (safe.ulx + LABEL_DX, 10, 0, safe.uly - LABEL_DY, 0, -10))

    # only the chunks under the label were read
    band_arrays = {name: band_resolution for name, band_resolution in written.arrays.items()
                   if band_resolution[0] in BANDS and name.startswith("measurements/")}
    assert {name for name in fetched if name.startswith("measurements/")} <= set(band_arrays), sorted(fetched)
    for band in BANDS:
        name = next(name for name, (b, resolution) in band_arrays.items() if b == band
                    and resolution == min(r for bb, r in band_arrays.values() if bb == band))
        resolution = band_arrays[name][1]
        chunk = written.chunks[name]
        exact = _chunks_under(safe, resolution, chunk, 0)
        assert fetched.get(name), f"no chunk of {name} was read"
        if resolution == 10:  # read on its own grid: exactly the chunks under the label
            assert fetched[name] == exact, name
        else:
            assert exact <= fetched[name] <= _chunks_under(safe, resolution, chunk, READ_REACH), name
        all_chunks = (-(-(SIZE * 10 // resolution) // chunk[0])) * (-(-(SIZE * 10 // resolution) // chunk[1]))
        if resolution == 10:
            assert len(fetched[name]) < all_chunks, name
    for name, chunks in fetched.items():  # any other array read (SCL) stays under the label as well
        if name in written.chunks and name not in band_arrays:
            resolution = written.arrays[name][1]
            assert chunks <= _chunks_under(safe, resolution, written.chunks[name], READ_REACH), name


def test_an_eopf_product_missing_on_the_server_fails_the_label_naming_it(
        asset_server, eopf_catalogue, tmp_path):
    """An item whose Zarr store the server does not have (a rolling archive drops products): the label fails
    with a message naming the product, and nothing is written for it."""
    collection, item, safe, written, _ = eopf_catalogue.cases["l2a-v3"]
    gone = json.loads(json.dumps(item))
    gone_href = f"{asset_server.url}/eopf/gone/{written.path.name}"
    for asset in gone["assets"].values():
        asset["href"] = gone_href + asset["href"][len(item["assets"]["product"]["href"]):]
    gone["collection"] = "sentinel-2-l2a-eopf-gone"
    eopf_catalogue.database.load([eopf_tool.eopf_collection(gone["collection"], [gone])], [gone])
    assert not asset_server.path_for(gone_href).exists()
    labels = tmp_path / "labels"
    _write_label(labels, safe)
    result = migrate_labels(str(labels), MigrationOptions(
        backend="stac", url=eopf_catalogue.url, collection=gone["collection"], days_before=2, days_after=2,
        max_cloud=50.0, product="L2A", bands=BANDS, cloud_masks=False, write_report=False, workers=1),
        str(tmp_path / "out"))
    assert [row["status"] for row in result.rows] == ["failed"], result.rows
    reason = result.rows[0]["reason"]
    assert f"'{gone_href}' is not a Zarr product (or not there)" in reason and "/vsicurl/" not in reason, reason
    assert not (tmp_path / "out" / "images").exists()
