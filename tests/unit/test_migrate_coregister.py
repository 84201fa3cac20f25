"""migrate_labels with a source image per label (issue 19): the options COREGISTER and SOURCE_IMAGES reach the
per-label work (core.migration.checks.settle_options), a known shift is measured, and COREGISTER=1 moves the label.

The source image is made from the Sentinel-2 pixels themselves: the first run (no source image) writes the pair's
image; the same pixels, georeferenced SHIFT_M away, are the source image of the second run. So the source shows at
p + SHIFT_M what Sentinel-2 shows at p, and the shift to recover is SHIFT_M exactly.
"""
import csv
import datetime as dt
import math

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from labelmigration.core.migration.checks import settle_options
from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.run import migrate_labels
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

SIZE = 180
ULX, ULY = 699960.0, 5400000.0
EPSG = "EPSG:32632"
SHIFT_M = (20.0, 10.0)  # east, north: 2 columns right, 1 row up on the 10 m grid
LABEL = "field_20200815"


def options(archive, **changes):
    values = dict(backend="local", url=str(archive), days_before=5, days_after=5, max_cloud=30.0, product="L2A",
                  workers=1, cloud_masks=False)
    values.update(changes)
    return MigrationOptions(**values)


def read_rows(folder):
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        return {row["label"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    archive = tmp_path_factory.mktemp("coregister-archive")
    make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59),
                      cloud_cover=1.0, seed=3, noise_dn=300, nodata_corner=False)
    labels = tmp_path_factory.mktemp("coregister-labels")
    # 48 x 48 pixels of 10 m, two classes in stripes of irregular width (a move shows in every row)
    classes = np.ones((48, 48), np.uint8)
    for start, width in ((3, 5), (14, 3), (22, 7), (35, 4)):
        classes[:, start:start + width] = 2
    write_raster(labels / f"{LABEL}.tif", classes, crs=EPSG, transform=from_origin(ULX + 400, ULY - 400, 10, 10))

    measured = tmp_path_factory.mktemp("coregister-first")
    migrate_labels(str(labels), options(archive), str(measured))
    sources = tmp_path_factory.mktemp("coregister-sources")
    with rasterio.open(measured / "images" / f"{LABEL}.tif") as image:
        profile = dict(image.profile)
        pixels, descriptions = image.read(), image.descriptions
        profile["transform"] = Affine.translation(*SHIFT_M) * image.transform
    with rasterio.open(sources / f"{LABEL}.tif", "w", **profile) as source:
        source.write(pixels)
        source.descriptions = descriptions

    moved = tmp_path_factory.mktemp("coregister-moved")
    migrate_labels(str(labels), options(archive, coregister=1, source_images=str(sources)), str(moved))
    only_measured = tmp_path_factory.mktemp("coregister-measured")
    migrate_labels(str(labels), options(archive, coregister=0, source_images=str(sources)), str(only_measured))
    return measured, moved, only_measured


def test_settle_options_passes_the_quality_options():
    settings = settle_options(MigrationOptions(backend="local", url="/", coregister=1, min_shift_confidence=0.7,
                                               source_images="/sources"))
    assert (settings.coregister, settings.min_shift_confidence, settings.source_images) == (1, 0.7, "/sources")


def test_without_a_source_image_there_is_no_shift(runs):
    measured, _, _ = runs
    row = read_rows(measured)[LABEL]
    assert row["status"] == "done"
    assert (row["shift_x_m"], row["shift_y_m"], row["shift_confidence"], row["label_moved_m"]) == ("", "", "", "")


def test_the_known_shift_is_measured_and_the_label_moved(runs):
    measured, moved, _ = runs
    row = read_rows(moved)[LABEL]
    assert row["status"] == "done", row["reason"]
    assert float(row["shift_x_m"]) == pytest.approx(SHIFT_M[0], abs=2.0)  # 0.2 pixel
    assert float(row["shift_y_m"]) == pytest.approx(SHIFT_M[1], abs=2.0)
    assert float(row["shift_confidence"]) >= 0.5
    assert float(row["label_moved_m"]) == pytest.approx(math.hypot(*SHIFT_M), abs=1.0)
    with rasterio.open(measured / "labels" / f"{LABEL}.tif") as before, \
            rasterio.open(moved / "labels" / f"{LABEL}.tif") as after:
        assert before.transform == after.transform  # moved on the same grid
        old, new = before.read(1), after.read(1)
    # what the source (and the label) shows at p + shift lands on p: new[r, c] = old[r - 1, c + 2]
    np.testing.assert_array_equal(new[1:, :-2], old[:-1, 2:])
    assert not np.array_equal(new, old)


def test_coregister_0_measures_without_moving(runs):
    measured, _, only_measured = runs
    row = read_rows(only_measured)[LABEL]
    assert float(row["shift_x_m"]) == pytest.approx(SHIFT_M[0], abs=2.0)
    assert float(row["shift_y_m"]) == pytest.approx(SHIFT_M[1], abs=2.0)
    assert row["label_moved_m"] == "0"
    with rasterio.open(measured / "labels" / f"{LABEL}.tif") as before, \
            rasterio.open(only_measured / "labels" / f"{LABEL}.tif") as after:
        np.testing.assert_array_equal(before.read(1), after.read(1))


def test_a_source_image_beside_the_label_is_used_and_is_no_label(runs, tmp_path):
    """<label>_source.tif in the label folder: found as the label's source image (no SOURCE_IMAGES), and not
    migrated as a label of its own. The expected shift is SHIFT_M, as for the SOURCE_IMAGES runs above."""
    from labelmigration.core.migration.labels import find_labels

    measured = runs[0]
    labels = tmp_path / "labels"
    labels.mkdir()
    with rasterio.open(measured / "labels" / f"{LABEL}.tif") as label:
        label_profile, classes = dict(label.profile), label.read()
    with rasterio.open(labels / f"{LABEL}.tif", "w", **label_profile) as copy:
        copy.write(classes)
    with rasterio.open(measured / "images" / f"{LABEL}.tif") as image:
        profile = dict(image.profile, transform=Affine.translation(*SHIFT_M) * image.transform)
        pixels = image.read()
    with rasterio.open(labels / f"{LABEL}_source.tif", "w", **profile) as source:
        source.write(pixels)
    assert [item.name for item in find_labels(str(labels))] == [LABEL]
    archive = tmp_path / "archive"
    make_safe_product(archive, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59),
                      cloud_cover=1.0, seed=3, noise_dn=300, nodata_corner=False)
    out = tmp_path / "out"
    migrate_labels(str(labels), options(archive), str(out))
    rows = read_rows(out)
    assert list(rows) == [LABEL]
    assert float(rows[LABEL]["shift_x_m"]) == pytest.approx(SHIFT_M[0], abs=2.0)  # 0.2 pixel
    assert float(rows[LABEL]["shift_y_m"]) == pytest.approx(SHIFT_M[1], abs=2.0)
