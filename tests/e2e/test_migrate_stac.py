"""migratelabels' STAC backend end to end: search, tiles of one acquisition mosaicked, cloud over the
label rated from SCL, the pair cropped through /vsicurl/ range reads.

Real: the STAC API (stac-fastapi-pgstac on PostgreSQL + PostGIS) serving the real Earth Search
items S2B_24MUA_20250731_0_L2A and S2B_24MUV_20250731_0_L2A (their geometry, datetime,
eo:cloud_cover, s2:product_uri, asset keys; hrefs rewritten to the loopback nginx), nginx answering
HTTP range requests, GDAL reading the assets through /vsicurl/, and the whole core.migration code path.
Nothing is mocked.

Synthetic: the pixels. The two items are adjacent tiles of one datatake (GS2B_20250731T130249, UTM 24S,
EPSG:32724, both on the 10 m grid x = 300000 + 10 k, y = 9500020 - 10 k) whose footprints overlap; the
label lies in that overlap. For each item this module writes COGs (DEFLATE, 512 tiles, no overviews,
nodata 0) for the band assets blue/green/red/nir (uint16, 10 m, 3072 x 3072 px) and scl (uint8, 20 m,
1536 x 1536 px): a reduced extent of the real 10980 px tile, at the real tile's grid, covering the label.

Design: one acquisition, so one candidate whose tiles are mosaicked. Both footprints cover the label,
so 24MUA (first by id) is the main tile, drawn on top; its COGs are nodata over the label's left 40
columns, which 24MUV fills. Over the label, what the rating counts as unusable (SCL 3 shadow, 8, 9, 10
cloud) is 300 pixels of 24MUA's part plus 100 cloud and 100 shadow pixels of 24MUV's part, of 2500:
exactly 20 %. 24MUV is all cloud under 24MUA's valid part and has a cloud bank right below the label:
neither may count.
The choice between acquisitions by the cloud over the label is the same code for every backend and is
tested on a local archive (tests/unit/test_migrate.py): the real items hold one acquisition here.
(cloud_masks=False: with the bundled cloud model installed the masks would come from the model.)

Only these two items' asset folders are written (other e2e tests write 20EPT and 24MVV assets).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr
from shapely.geometry import box, shape

from labelmigration.tests.support.georef import to_lonlat, write_label
from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.pair import verify_pair
from labelmigration.core.migration.run import migrate_labels

pytestmark = pytest.mark.e2e

STAC_ANSWERS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "stac"  # recorded items, read in place
MAIN_ID, FILL_ID = "S2B_24MUA_20250731_0_L2A", "S2B_24MUV_20250731_0_L2A"
EPSG = 32724
BANDS = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir"}
SIZE = 3072  # 10 m pixels per side of each band COG (SCL: SIZE / 2 at 20 m)
LEFT = 362000.0  # the COGs' west edge (on the tiles' 20 m grid)
TOP = {FILL_ID: 9500020.0, MAIN_ID: 9520960.0}  # within each real tile (24MUA ends at y = 9490240)
# the label: 100 x 100 px at 10 m, aligned to the 20 m SCL grid, inside both footprints
LABEL_LEFT, LABEL_TOP, LABEL_PX = 377000.0, 9496000.0, 100
CLEAR_CLASSES = np.array([4, 5, 6, 7, 11], dtype=np.uint8)  # vegetation, bare, water, unclassified, snow
FILLED_COLUMNS = 40  # the label's left columns (10 m) where the main tile has no data
FOOTPRINT_CLOUD = 20.0
LABEL_DATE = "20250731"


def _srs_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    return srs.ExportToWkt()


def _write_cog(path: Path, data: np.ndarray, pixel: float, top: float) -> None:
    kind = gdal.GDT_UInt16 if data.dtype == np.uint16 else gdal.GDT_Byte
    source = gdal.GetDriverByName("MEM").Create("", data.shape[1], data.shape[0], 1, kind)
    source.SetGeoTransform([LEFT, pixel, 0, top, 0, -pixel])
    source.SetProjection(_srs_wkt())
    source.GetRasterBand(1).SetNoDataValue(0)
    source.GetRasterBand(1).WriteArray(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.Translate(str(path), source, format="COG",
                   creationOptions=["COMPRESS=DEFLATE", "LEVEL=1", "BLOCKSIZE=512", "OVERVIEWS=NONE"])


def _label_rows_cols(top: float, pixel: float):
    row = round((top - LABEL_TOP) / pixel)
    col = round((LABEL_LEFT - LEFT) / pixel)
    size = round(LABEL_PX * 10 / pixel)
    return slice(row, row + size), slice(col, col + size)


def _scl(item_id: str, rng) -> np.ndarray:
    half = SIZE // 2
    scl = CLEAR_CLASSES[rng.integers(0, len(CLEAR_CLASSES), (half, half))]
    rows, cols = _label_rows_cols(TOP[item_id], 20.0)
    window = scl[rows, cols]  # a view: 50 x 50 SCL pixels under the label
    filled = FILLED_COLUMNS // 2
    if item_id == MAIN_ID:
        window[:, :filled] = 0  # no data: 24MUV fills in
        window[:10, filled:] = 9  # 300 of its 1500 pixels: cloud
    else:
        window[:5, :filled] = 8  # 100 of its 1000 pixels: cloud
        window[5:10, :filled] = 3  # 100 shadow: unusable too
        window[:, filled:] = 9  # under 24MUA's valid part: hidden by the tile on top
        scl[rows.stop:rows.stop + 10, cols] = 9  # a cloud bank right below the label: not counted
    return scl


@pytest.fixture(scope="module")
def scenes(stac_api, asset_server):
    """The two items (as served) and the band pixels written for them: {id: (item, {band: array})}."""
    items = {item["id"]: item for item in stac_api.items_of("sentinel-2-l2a") if item["id"] in (MAIN_ID, FILL_ID)}
    assert set(items) == {MAIN_ID, FILL_ID}
    fixture_file = STAC_ANSWERS / "earth-search-sentinel-2-l2a-items.json"
    fixture = {f["id"]: f for f in json.loads(fixture_file.read_text())["features"]}
    for item_id, item in items.items():  # the served items are the real ones
        assert item["properties"]["eo:cloud_cover"] == fixture[item_id]["properties"]["eo:cloud_cover"]
        assert item["properties"]["datetime"] == fixture[item_id]["properties"]["datetime"]
        assert item["properties"]["proj:epsg"] == EPSG
        for key in [*BANDS.values(), "scl"]:  # our COGs lie on the real assets' grids
            pixel, _, x0, _, _, y0 = item["assets"][key]["proj:transform"][:6]
            assert (LEFT - x0) % pixel == 0 and (y0 - TOP[item_id]) % pixel == 0
    # the design: one acquisition (its tiles' own datetimes differ by seconds)
    assert len({item["properties"]["s2:datatake_id"] for item in items.values()}) == 1
    assert len({item["properties"]["datetime"] for item in items.values()}) == 2

    written = {}
    for seed, (item_id, item) in enumerate(sorted(items.items())):
        rng = np.random.default_rng(seed)
        rows, cols = np.mgrid[0:SIZE, 0:SIZE]
        pixels = {}
        for number, (band, key) in enumerate(BANDS.items()):
            data = (1 + (rows * (3 + number) + cols * (5 + seed)) % 3000
                    + rng.integers(0, 256, (SIZE, SIZE))).astype(np.uint16)
            if item_id == MAIN_ID:
                label_rows, label_cols = _label_rows_cols(TOP[item_id], 10.0)
                data[label_rows, label_cols.start:label_cols.start + FILLED_COLUMNS] = 0
            _write_cog(asset_server.path_for(item["assets"][key]["href"]), data, 10.0, TOP[item_id])
            pixels[band] = data
        pixels["SCL"] = _scl(item_id, rng)
        _write_cog(asset_server.path_for(item["assets"]["scl"]["href"]), pixels["SCL"], 20.0, TOP[item_id])
        written[item_id] = (item, pixels)
    gdal.VSICurlClearCache()  # never a stale /vsicurl/ cache of an earlier test's file
    return written


@pytest.fixture(scope="module")
def label_folder(tmp_path_factory, scenes):
    folder = tmp_path_factory.mktemp("stac-labels")
    values = (np.arange(LABEL_PX * LABEL_PX).reshape(LABEL_PX, LABEL_PX) % 7).astype(np.uint8)
    write_label(folder / f"field_{LABEL_DATE}.tif", values, LABEL_LEFT, LABEL_TOP, EPSG)
    # the label is inside both items' footprints and no other Earth Search item's
    label_lonlat = _lonlat(box(LABEL_LEFT, LABEL_TOP - LABEL_PX * 10, LABEL_LEFT + LABEL_PX * 10, LABEL_TOP))
    for item, _ in scenes.values():
        assert shape(item["geometry"]).contains(label_lonlat)
    return folder, values


def _lonlat(geometry):
    return to_lonlat(geometry, EPSG)


def _options(stac_api, bands):
    return MigrationOptions(backend="stac", url=stac_api.url, collection="sentinel-2-l2a", bands=bands,
                            days_before=2, days_after=2, max_cloud=60.0, cloud_masks=False, write_report=False)


def _requests_since(asset_server, before: int) -> list[list[str]]:
    return [line.split(" ", 4) for line in asset_server.access_log_lines()[before:]]


def _title(item) -> str:
    return item["properties"]["s2:product_uri"].removesuffix(".SAFE")


def test_stac_migration_mosaics_the_tiles_of_one_acquisition_reading_windows_only(
        stac_api, asset_server, scenes, label_folder, tmp_path):
    folder, label_values = label_folder
    output = tmp_path / "out"
    gdal.VSICurlClearCache()
    log_before = len(asset_server.access_log_lines())

    result = migrate_labels(str(folder), _options(stac_api, list(BANDS)), str(output))

    # 1. the pair: 24MUA's pixels, 24MUV's where 24MUA has none
    assert [row["status"] for row in result.rows] == ["done"], result.rows
    image, label = output / "images" / f"field_{LABEL_DATE}.tif", output / "labels" / f"field_{LABEL_DATE}.tif"
    assert image.is_file() and label.is_file()
    assert verify_pair(str(image), str(label)) is None
    pair_image, pair_label = gdal.Open(str(image)), gdal.Open(str(label))
    assert [pair_image.GetRasterBand(i).GetDescription() for i in range(1, 5)] == list(BANDS)
    assert pair_image.RasterCount == 4
    assert pair_image.GetGeoTransform() == pytest.approx((LABEL_LEFT, 10, 0, LABEL_TOP, 0, -10))
    assert osr.SpatialReference(pair_image.GetProjection()).GetAuthorityCode(None) == str(EPSG)
    for index, band in enumerate(BANDS, start=1):
        # the COGs' own pixels, read here straight from the files written under the nginx root
        windows = {}
        for item_id, (item, pixels) in scenes.items():
            rows, cols = _label_rows_cols(TOP[item_id], 10.0)
            written = gdal.Open(str(asset_server.path_for(item["assets"][BANDS[band]]["href"])))
            windows[item_id] = written.GetRasterBand(1).ReadAsArray(cols.start, rows.start, LABEL_PX, LABEL_PX)
            assert np.array_equal(windows[item_id], pixels[band][rows, cols])
        assert (windows[MAIN_ID][:, :FILLED_COLUMNS] == 0).all() and (windows[MAIN_ID][:, FILLED_COLUMNS:] > 0).all()
        expected = np.where(windows[MAIN_ID] > 0, windows[MAIN_ID], windows[FILL_ID])
        assert not np.array_equal(windows[MAIN_ID][:, FILLED_COLUMNS:], windows[FILL_ID][:, FILLED_COLUMNS:])
        assert np.array_equal(pair_image.GetRasterBand(index).ReadAsArray(), expected), band
    assert pair_label.GetGeoTransform() == pair_image.GetGeoTransform()
    assert pair_label.GetProjection() == pair_image.GetProjection()
    assert np.array_equal(pair_label.GetRasterBand(1).ReadAsArray(), label_values)
    pair_image = pair_label = None

    # 2. the match: the acquisition (named after its main tile), its cloud over the label from both tiles' SCL
    with open(output / "matches.csv", newline="", encoding="utf-8") as handle:
        rows_csv = list(csv.DictReader(handle))
    assert len(rows_csv) == 1
    row = rows_csv[0]
    main_item = scenes[MAIN_ID][0]
    assert row["scene"] == _title(main_item) and row["status"] == "done"
    assert float(row["footprint_cloud_pct"]) == FOOTPRINT_CLOUD
    assert float(row["scene_cloud_pct"]) == pytest.approx(main_item["properties"]["eo:cloud_cover"], abs=1e-3)
    assert float(row["nodata_pct"]) == 0.0
    assert row["datetime"] == main_item["properties"]["datetime"][:19] + "Z"
    from osgeo import ogr
    source = ogr.Open(result.scenes_layer.split("|")[0])  # referenced while its layer is read
    assert [feature.GetField("tile") for feature in source.GetLayerByName("scenes")] == ["24MUA+24MUV"]
    source = None

    # 3. only windows were read: range requests, a small share of each file
    requests = _requests_since(asset_server, log_before)
    for item_id, (item, _) in scenes.items():
        for key in [*BANDS.values(), "scl"]:
            href = item["assets"][key]["href"]
            uri = href[len(asset_server.url):]
            size = asset_server.path_for(href).stat().st_size
            gets = [r for r in requests if r[1] == uri and r[0] == "GET"]
            assert gets, f"nginx logged no GET for {uri}"
            assert all(r[2] == "206" and r[4].startswith('"bytes=') for r in gets), gets
            sent = sum(int(r[3]) for r in requests if r[1] == uri)
            # the 512 px tiles under the label (2 or 4 of a band's 36, 1 of SCL's 9), and one more for headers
            pixel = 20.0 if key == "scl" else 10.0
            rows, cols = _label_rows_cols(TOP[item_id], pixel)
            touched = len(range(rows.start // 512, (rows.stop - 1) // 512 + 1)) * \
                len(range(cols.start // 512, (cols.stop - 1) // 512 + 1))
            tiles = (-(-round(SIZE * 10 / pixel) // 512)) ** 2
            assert sent < size * (touched + 1) / tiles, f"{sent} bytes of {uri} sent for a {size}-byte file"
            assert touched + 1 < tiles / 2


def test_a_band_asset_missing_on_the_server_fails_the_label_naming_the_band(
        stac_api, asset_server, scenes, label_folder, tmp_path):
    folder, _ = label_folder
    for item, _ in scenes.values():  # B05 (Earth Search 'rededge1') is in the items but not on the server
        assert "rededge1" in item["assets"] and not asset_server.path_for(item["assets"]["rededge1"]["href"]).exists()
    gdal.VSICurlClearCache()
    log_before = len(asset_server.access_log_lines())

    result = migrate_labels(str(folder), _options(stac_api, ["B02", "B05", "B04", "B08"]), str(tmp_path / "out"))

    assert [row["status"] for row in result.rows] == ["failed"], result.rows
    reason = result.rows[0]["reason"]
    for item in (scenes[MAIN_ID][0],):  # the acquisition's main tile says which band, where, and the HTTP status
        rededge1 = item["assets"]["rededge1"]["href"]
        assert f"{_title(item)}: The scene '{_title(item)}' has band assets that cannot be read: B05 at {rededge1}: " \
               f"HTTP response code: 404" in reason, reason
    assert not (tmp_path / "out" / "images").exists()  # pair folders appear with the first pair
    requests = _requests_since(asset_server, log_before)
    assert any(r[1].endswith("/rededge1.tif") and r[2] == "404" for r in requests), requests


def test_a_band_the_items_have_no_asset_for_fails_the_label_naming_the_band(stac_api, scenes, label_folder, tmp_path):
    folder, _ = label_folder
    assert all("B10" not in item["assets"] and "b10" not in item["assets"] for item, _ in scenes.values())

    result = migrate_labels(str(folder), _options(stac_api, ["B02", "B10"]), str(tmp_path / "out"))

    assert [row["status"] for row in result.rows] == ["failed"], result.rows
    reason = result.rows[0]["reason"]
    assert f"The scene '{_title(scenes[MAIN_ID][0])}' has no asset for B10 (it has aot, " in reason, reason
