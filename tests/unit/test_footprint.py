"""label_footprint(s): valid-data outlines, true areas and dates."""
import datetime as dt

import numpy as np
import pytest
from pyproj import Geod
from shapely import wkt as shapely_wkt
from shapely.geometry import Polygon, box

from labelmigration.core.util.dates import date_from_metadata, date_in_text
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.labels.footprint import label_footprint, label_footprints
from labelmigration.tests.support.rasters import Affine, from_origin, write_raster


def test_partly_nodata_label_gives_its_real_outline_and_area(tmp_path):
    label = np.ones((50, 60), np.uint8)
    rows, cols = np.mgrid[0:50, 0:60]
    label[rows + cols < 30] = 255  # nodata triangle in the top-left corner
    path = write_raster(tmp_path / "field_2021-06-03.tif", label, "EPSG:3035",
                        from_origin(4_400_000, 2_900_000, 10, 10), nodata=255)
    footprint = label_footprint(str(path), "EPSG:3035")
    outline = shapely_wkt.loads(footprint.wkt)
    whole = box(4_400_000, 2_900_000 - 500, 4_400_000 + 600, 2_900_000)
    assert outline.area == pytest.approx((label != 255).sum() * 100)
    assert outline.area < whole.area  # not the bounding box
    assert outline.within(whole.buffer(1e-6))
    # EPSG:3035 is equal-area, so the true area equals the planar one
    assert footprint.area_m2 == pytest.approx((label != 255).sum() * 100, rel=1e-4)
    assert footprint.label == "field_2021-06-03"
    assert footprint.date == dt.date(2021, 6, 3)


def test_rotated_label_outline_follows_the_rotation(tmp_path):
    angle = 30.0
    transform = Affine.translation(690_000, 5_340_000) * Affine.rotation(angle) * Affine.scale(10, -10)
    path = write_raster(tmp_path / "rotated.tif", np.ones((40, 80), np.uint8), "EPSG:32632", transform)
    footprint = label_footprint(str(path), "EPSG:32632")
    corners = [transform * corner for corner in ((0, 0), (80, 0), (80, 40), (0, 40))]
    expected = Polygon(corners)
    outline = shapely_wkt.loads(footprint.wkt)
    assert outline.symmetric_difference(expected).area < 1e-6 * expected.area
    assert not outline.equals(box(*outline.bounds))


def test_geographic_label_area_is_geodesic(tmp_path):
    transform = from_origin(11.0, 48.2, 0.001, 0.001)
    path = write_raster(tmp_path / "geo.tif", np.ones((100, 100), np.uint8), "EPSG:4326", transform)
    footprint = label_footprint(str(path))
    geodesic, _ = Geod(ellps="WGS84").geometry_area_perimeter(box(11.0, 48.1, 11.1, 48.2))
    assert footprint.area_m2 == pytest.approx(abs(geodesic), rel=1e-3)
    assert shapely_wkt.loads(footprint.wkt).bounds == pytest.approx((11.0, 48.1, 11.1, 48.2))


def test_validity_band_defines_the_outline(tmp_path):
    label = np.zeros((2, 20, 20), np.uint8)
    label[0, 5:10, 5:10] = 1
    label[1, :, :10] = 1
    path = write_raster(tmp_path / "geocoded.tif", label, "EPSG:32632", from_origin(0, 100, 5, 5),
                        descriptions=("label", "validity"))
    footprint = label_footprint(str(path), "EPSG:32632")
    assert shapely_wkt.loads(footprint.wkt).area == pytest.approx(20 * 10 * 25)


def test_empty_label_is_an_error(tmp_path):
    path = write_raster(tmp_path / "empty.tif", np.full((10, 10), 255, np.uint8), "EPSG:32632",
                        from_origin(0, 100, 10, 10), nodata=255)
    with pytest.raises(LabelMigrationError, match=r"empty\.tif' is empty"):
        label_footprint(str(path))


def test_label_without_georeferencing_is_an_error(tmp_path):
    path = write_raster(tmp_path / "plain.tif", np.ones((10, 10), np.uint8))
    with pytest.raises(LabelMigrationError, match="not georeferenced"):
        label_footprint(str(path))


def test_many_labels_and_progress(tmp_path):
    paths = [str(write_raster(tmp_path / f"l{i}.tif", np.ones((5, 5), np.uint8), "EPSG:32632",
                              from_origin(i * 100, 100, 10, 10))) for i in range(3)]
    reported = []
    footprints = label_footprints(paths, "EPSG:32632", progress=reported.append)
    assert [f.label for f in footprints] == ["l0", "l1", "l2"]
    assert reported[-1] == 1.0
    with pytest.raises(LabelMigrationError, match="No label"):
        label_footprints([])


@pytest.mark.parametrize("text, expected", [
    ("20200812_101512_1014_3B_label.png", dt.date(2020, 8, 12)),
    ("mask_2019-05-01.tif", dt.date(2019, 5, 1)),
    ("mask_2019_05_01.tif", dt.date(2019, 5, 1)),
    ("S2B_MSIL2A_20200815T102559_N0214", dt.date(2020, 8, 15)),
    ("tile_123456789.tif", None),
    ("mask_20201345.tif", None),  # month 13 is no date
    ("label.tif", None),
])
def test_date_in_text(text, expected):
    assert date_in_text(text) == expected


def test_date_from_metadata():
    assert date_from_metadata({"TIFFTAG_DATETIME": "2020:08:12 10:15:12"}) == dt.date(2020, 8, 12)
    assert date_from_metadata({"LABEL_DATE": "2021-01-02"}) == dt.date(2021, 1, 2)
    assert date_from_metadata({"OTHER": "2021-01-02"}) is None


def test_nan_only_label_without_declared_nodata_is_empty(tmp_path):
    """NaN is no class value: before, such a label's footprint was the whole raster (issue 13)."""
    path = write_raster(tmp_path / "nan.tif", np.full((10, 10), np.nan, np.float32), "EPSG:32632",
                        from_origin(0, 100, 10, 10))
    with pytest.raises(LabelMigrationError, match=r"nan\.tif' is empty"):
        label_footprint(str(path))


def test_unknown_target_crs_is_refused_not_replaced(tmp_path):
    path = write_raster(tmp_path / "l.tif", np.ones((5, 5), np.uint8), "EPSG:32632", from_origin(0, 100, 10, 10))
    with pytest.raises(LabelMigrationError, match=r"'EPSG:999999' is not a coordinate reference system"):
        label_footprint(str(path), "EPSG:999999")
