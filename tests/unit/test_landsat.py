"""Landsat Collection 2 Level-2 as a migration target (core.landsat): which asset holds a band, what the pixels
mean, the QA_PIXEL bits, the WRS-2 path/row and the acquisition grouping.

Expected answers come from:
- the real published landsat-c2-l2 item in tests/data/landsat_stac (source: its SOURCE.md): asset keys, eo:bands
  center wavelengths, raster:bands scale/offset, landsat:wrs_path / wrs_row;
- Sentinel-2 MSI band centre wavelengths (ESA Sentinel-2 User Handbook: B01 443, B02 490, B03 560, B04 665,
  B08 842, B8A 865, B11 1610, B12 2190 nm);
- the QA_PIXEL bit table of the USGS Landsat 8-9 Collection 2 Level-2 Science Product Guide (LSDS-1619 v6,
  https://d9-wret.s3.us-west-2.amazonaws.com/assets/palladium/production/s3fs-public/media/files/LSDS-1619_Landsat8-9-Collection2-Level2-Science-Product-Guide-v6.pdf,
  QA_PIXEL table; also https://www.usgs.gov/landsat-missions/landsat-collection-2-quality-assessment-bands):
  bit 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 5 snow, 6 clear, 7 water, bits 8-15 two-bit
  confidences; 21824 is the value USGS lists for a clear land pixel with low confidences.
"""
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from labelmigration.core.search.scene import Match
from labelmigration.core.search.stac import item_scene
from labelmigration.core.landsat.bands import (SR_OFFSET, SR_SCALE, asset_scales, band_scale, describe_pixels,
                                               landsat_assets)
from labelmigration.core.landsat.names import acquisition_key, product_id, wrs_tile
from labelmigration.core.landsat.qa_pixel import count_qa, mask_from_qa
from labelmigration.core.migration.scenes import datatakes
from labelmigration.core.util.errors import LabelMigrationError

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "landsat_stac" / "LC09_L2SP_010065_20220129_02_T1.json"
S2_CENTRES_UM = {"B01": 0.443, "B02": 0.490, "B03": 0.560, "B04": 0.665, "B08": 0.842, "B8A": 0.865,
                 "B11": 1.610, "B12": 2.190}


@pytest.fixture(scope="module")
def item():
    return json.loads(TEMPLATE.read_text())


def test_each_sentinel2_band_maps_to_the_landsat_reflectance_asset_nearest_in_wavelength(item):
    """Expected: for each Sentinel-2 band, the item's reflectance asset whose eo:bands centre wavelength is nearest
    (computed here from the real item's eo:bands, not from the mapping table)."""
    reflectance = {key: asset["eo:bands"][0]["center_wavelength"] for key, asset in item["assets"].items()
                   if "reflectance" in asset.get("roles", [])}
    for band, centre in S2_CENTRES_UM.items():
        nearest = min(reflectance, key=lambda key: abs(reflectance[key] - centre))
        assert landsat_assets([band], item["assets"]) == [nearest], band
    # common names as the item's eo:bands give them, and 'nir' for the one near-infrared SR band
    assert landsat_assets(["blue", "NIR", "swir16"], item["assets"]) == ["blue", "nir08", "swir16"]
    assert landsat_assets(["LWIR11"], item["assets"]) == ["lwir11"]  # any other asset of the item by key


@pytest.mark.parametrize("band, words", [("B05", "red edge 1"), ("B07", "red edge 3"), ("rededge2", "red edge 2"),
                                         ("B09", "water vapour"), ("B10", "cirrus"), ("SCL", "qa_pixel")])
def test_a_band_landsat_lacks_is_refused_by_name(item, band, words):
    """Landsat 8/9 OLI has no red-edge (705/740/783 nm) or water-vapour (945 nm) band, and its Level-2 products
    no cirrus band (the item's assets: no such key)."""
    with pytest.raises(LabelMigrationError) as error:
        landsat_assets(["B02", band], item["assets"])
    assert f"has no band {band} (" in str(error.value) and words in str(error.value)
    with pytest.raises(LabelMigrationError, match="no band totally_unknown"):
        landsat_assets(["totally_unknown"], item["assets"])


def test_two_names_for_one_asset_are_refused(item):
    with pytest.raises(LabelMigrationError, match="B08, B8A are all the Landsat asset nir08"):
        landsat_assets(["B08", "B8A"], item["assets"])


