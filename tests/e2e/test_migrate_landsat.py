"""migratelabels onto Landsat 8/9 Collection 2 Level-2 through STAC, end to end: search, bands mapped to the
Landsat assets, candidates rated by QA_PIXEL's cloud and shadow bits over the label, the pair cropped on the
30 m grid through /vsicurl/ range reads, the WRS-2 path/row as the scene's tile.

Real: the STAC API (stac-fastapi-pgstac on PostgreSQL + PostGIS; this module loads its own ``landsat-c2-l2``
collection), nginx answering range requests, GDAL reading the assets through /vsicurl/, the whole
core.migration code path. The item structure is the real published item LC09_L2SP_010065_20220129_02_T1
(tests/data/landsat_stac, SOURCE.md): its geometry, datetime, eo:cloud_cover, proj:epsg / proj:transform,
landsat:wrs_path / wrs_row, asset keys and raster:bands. The second item is derived from it: a Landsat 8 pass
over the same path/row 8 days later (id, platform, datetime and eo:cloud_cover 3.0 changed).

Synthetic: the pixels. For each item this module writes COGs (DEFLATE, 256 px tiles, no overviews) on the
real item's 30 m grid (EPSG:32617, x = 491985 + 30 k, y = -683685 - 30 k), a 512 x 512 px extent covering the
label: blue/green/red/nir08 (uint16, nodata 0) and qa_pixel (uint16, nodata 1 = the fill bit).

Design: the label (10 m, 90 x 90 px, aligned to the 30 m grid) lies inside the footprint. The catalogue calls
the Landsat 8 pass clearer (3 % against 21.12 %), but over the label its QA_PIXEL says 40 % cloud, against
15 % (10 % cloud + 5 % shadow) for the Landsat 9 pass, whose cloud bank right below the label and snow pixels
over it must not count: the Landsat 9 pass wins. The QA_PIXEL values follow the bit table of the USGS Landsat
8-9 C2 L2 Science Product Guide (LSDS-1619): 21824 clear land, bit 3 cloud (with bit 1 dilated), bit 4 shadow,
bit 5 snow. Inside the Landsat 9 pass's cloud and shadow rows a few cells carry the other bits the cloud mask
reads: cirrus alone (bit 2), dilated cloud alone (bit 1), cloud over shadow (bits 3 and 4); they leave the
rating's counts as they are (each cell was cloudy or shadow already; the shadow count keeps bit 4).

Cloud masks: with the bundled (Sentinel-2-trained) cloud model given, the Landsat pair's mask is still made
from qa_pixel; the expected mask is decoded here from the written QA_PIXEL values by the bit table above.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from shapely.geometry import box, shape

from labelmigration.tests.support.georef import to_lonlat, write_label
from labelmigration.core.search.base import FootprintQuery
from labelmigration.core.search.matching import search_scenes
from labelmigration.core.search.results import write_matches_csv
from labelmigration.core.search.stac import StacBackend
from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.pair import verify_pair
from labelmigration.core.migration.run import migrate_labels
from labelmigration.core.util.plugin_files import BUNDLED_CLOUD_MODEL

pytestmark = pytest.mark.e2e

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "landsat_stac" / "LC09_L2SP_010065_20220129_02_T1.json"
COLLECTION = "landsat-c2-l2"
L9_ID, L8_ID = "LC09_L2SP_010065_20220129_02_T1", "LC08_L2SP_010065_20220206_02_T1"
EPSG = 32617
BANDS = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir08"}
SIZE, PIXEL = 512, 30.0
LEFT, TOP = 491985.0 + 2000 * PIXEL, -683685.0 - 2000 * PIXEL  # on the real item's grid (2000 px in)
LABEL_COL, LABEL_ROW, LABEL_CELLS = 200, 200, 30  # the label's place and size in 30 m cells
LABEL_LEFT, LABEL_TOP, LABEL_PX = LEFT + LABEL_COL * PIXEL, TOP - LABEL_ROW * PIXEL, LABEL_CELLS * 3  # 10 m px
CLEAR, CLOUD, SHADOW, SNOW, FILL = 21824, (1 << 3) | (1 << 1) | (3 << 8), 1 << 4, (1 << 5) | (3 << 12), 1
CIRRUS_ONLY, DILATED_ONLY, CLOUD_OVER_SHADOW = (1 << 2) | (3 << 14), 1 << 1, CLOUD | SHADOW
LABEL_DATE = "20220202"


def _srs_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)
    return srs.ExportToWkt()


def _write_cog(path: Path, data: np.ndarray, nodata: int) -> None:
    source = gdal.GetDriverByName("MEM").Create("", SIZE, SIZE, 1, gdal.GDT_UInt16)
    source.SetGeoTransform([LEFT, PIXEL, 0, TOP, 0, -PIXEL])
    source.SetProjection(_srs_wkt())
    source.GetRasterBand(1).SetNoDataValue(nodata)
    source.GetRasterBand(1).WriteArray(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.Translate(str(path), source, format="COG",
                   creationOptions=["COMPRESS=DEFLATE", "LEVEL=1", "BLOCKSIZE=256", "OVERVIEWS=NONE"])


def _qa_pixel(item_id: str) -> np.ndarray:
    qa = np.full((SIZE, SIZE), CLEAR, dtype=np.uint16)
    qa[:5, :] = FILL  # the scene edge: fill
    under = qa[LABEL_ROW:LABEL_ROW + LABEL_CELLS, LABEL_COL:LABEL_COL + LABEL_CELLS]  # a view: 900 cells
    if item_id == L9_ID:
        under[:3, :] = CLOUD  # 90 cells: 10 %
        under[3:6, :15] = SHADOW  # 45 cells: 5 %
        under[0, 0], under[0, 1], under[3, 0] = CIRRUS_ONLY, DILATED_ONLY, CLOUD_OVER_SHADOW  # counts unchanged
        under[10:13, :] = SNOW  # 90 snow cells: not cloud
        qa[LABEL_ROW + LABEL_CELLS:LABEL_ROW + LABEL_CELLS + 20, LABEL_COL:LABEL_COL + LABEL_CELLS] = CLOUD  # below
    else:
        under[:12, :] = CLOUD  # 360 cells: 40 %
    return qa


def _item(template: dict, asset_url: str, item_id: str) -> dict:
    item = json.loads(json.dumps(template))
    if item_id == L8_ID:
        item["id"] = L8_ID
        item["properties"].update({"platform": "landsat-8", "datetime": "2022-02-06T15:28:40.112233Z",
                                   "eo:cloud_cover": 3.0, "landsat:scene_id": "LC80100652022037LGN00"})
    for key, asset in item["assets"].items():
        asset["href"] = f"{asset_url}/assets/{COLLECTION}/{item_id}/{key}.TIF"
    return item


def _collection(items: list) -> dict:
    return {"type": "Collection", "stac_version": "1.0.0", "id": COLLECTION, "license": "proprietary",
            "description": "Landsat C2 L2 items built on a real item's structure (e2e copy)", "links": [],
            "stac_extensions": [],
            "extent": {"spatial": {"bbox": [items[0]["bbox"]]},
                       "temporal": {"interval": [[items[0]["properties"]["datetime"],
                                                  items[-1]["properties"]["datetime"]]]}}}


@pytest.fixture(scope="module")
def scenes(e2e_servers_started, asset_server):
    """The two items (loaded into pgstac) and their written pixels: {id: (item, {band or 'qa_pixel': array})}."""
    template = json.loads(TEMPLATE.read_text())
    items = [_item(template, asset_server.url, item_id) for item_id in (L9_ID, L8_ID)]
    e2e_servers_started.database.load([_collection(items)], items)
    pixel, _, x0, _, _, y0 = template["properties"]["proj:transform"][:6]
    assert (LEFT - x0) % pixel == 0 and (y0 - TOP) % pixel == 0 and pixel == PIXEL  # the real 30 m grid
    written = {}
    for seed, item in enumerate(items):
        rng = np.random.default_rng(seed)
        rows, cols = np.mgrid[0:SIZE, 0:SIZE]
        pixels = {}
        for number, (band, key) in enumerate(BANDS.items()):
            data = (7000 + (rows * (3 + number) + cols * (5 + seed)) % 20000
                    + rng.integers(0, 256, (SIZE, SIZE))).astype(np.uint16)
            data[:5, :] = 0  # the fill edge
            _write_cog(asset_server.path_for(item["assets"][key]["href"]), data, 0)
            pixels[band] = data
        pixels["qa_pixel"] = _qa_pixel(item["id"])
        _write_cog(asset_server.path_for(item["assets"]["qa_pixel"]["href"]), pixels["qa_pixel"], FILL)
        written[item["id"]] = (item, pixels)
    gdal.VSICurlClearCache()
    return written


@pytest.fixture(scope="module")
def label_folder(tmp_path_factory, scenes):
    folder = tmp_path_factory.mktemp("landsat-labels")
    values = (np.arange(LABEL_PX * LABEL_PX).reshape(LABEL_PX, LABEL_PX) * 7 % 11).astype(np.uint8)
    write_label(folder / f"field_{LABEL_DATE}.tif", values, LABEL_LEFT, LABEL_TOP, EPSG)
    label_lonlat = _lonlat(box(LABEL_LEFT, LABEL_TOP - LABEL_PX * 10, LABEL_LEFT + LABEL_PX * 10, LABEL_TOP))
    for item, _ in scenes.values():
        assert shape(item["geometry"]).contains(label_lonlat)
    return folder, values


def _lonlat(geometry):
    return to_lonlat(geometry, EPSG)


def _options(stac_api, bands, report=False):
    return MigrationOptions(backend="stac", url=stac_api.url, collection=COLLECTION, bands=bands, days_before=10,
                            days_after=10, max_cloud=60.0, cloud_masks=False, write_report=report)


def test_labels_migrate_onto_the_landsat_pass_with_less_cloud_over_the_label_on_the_30m_grid(
        stac_api, asset_server, scenes, label_folder, tmp_path):
    folder, label_values = label_folder
    output = tmp_path / "out"
    gdal.VSICurlClearCache()
    log_before = len(asset_server.access_log_lines())

    result = migrate_labels(str(folder), _options(stac_api, list(BANDS), report=True), str(output))

    # 1. the Landsat 9 pass won on QA_PIXEL over the label, though the catalogue calls the Landsat 8 one clearer
    assert [row["status"] for row in result.rows] == ["done"], result.rows
    with open(output / "matches.csv", newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["scene"] == L9_ID
    assert scenes[L8_ID][0]["properties"]["eo:cloud_cover"] < scenes[L9_ID][0]["properties"]["eo:cloud_cover"]
    assert float(row["footprint_cloud_pct"]) == 15.0 and float(row["footprint_shadow_pct"]) == 5.0
    assert float(row["scene_cloud_pct"]) == 21.12 and float(row["nodata_pct"]) == 0.0
    assert result.report and Path(result.report).is_file()

    # 2. the pair: the COG window on the 30 m grid, DN as delivered with their scale and offset
    image, label = output / "images" / f"field_{LABEL_DATE}.tif", output / "labels" / f"field_{LABEL_DATE}.tif"
    assert verify_pair(str(image), str(label)) is None
    pair_image, pair_label = gdal.Open(str(image)), gdal.Open(str(label))
    assert pair_image.GetGeoTransform() == pytest.approx((LABEL_LEFT, PIXEL, 0, LABEL_TOP, 0, -PIXEL))
    assert (pair_image.RasterXSize, pair_image.RasterYSize) == (LABEL_CELLS, LABEL_CELLS)
    assert osr.SpatialReference(pair_image.GetProjection()).GetAuthorityCode(None) == str(EPSG)
    item = scenes[L9_ID][0]
    for index, (band, key) in enumerate(BANDS.items(), start=1):
        written = gdal.Open(str(asset_server.path_for(item["assets"][key]["href"])))
        window = written.GetRasterBand(1).ReadAsArray(LABEL_COL, LABEL_ROW, LABEL_CELLS, LABEL_CELLS)
        assert np.array_equal(window, scenes[L9_ID][1][band][LABEL_ROW:LABEL_ROW + LABEL_CELLS,
                                                             LABEL_COL:LABEL_COL + LABEL_CELLS])
        target = pair_image.GetRasterBand(index)
        assert target.GetDescription() == band and target.DataType == gdal.GDT_UInt16
        assert np.array_equal(target.ReadAsArray(), window), band
        raster_band = item["assets"][key]["raster:bands"][0]
        assert (target.GetScale(), target.GetOffset()) == (raster_band["scale"], raster_band["offset"])
        assert target.GetMetadata()["STAC_ASSET"] == key
    metadata = pair_image.GetMetadata()
    assert metadata["LANDSAT_ASSETS"] == "B02=blue, B03=green, B04=red, B08=nir08"
    assert "not rescaled" in metadata["PIXEL_VALUES"] and metadata["WRS_PATH_ROW"] == "010/065"
    # the label on the 30 m grid by nearest neighbour: the 10 m pixel at each 30 m cell's centre
    assert pair_label.GetGeoTransform() == pair_image.GetGeoTransform()
    assert np.array_equal(pair_label.GetRasterBand(1).ReadAsArray(), label_values[1::3, 1::3])
    pair_image = pair_label = None

    # 3. the scene's tile is its WRS-2 path/row
    source = ogr.Open(result.scenes_layer.split("|")[0])
    assert [feature.GetField("tile") for feature in source.GetLayerByName("scenes")] == ["010/065"]
    source = None

    # 4. windows only: range requests; the bytes read per label, for the note
    requests = [line.split(" ", 4) for line in asset_server.access_log_lines()[log_before:]]
    landsat = [r for r in requests if r[1].startswith(f"/assets/{COLLECTION}/")]
    hrefs = [i["assets"][k]["href"] for i, _ in scenes.values() for k in [*BANDS.values(), "qa_pixel"]]
    uris = {href[len(asset_server.url):] for href in hrefs}
    assets = [r for r in landsat if r[1] in uris]  # the rest: GDAL looking for sidecar files and folder listings
    assert assets and all(r[2] in ("200", "206") for r in assets)
    assert all(r[2] == "206" for r in assets if r[0] == "GET"), assets
    assert all(r[2] in ("403", "404") for r in landsat if r[1] not in uris), landsat
    sent = sum(int(r[3]) for r in landsat)
    files = sum(asset_server.path_for(href).stat().st_size for href in hrefs)
    print(f"\nLandsat bytes read per label: {sent} of {files} bytes in the 10 COGs; {len(landsat)} requests")
    # the label lies in one 256 px tile of each file's four: that tile and the header at most, or the whole of a
    # file smaller than the 16 KB GDAL's /vsicurl/ reads first (the QA_PIXEL COGs here compress to ~1.5 KB)
    for href in hrefs:
        uri, size = href[len(asset_server.url):], asset_server.path_for(href).stat().st_size
        read = sum(int(r[3]) for r in assets if r[1] == uri)
        print(f"  {uri}: {read} of {size} bytes")
        assert read < size * (1 + 1) / 4 or read <= size <= 16384, uri


def test_the_search_table_gives_the_wrs2_path_row_as_tile(stac_api, scenes, label_folder, tmp_path):
    outline = _lonlat(box(LABEL_LEFT, LABEL_TOP - 900, LABEL_LEFT + 900, LABEL_TOP)).wkt
    matches = search_scenes([FootprintQuery("field", outline, dt.date(2022, 2, 2))], StacBackend(stac_api.url),
                            max_cloud=None, collection=COLLECTION, product=None)
    path = write_matches_csv(str(tmp_path / "matches.csv"), matches)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((row["id"], row["tile"]) for row in rows) == [(L8_ID, "010/065"), (L9_ID, "010/065")]
    # the real item's landsat:wrs_path / landsat:wrs_row


def test_a_band_landsat_lacks_fails_the_label_naming_it(stac_api, scenes, label_folder, tmp_path):
    folder, _ = label_folder
    result = migrate_labels(str(folder), _options(stac_api, ["B02", "B05", "B04"]), str(tmp_path / "out"))
    assert [row["status"] for row in result.rows] == ["failed"], result.rows
    assert "Landsat Collection 2 Level-2 has no band B05 (red edge 1 (705 nm))" in result.rows[0]["reason"]
    assert not (tmp_path / "out" / "images").exists()


def test_a_label_with_no_landsat_pass_in_its_window_says_so(stac_api, scenes, label_folder, tmp_path):
    """The two items are of 2022-01-29 and 2022-02-06: a label of 2021-06-01 has none within 10 days."""
    folder, _ = label_folder
    options = _options(stac_api, list(BANDS))
    options.date = "2021-06-01"
    result = migrate_labels(str(folder), options, str(tmp_path / "out"))
    assert [row["status"] for row in result.rows] == ["no scene"], result.rows
    assert result.rows[0]["reason"].startswith("No Landsat scene from 10 days before to 10 days after 2021-06-01")


def _usgs_mask(qa: np.ndarray) -> np.ndarray:
    """The cloud mask classes (0 clear, 1 cloud, 2 cloud shadow, 255 nodata) of QA_PIXEL values by the USGS
    Landsat 8-9 C2 L2 bit table (LSDS-1619): bit 0 fill -> 255; bits 1 dilated cloud, 2 cirrus, 3 cloud -> 1
    (over a shadow, as SCL gives one class per pixel and a shadow under a cloud is not seen); bit 4 cloud
    shadow -> 2; snow (5), clear (6), water (7) -> 0."""
    def bit(number):
        return (qa.astype(np.uint32) >> number) & 1 == 1
    mask = np.zeros(qa.shape, dtype=np.uint8)
    mask[bit(4)] = 2
    mask[bit(1) | bit(2) | bit(3)] = 1
    mask[bit(0)] = 255
    return mask


def test_with_a_cloud_model_the_landsat_pair_mask_comes_from_qa_pixel(stac_api, scenes, label_folder, tmp_path):
    """The bundled cloud model is given, yet the Landsat pair's mask is qa_pixel's bits under the pair (the
    Landsat 9 pass's written QA_PIXEL decoded by _usgs_mask): the model, run on these synthetic pixels, would
    give no such pattern. The run's log line (mask_source), the mask's metadata and the QA report name qa_pixel."""
    folder, _ = label_folder
    output = tmp_path / "out"
    options = _options(stac_api, list(BANDS), report=True)
    options.cloud_masks, options.cloud_model = True, BUNDLED_CLOUD_MODEL

    result = migrate_labels(str(folder), options, str(output))

    assert [row["scene"] for row in result.rows if row["status"] == "done"] == [L9_ID], result.rows
    assert not [w for w in result.warnings if "mask" in w.lower()], result.warnings
    assert "qa_pixel" in result.mask_source
    image, mask_file = output / "images" / f"field_{LABEL_DATE}.tif", output / "masks" / f"field_{LABEL_DATE}.tif"
    mask = gdal.Open(str(mask_file))
    assert mask.GetGeoTransform() == gdal.Open(str(image)).GetGeoTransform()
    assert (mask.RasterXSize, mask.RasterYSize) == (LABEL_CELLS, LABEL_CELLS)
    assert mask.GetRasterBand(1).GetNoDataValue() == 255
    assert "qa_pixel" in mask.GetMetadata()["CLOUD_MASK_SOURCE"]
    written = scenes[L9_ID][1]["qa_pixel"][LABEL_ROW:LABEL_ROW + LABEL_CELLS, LABEL_COL:LABEL_COL + LABEL_CELLS]
    expected = _usgs_mask(written)
    assert np.array_equal(mask.GetRasterBand(1).ReadAsArray(), expected)
    # the design's cells: 90 cloud cells (row 0..2), 44 shadow-only cells (one shadow cell is under a cloud)
    assert (expected == 1).sum() == 91 and (expected == 2).sum() == 44 and (expected == 255).sum() == 0
    mask = None
    assert "for Landsat pairs always from qa_pixel" in Path(result.report).read_text(encoding="utf-8")

    # a complete pair without its mask on a re-run: qa_pixel is not read again, and the model does not stand in
    mask_file.unlink()
    again = migrate_labels(str(folder), options, str(output))
    assert [row["status"] for row in again.rows] == ["skipped"], again.rows
    assert any("already complete Landsat pair: qa_pixel is only read while the pair is made" in w
               for w in again.warnings), again.warnings
    assert not mask_file.exists()
