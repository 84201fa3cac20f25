"""A Landsat candidate read from its band and QA_PIXEL rasters (local files here, COGs over HTTP in
tests/e2e/test_migrate_landsat.py), with two WRS-2 rows of one pass mosaicked under a label that straddles them.

Item structure: the real published item in tests/data/landsat_stac (SOURCE.md); row 066 is the same item one
row south (id and landsat:wrs_row changed). Pixels are synthetic, on the item's 30 m grid (EPSG:32617):
row 065 covers grid rows 0-99 and has no data (DN 0, QA_PIXEL 1 = fill) in rows 90-99; row 066 covers rows
60-159. The label covers rows 80-109, columns 10-39. Expected, computed here from the written arrays: row 065's
pixels where it has data (it covers most of the label, so it is on top), row 066's below; the cloud over the
label from both rows' QA_PIXEL (USGS LSDS-1619 bits: 3 cloud, 4 cloud shadow; 21824 clear), never from row
066's QA where row 065 has data. The pair's cloud mask likewise (1 cloud, 2 cloud shadow, 255 fill), decoded
here from the written QA_PIXEL rows by the same bits.
"""
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.search.scene import Match
from labelmigration.core.search.stac import item_scene
from labelmigration.core.labels.crop import crop_scene
from labelmigration.core.landsat.assets import fetch_landsat
from labelmigration.core.landsat.qa_pixel import mask_on_grid
from labelmigration.core.migration.rating import rate
from labelmigration.core.migration.scenes import datatakes
from labelmigration.core.util.progress import Steps
from labelmigration.tests.support.rasters import from_origin, write_raster

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "landsat_stac" / "LC09_L2SP_010065_20220129_02_T1.json"
LEFT, TOP, PIXEL = 551985.0, -743685.0, 30.0  # on the item's proj:transform grid (491985, -683685, 30 m)
CLEAR, CLOUD, SHADOW, FILL = 21824, 1 << 3, 1 << 4, 1
ROWS = {"065": (0, 100), "066": (60, 160)}  # grid rows each scene's rasters cover


def _scene(tmp_path, row: str):
    item = json.loads(TEMPLATE.read_text())
    item["id"] = f"LC09_L2SP_010{row}_20220129_02_T1"
    item["properties"]["landsat:wrs_row"] = row
    first, last = ROWS[row]
    rng = np.random.default_rng(int(row))
    transform = from_origin(LEFT, TOP - first * PIXEL, PIXEL, PIXEL)
    pixels = {}
    for key in ("blue", "red"):
        data = rng.integers(7000, 30000, (last - first, 60)).astype(np.uint16)
        if row == "065":
            data[90:, :] = 0
        pixels[key] = data
        write_raster(tmp_path / f"{row}_{key}.tif", data, crs="EPSG:32617", transform=transform, nodata=0)
    qa = np.full((last - first, 60), CLEAR, dtype=np.uint16)
    if row == "065":
        qa[90:, :] = FILL
        qa[80:85, 10:40] = CLOUD  # 150 label cells
    else:
        qa[20:30, 10:40] = CLOUD  # grid rows 80-89: under row 065's data, hidden
        qa[40:45, 10:40] = SHADOW  # grid rows 100-104: 150 label cells
    pixels["qa_pixel"] = qa
    write_raster(tmp_path / f"{row}_qa_pixel.tif", qa, crs="EPSG:32617", transform=transform, nodata=FILL)
    for key, asset in item["assets"].items():
        asset["href"] = str(tmp_path / f"{row}_{key}.tif")
    return item_scene(item, "stac"), pixels


def test_two_rows_of_one_pass_are_mosaicked_and_rated_over_the_label(tmp_path):
    (upper, upper_pixels), (lower, lower_pixels) = _scene(tmp_path, "065"), _scene(tmp_path, "066")
    label_values = (np.arange(900).reshape(30, 30) % 5 + 1).astype(np.uint8)
    label = write_raster(tmp_path / "label.tif", label_values, crs="EPSG:32617",
                         transform=from_origin(LEFT + 10 * PIXEL, TOP - 80 * PIXEL, PIXEL, PIXEL))
    (candidate,) = datatakes([Match("label", dt.date(2022, 1, 29), lower, 0.0, 40.0),
                              Match("label", dt.date(2022, 1, 29), upper, 0.0, 100.0)])
    assert [scene.id for scene in candidate.scenes] == [upper.id, lower.id]

    fetch_landsat(candidate, ["B02", "B04"], str(tmp_path / "work"))
    note = rate(candidate, str(label), None, str(tmp_path / "rating"), Steps(None, None))

    assert note is None
    assert candidate.footprint_cloud == pytest.approx(100.0 * 300 / 900)
    assert candidate.footprint_shadow == pytest.approx(100.0 * 150 / 900)
    result = crop_scene(candidate.path, str(label), str(tmp_path / "image.tif"), str(tmp_path / "pair_label.tif"),
                        band_names=candidate.band_names)
    image = gdal.Open(result.image)
    for index, key in enumerate(("blue", "red"), start=1):
        expected = np.vstack([upper_pixels[key][80:90, 10:40], lower_pixels[key][30:50, 10:40]])
        band = image.GetRasterBand(index)
        assert np.array_equal(band.ReadAsArray(), expected), key
        assert band.GetDescription() == ["B02", "B04"][index - 1]
        assert (band.GetScale(), band.GetOffset()) == (2.75e-05, -0.2)
    assert image.GetMetadata()["WRS_PATH_ROW"] == "010/065"
    assert np.array_equal(gdal.Open(result.label).ReadAsArray(), label_values)


def test_the_pair_cloud_mask_comes_from_both_rows_qa_pixel_on_the_pair_grid(tmp_path):
    """The mask on the pair image's grid (its 30 x 30 cells): grid rows 80-84 cloud (row 065), 85-89 clear (row
    065 on top: row 066's cloud there is hidden), 90-99 clear from row 066 (row 065 is fill there), 100-104
    row 066's shadow, 105-109 clear. A reference one cell wider to the east of the rasters (60 columns) gives
    fill (255) where neither row has data."""
    (upper, _), (lower, _) = _scene(tmp_path, "065"), _scene(tmp_path, "066")
    (candidate,) = datatakes([Match("label", dt.date(2022, 1, 29), lower, 0.0, 40.0),
                              Match("label", dt.date(2022, 1, 29), upper, 0.0, 100.0)])
    fetch_landsat(candidate, ["B02"], str(tmp_path / "work"))
    reference = write_raster(tmp_path / "pair.tif", np.zeros((30, 51), np.uint16), crs="EPSG:32617",
                             transform=from_origin(LEFT + 10 * PIXEL, TOP - 80 * PIXEL, PIXEL, PIXEL))

    mask = mask_on_grid(candidate.qa_pixel, str(reference), str(tmp_path / "mask-work"))

    expected = np.zeros((30, 51), np.uint8)
    expected[0:5, :30] = 1
    expected[20:25, :30] = 2
    expected[:, 50] = 255  # grid column 60: east of both rows' rasters
    assert np.array_equal(mask, expected)