def test_scale_and_offset_come_from_raster_bands_with_the_usgs_values_as_fallback(item):
    """Expected: the item's raster:bands (scale 2.75e-05, offset -0.2 on SR assets; 0.00341802 / 149 on lwir11;
    none on qa_pixel), and USGS's C2 L2 SR formula DN * 0.0000275 - 0.2 where an item gives none."""
    scales = asset_scales(item["assets"])
    assert scales["blue"] == [2.75e-05, -0.2] and scales["lwir11"] == [0.00341802, 149.0]
    assert "qa_pixel" not in scales
    assert band_scale("red", scales) == (2.75e-05, -0.2)
    assert band_scale("red", {}) == (SR_SCALE, SR_OFFSET) == (0.0000275, -0.2)
    assert band_scale("lwir11", scales) == (0.00341802, 149.0) and band_scale("lwir11", {}) is None
    text = describe_pixels(["B02", "B08"], ["blue", "nir08"], [(2.75e-05, -0.2)] * 2)
    assert text["LANDSAT_ASSETS"] == "B02=blue, B08=nir08" and "B08: DN * 2.75e-05 + -0.2" in text["PIXEL_VALUES"]


def test_qa_pixel_bits_count_cloud_and_shadow_over_the_label_only():
    """Values built from the USGS bit table: 21824 clear land; cloud = bit 3 (+ dilated bit 1), cirrus = bit 2,
    dilated cloud alone = bit 1, shadow = bit 4, snow = bit 5 (not cloud), water + clear = bits 7, 6, fill = bit 0."""
    clear, cloud, cirrus, dilated = 21824, (1 << 3) | (1 << 1), 1 << 2, 1 << 1
    shadow, snow, water, fill = 1 << 4, (1 << 5) | (3 << 12), (1 << 7) | (1 << 6), 1
    assert [bool(clear >> bit & 1) for bit in range(8)] == [False] * 6 + [True, False]
    values = np.array([[clear, cloud, cirrus, dilated],
                       [shadow, snow, water, fill],
                       [cloud, cloud, shadow, clear]], dtype=np.uint16)
    inside = np.ones(values.shape, dtype=bool)
    inside[2, :] = False  # outside the label: never counted
    counts = count_qa(values, inside)
    assert (counts.seen, counts.fill) == (7, 1)
    assert counts.unusable == 4 and counts.shadow == 1  # cloud, cirrus, dilated, shadow
    assert counts.cloud_percent == pytest.approx(400 / 7) and counts.shadow_percent == pytest.approx(100 / 7)
    assert count_qa(np.array([fill, fill], dtype=np.uint16), np.ones(2, bool)).cloud_percent is None


def test_qa_pixel_bits_make_the_cloud_mask_classes_as_scl_classes_do():
    """The mask classes of core.models.cloud_classes (0 clear, 1 cloud, 2 cloud shadow, 255 nodata), from the USGS
    bits as the SCL mask takes cloud and thin cirrus as 1, shadow as 2, no data as 255: dilated cloud, cirrus and
    cloud -> 1 (a cell with both cloud and shadow bits is cloud: one class per cell, as in SCL); shadow -> 2;
    fill -> 255; snow, water, clear -> 0."""
    clear, cloud, cirrus, dilated = 21824, (1 << 3) | (1 << 1) | (3 << 8), (1 << 2) | (3 << 14), 1 << 1
    shadow, snow, water, fill = 1 << 4, (1 << 5) | (3 << 12), (1 << 7) | (1 << 6), 1
    values = np.array([[clear, cloud, cirrus, dilated, cloud | shadow],
                       [shadow, snow, water, fill, fill | cloud]], dtype=np.uint16)
    assert mask_from_qa(values).tolist() == [[0, 1, 1, 1, 1], [2, 0, 0, 255, 255]]
    assert mask_from_qa(values).dtype == np.uint8


def test_the_scene_record_shows_the_wrs2_path_row_and_the_item_scales(item):
    scene = item_scene(item, "stac")
    assert scene.tile == "010/065" == wrs_tile(item["properties"])
    assert wrs_tile({}, "LC08_L2SP_047027_20201204_02_T1") == "047/027"
    assert scene.product_type == "L2SP" and scene.level is None  # no Sentinel-2 level: PRODUCT filters pass it
    assert scene.band_scales["nir08"] == [2.75e-05, -0.2]
    assert scene.title == item["id"]


