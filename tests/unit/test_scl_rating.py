"""Rating reads SCL in memory (core.migration.scl_rating) exactly as cropping the SAFE product's SCL band to the
label gives it, and the local pool hands each thread a contiguous run of the work order (WorkRuns)."""
import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.labels.crop import crop_scene
from labelmigration.core.migration.executor import WorkRuns
from labelmigration.core.migration.scl_rating import LabelPlacements, read_scl_window
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product


def test_work_runs_are_contiguous_and_an_idle_worker_takes_from_the_longest_run():
    runs = WorkRuns(list(range(10)), 2)
    assert [runs.take(0) for _ in range(3)] == [0, 1, 2]
    assert [runs.take(1) for _ in range(5)] == [5, 6, 7, 8, 9]
    assert [runs.take(1) for _ in range(2)] == [4, 3]  # from the far end of worker 0's run
    assert runs.take(0) is None and runs.take(1) is None
    more_workers_than_labels = WorkRuns(list(range(3)), 8)
    assert sorted(iter(lambda: more_workers_than_labels.take(7), None)) == [0, 1, 2]


@pytest.mark.parametrize("crs, origin, pixel", [
    ("EPSG:32632", (705010.0, 5395010.0), 5.0),  # the product's own CRS, a finer grid
    ("EPSG:4326", (11.7586, 48.693), 0.00007),  # another CRS: the footprint is reprojected
    ("EPSG:32632", (700100.0, 5399700.0), 5.0),  # over the generator's nodata corner: SCL 0 under part of it
])
def test_scl_window_equals_the_crop_of_the_scl_band(tmp_path, crs, origin, pixel):
    product = str(make_safe_product(tmp_path / "archive", "L2A", size_10m=600).path)
    values = np.random.default_rng(3).integers(0, 4, (60, 60), dtype=np.uint8)
    values[:7, :11] = 255  # nodata pixels inside the label
    label = write_raster(tmp_path / "label.tif", values, crs=crs, transform=from_origin(*origin, pixel, pixel),
                         nodata=255)
    crop = crop_scene(product, str(label), str(tmp_path / "scl.tif"), str(tmp_path / "lab.tif"),
                      band_names=["SCL"])
    placements = LabelPlacements(str(label))
    window = read_scl_window(product, [], placements)
    again = read_scl_window(product, [], placements)  # the placement is kept for the label's next candidate
    expected = gdal.Open(crop.image).ReadAsArray()
    label_dataset = gdal.Open(crop.label)  # referenced while its band is read
    label_band = label_dataset.GetRasterBand(1)
    assert window.values.shape == expected.shape and (window.values == expected).all()
    assert (window.label_inside == (label_band.ReadAsArray() != label_band.GetNoDataValue())).all()
    assert (window.covered_percent, window.nodata_percent) == (crop.covered_percent, crop.nodata_percent)
    assert window.transform == tuple(gdal.Open(crop.image).GetGeoTransform())
    assert (again.values == window.values).all() and len(placements._placed) == 1