def test_rows_of_one_pass_are_one_candidate_and_other_passes_are_not(item):
    """A satellite's rows along one path on one day are one acquisition (adjacent WRS-2 rows overlap and are
    mosaicked, as Sentinel-2 tiles of a datatake are); another day or satellite is another candidate."""
    def scene(item_id, moment, row):
        data = json.loads(json.dumps(item))
        data["id"] = item_id
        data["properties"].update({"datetime": moment, "landsat:wrs_row": row})
        return item_scene(data, "stac")

    first = scene("LC09_L2SP_010065_20220129_02_T1", "2022-01-29T15:28:34Z", "065")
    below = scene("LC09_L2SP_010066_20220129_02_T1", "2022-01-29T15:28:58Z", "066")
    later = scene("LC08_L2SP_010065_20220206_02_T1", "2022-02-06T15:28:40Z", "065")
    assert acquisition_key(first) == acquisition_key(below) != acquisition_key(later)
    matches = [Match("l", dt.date(2022, 2, 1), s, 0.0, coverage) for s, coverage in
               ((below, 40.0), (first, 100.0), (later, 100.0))]
    candidates = datatakes(matches)
    assert sorted([s.id for s in c.scenes] for c in candidates) == [
        ["LC08_L2SP_010065_20220206_02_T1"], ["LC09_L2SP_010065_20220129_02_T1", "LC09_L2SP_010066_20220129_02_T1"]]


def test_landsat_runs_write_masks_from_qa_pixel_without_a_model_or_l2a(monkeypatch):
    """Every Landsat C2 L2 scene has QA_PIXEL, as every Sentinel-2 L2A has SCL: with cloud masks asked for, a
    Landsat run writes them without a cloud model and whatever PRODUCT says; a Sentinel-2 L1C run without a model
    has nothing to make them from (core.migration.options.mask_source says so)."""
    from labelmigration.core.migration import options as migration_options
    from labelmigration.core.migration.checks import settle_options
    from labelmigration.core.migration.options import MigrationOptions, mask_source

    monkeypatch.setattr(migration_options, "DEFAULT_CLOUD_MODEL", "/nonexistent/cloud.onnx")
    landsat = MigrationOptions(backend="stac", url="http://127.0.0.1:9/stac", collection="landsat-c2-l2",
                               product="L1C", cloud_masks=True)
    assert settle_options(landsat).cloud_masks and "QA_PIXEL" in mask_source(landsat, "L1C").upper()
    sentinel = MigrationOptions(backend="stac", url="http://127.0.0.1:9/stac", collection="sentinel-2-l1c",
                                product="L1C", cloud_masks=True)
    assert not settle_options(sentinel).cloud_masks and mask_source(sentinel, "L1C").startswith("nothing")


@pytest.mark.parametrize("name, parts", [
    ("LC08_L1TP_044034_20200101_20200113_02_T1_B4.TIF",
     ("LC08_L1TP_044034_20200101_20200113_02", "LC08_L1TP_044034_20200101_20200113_02_T1", "C", 8, "L1TP", "02",
      "_B4.TIF")),
    ("/data/le07_l2sp_230080_20231208_20240103_02_t1_SR_B3.TIF",
     ("LE07_L2SP_230080_20231208_20240103_02", "LE07_L2SP_230080_20231208_20240103_02_T1", "E", 7, "L2SP", "02",
      "_SR_B3.TIF")),
    ("LT05_L1GS_227082_19990311_20161220_01_T2_B1.TIF",
     ("LT05_L1GS_227082_19990311_20161220_01", "LT05_L1GS_227082_19990311_20161220_01_T2", "T", 5, "L1GS", "01",
      "_B1.TIF")),
    ("LC09_L2SP_044034_20220105_20220107_02_SR_stack.tif",  # no tier: a stack someone named
     ("LC09_L2SP_044034_20220105_20220107_02", "LC09_L2SP_044034_20220105_20220107_02", "C", 9, "L2SP", "02",
      "_SR_stack.tif")),
    ("xLC08_L1TP_044034_20200101_20200113_02_T1_B4.TIF", None),  # inside a longer word: not an id
    ("LC08_L1TP_044034_20200101_02_T1", None),  # a STAC item id (one date), not a product file name
    ("T32TQM_20200101T100000_B04.jp2", None)])
def test_one_parser_reads_usgs_product_ids_in_file_names(name, parts):
    """The USGS Landsat product identifier (LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX; USGS Landsat Collection 2
    Level-1 and Level-2 DFCBs, e.g. LSDS-1822 and LSDS-1328) in file names, as USGS delivers the band files."""
    found = product_id(name)
    assert (tuple(found) if found else None) == parts
