"""migrate_labels on a local archive of real (small) SAFE products and labels made in the test.

The generator's SCL holds one class per block of 7 x 5 pixels of 20 m, chosen by the block's
position and the product's seed (class = 1 + (3 * block_row + 5 * block_col + seed) mod 11). Each
label lies inside one block, so the cloud over its footprint is known exactly: with seed 4 the
block (10, 8) is class 9 (cloud, high probability), with seed 0 it is class 5 (not vegetated).
"""
import csv
import datetime as dt
import os
import sys
import time

import numpy as np
import pytest
import rasterio
from osgeo import ogr

from labelmigration.core.util import limits
from labelmigration.core.util.errors import Cancelled, LabelMigrationError
from labelmigration.core.migration import options as migration_options
from labelmigration.core.migration.labels import date_from_pattern, find_labels, read_dates_csv
from labelmigration.core.migration.match_table import COLUMNS as MATCH_COLUMNS
from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.pair import verify_pair
from labelmigration.core.migration.run import migrate_labels
from labelmigration.core.util.dates import compile_date_pattern
from labelmigration.tests.support.rasters import from_origin, write_png, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

SIZE = 180  # 1800 m tiles: 90 x 90 SCL pixels
ULX, ULY = 699960.0, 5400000.0
EPSG = "EPSG:32632"
SCL_BLOCK_W, SCL_BLOCK_H = 140.0, 100.0  # 7 x 5 pixels of 20 m


def block_origin(block_row, block_col):
    return ULX + block_col * SCL_BLOCK_W, ULY - block_row * SCL_BLOCK_H


def write_label(path, block, value=1, crs=EPSG):
    """A 12 x 8 label of 10 m pixels (classes 1 and 2) inside one SCL block."""
    x0, y0 = block_origin(*block)
    array = np.full((8, 12), value, dtype=np.uint8)
    array[:, 6:] = 2
    return write_raster(path, array, crs=crs, transform=from_origin(x0 + 10, y0 - 10, 10, 10))


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    return folder, {
        # the scene-wide cloud cover prefers "near" (1 %), but block (10, 8) is cloudy in it
        "near": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 13, 10, 25, 59),
                                  cloud_cover=1.0, seed=4),
        "far": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                                 cloud_cover=20.0, seed=0, zipped=True),
    }


@pytest.fixture(scope="module")
def label_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labels")
    write_label(folder / "cloudy_20200815.tif", (10, 8))  # 100 % cloud in "near", clear in "far"
    write_label(folder / "tie_2020-08-15.tif", (10, 5))  # clear in both: the closer one ("near", -2 d)
    write_label(folder / "late_20200817.tif", (12, 6))  # clear in both: "far" (+1 d) beats "near" (-4 d)
    write_label(folder / "winter_20210110.tif", (12, 6))  # no scene in its window
    (folder / "broken_20200815.tif").write_bytes(b"II*\x00not a tiff at all")
    # a PNG drawn on a reference image (EPSG:3035 would do as well; the grid is what matters)
    x0, y0 = block_origin(14, 7)
    reference = np.full((3, 8, 12), 100, dtype=np.uint8)
    write_raster(folder / "20200815_planet_visual.tif", reference, crs=EPSG,
                 transform=from_origin(x0 + 10, y0 - 10, 10, 10))
    png = np.ones((8, 12), dtype=np.uint8)
    png[4:] = 3
    write_png(folder / "20200815_planet_label.png", png)
    return folder


def options(archive_folder, **changes):
    values = dict(backend="local", url=str(archive_folder), days_before=5, days_after=5, max_cloud=30.0,
                  product="L2A", workers=2)
    values.update(changes)
    return MigrationOptions(**values)


def rows_by_label(rows):
    return {row["label"]: row for row in rows}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


@pytest.fixture(scope="module")
def first_run(archive, label_set, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    started = time.perf_counter()
    result = migrate_labels(str(label_set), options(archive[0]), str(folder))
    return folder, result, time.perf_counter() - started


def test_best_scene_by_footprint_cloud_then_offset(archive, first_run):
    _, made = archive
    folder, result, _ = first_run
    rows = rows_by_label(result.rows)
    assert set(rows) == {"cloudy_20200815", "tie_2020-08-15", "late_20200817", "winter_20210110",
                         "broken_20200815", "20200815_planet_label"}
    near, far = made["near"].name, made["far"].name
    cloudy = rows["cloudy_20200815"]
    # "near" has the lower scene cloud cover and offset, but its pixels over the label are all cloud
    assert (cloudy["status"], cloudy["scene"]) == ("done", far)
    assert cloudy["scene_cloud_pct"] == "20" and cloudy["footprint_cloud_pct"] == "0"
    assert cloudy["offset_days"] == "3" and cloudy["coverage_pct"] == "100"
    assert (rows["tie_2020-08-15"]["scene"], rows["tie_2020-08-15"]["offset_days"]) == (near, "-2")
    assert (rows["late_20200817"]["scene"], rows["late_20200817"]["offset_days"]) == (far, "1")
    assert rows["20200815_planet_label"]["status"] == "done"
    assert rows["20200815_planet_label"]["scene"] == near
    assert rows["winter_20210110"]["status"] == "no scene" and "2021-01-10" in rows["winter_20210110"]["reason"]
    assert rows["broken_20200815"]["status"] == "failed" and "broken_20200815.tif" in rows["broken_20200815"]["reason"]
    assert (result.pairs, result.failed) == (4, 1)
    assert rows["cloudy_20200815"]["datetime"] == "2020-08-18T10:25:59Z"


def test_pairs_are_aligned_and_hold_the_scene_pixels(archive, first_run):
    _, made = archive
    folder, result, _ = first_run
    for row in result.rows:
        if row["status"] != "done":
            assert row["image"] == row["label_raster"] == ""
            assert not (folder / "images" / f"{row['label']}.tif").exists()
            continue
        assert row["image"] == f"images/{row['label']}.tif" and row["label_raster"] == f"labels/{row['label']}.tif"
        with rasterio.open(folder / row["image"]) as image, rasterio.open(folder / row["label_raster"]) as label:
            assert (image.width, image.height) == (label.width, label.height) == (12, 8)
            assert image.transform == label.transform and image.crs == label.crs
            assert image.descriptions == ("B02", "B03", "B04", "B08")
            pixels, classes = image.read(), label.read(1)
        product = made["far"] if row["scene"] == made["far"].name else made["near"]
        col = int(round((image.transform.c - ULX) / 10))
        line = int(round((ULY - image.transform.f) / 10))
        assert np.array_equal(pixels[0], product.expected_dn("B02")[line:line + 8, col:col + 12])
        assert set(np.unique(classes)) <= {1, 2, 3}
        assert verify_pair(str(folder / row["image"]), str(folder / row["label_raster"])) is None


def test_matches_csv_footprints_and_report(first_run):
    folder, result, _ = first_run
    columns, rows = read_csv(folder / "matches.csv")
    assert tuple(columns) == MATCH_COLUMNS
    assert rows == result.rows
    source = ogr.Open(str(folder / "footprints.gpkg"))
    layer = source.GetLayer("footprints")
    features = {f.GetField("label"): f for f in layer}
    assert len(features) == 6
    cloudy = features["cloudy_20200815"]
    assert cloudy.GetField("status") == "done" and cloudy.GetField("tile") == "32UPU"
    assert cloudy.GetField("footprint_cloud_pct") == 0.0 and cloudy.GetField("scene_cloud_pct") == 20.0
    assert cloudy.GetGeometryRef().GetArea() > 0
    assert features["broken_20200815"].GetGeometryRef() is None
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "4326"
    assert result.report == str(folder / "report.html") and (folder / "report.html").is_file()


def test_scene_cloud_alone_would_have_chosen_the_cloudy_scene(archive, label_set, tmp_path):
    """The other half of the first test: SCL is what changed the choice."""
    labels = [str(label_set / "cloudy_20200815.tif")]
    result = migrate_labels(labels, options(archive[0], product="L2A", max_candidates=1, write_report=False),
                            str(tmp_path))
    assert result.rows[0]["scene"] == archive[1]["near"].name
    assert result.rows[0]["footprint_cloud_pct"] == "100"


def test_rerun_skips_verified_pairs_and_cleans_temporaries(archive, label_set, tmp_path):
    first = migrate_labels(str(label_set), options(archive[0], write_report=False), str(tmp_path))
    done = [row["label"] for row in first.rows if row["status"] == "done"]
    stamps = {name: os.stat(tmp_path / "images" / f"{name}.tif").st_mtime_ns for name in done}
    planted = tmp_path / "images" / ".tie_2020-08-15.k3j9x.part.tif"
    planted.write_bytes(b"II*\x00half")  # what a crash in the middle of a write leaves
    (tmp_path / "labels" / "late_20200817.tif").unlink()  # half a pair: redone
    second = migrate_labels(str(label_set), options(archive[0], write_report=False), str(tmp_path))
    rows = rows_by_label(second.rows)
    for name in done:
        expected = ("done", "") if name == "late_20200817" else ("skipped", "already done")
        assert (rows[name]["status"], rows[name]["reason"]) == expected, name
        assert rows[name]["scene"] == rows_by_label(first.rows)[name]["scene"]
        assert rows[name]["image"] == f"images/{name}.tif"
    for name in set(done) - {"late_20200817"}:
        assert os.stat(tmp_path / "images" / f"{name}.tif").st_mtime_ns == stamps[name]
    assert not planted.exists()
    assert rows["broken_20200815"]["status"] == "failed"
    assert second.pairs == 4


def test_cancel_leaves_no_half_pair(archive, label_set, tmp_path):
    calls = []

    def cancel_soon():
        calls.append(1)
        return len(calls) > 12

    with pytest.raises(Cancelled, match="no half-written pair"):
        migrate_labels(str(label_set), options(archive[0], write_report=False), str(tmp_path),
                       is_cancelled=cancel_soon)
    # the pair folders appear with the first pair published (none at all when cancelled before)
    images = sorted(os.listdir(tmp_path / "images")) if (tmp_path / "images").exists() else []
    labels = sorted(os.listdir(tmp_path / "labels")) if (tmp_path / "labels").exists() else []
    assert images == labels and not any(name.startswith(".") for name in images)
    assert not (tmp_path / ".work").exists()
    for name in images:
        assert verify_pair(str(tmp_path / "images" / name), str(tmp_path / "labels" / name)) is None
    assert not (tmp_path / "matches.csv").exists()


def test_l1c_without_a_cloud_model_ranks_by_scene_cloud(tmp_path, monkeypatch):
    archive = tmp_path / "archive"
    make_safe_product(archive, "L1C", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59), cloud_cover=5.0)
    clear = make_safe_product(archive, "L1C", size_10m=SIZE, sensing=dt.datetime(2020, 8, 17, 10, 25, 59),
                              cloud_cover=2.0)
    label = write_label(tmp_path / "l1c_20200815.tif", (10, 5))
    monkeypatch.setattr(migration_options, "DEFAULT_CLOUD_MODEL", str(tmp_path / "no-model.onnx"))
    result = migrate_labels([str(label)], options(archive, product="L1C", write_report=False), str(tmp_path / "out"))
    row = result.rows[0]
    assert (row["status"], row["scene"], row["footprint_cloud_pct"]) == ("done", clear.name, "")
    assert "No cloud model" in row["reason"]


def test_dask_cluster_gives_the_local_result(archive, label_set, first_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    local_folder, local, local_seconds = first_run
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        started = time.perf_counter()
        remote = migrate_labels(str(label_set), options(archive[0], executor=cluster.scheduler_address),
                                str(tmp_path))
        dask_seconds = time.perf_counter() - started
    print(f"\nmigration of 6 labels: local pool {local_seconds:.2f} s, 2-worker Dask LocalCluster {dask_seconds:.2f} s")
    differing = [(mine, theirs) for mine, theirs in zip(local.rows, remote.rows) if mine != theirs]
    assert not differing, "\n".join(
        f"{a['label']}: local {a['status']} {a['scene']} {a['reason']!r}; Dask {b['status']} {b['scene']} "
        f"{b['reason']!r}" for a, b in differing)
    assert (tmp_path / "matches.csv").read_bytes() == (local_folder / "matches.csv").read_bytes()
    for row in local.rows:
        for key in ("image", "label_raster"):
            if row[key]:
                with rasterio.open(local_folder / row[key]) as a, rasterio.open(tmp_path / row[key]) as b:
                    assert a.profile == b.profile and np.array_equal(a.read(), b.read())


def test_unreachable_dask_scheduler_is_a_clear_error(archive, label_set, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    started = time.monotonic()
    with limits.using(limits.with_values(connect_timeout_s=2)):
        with pytest.raises(LabelMigrationError, match="Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2 s"):
            migrate_labels(str(label_set), options(archive[0], executor="tcp://127.0.0.1:9"), str(out))
    assert time.monotonic() - started < 15  # the connect timeout bounds it (Dask adds its own start-up)
    assert not out.exists()  # the scheduler is reached before anything is written


# -- labels and dates, no products needed ------------------------------------------------------------

def test_png_labels_pair_with_their_reference_and_are_not_labels_themselves(tmp_path):
    write_png(tmp_path / "area1_label.png", np.ones((4, 4), np.uint8))
    write_raster(tmp_path / "area1_visual.tif", np.ones((4, 4), np.uint8), crs=EPSG,
                 transform=from_origin(ULX, ULY, 10, 10))
    write_raster(tmp_path / "area2.tif", np.ones((4, 4), np.uint8), crs=EPSG, transform=from_origin(ULX, ULY, 10, 10))
    write_png(tmp_path / "lonely.png", np.ones((4, 4), np.uint8))
    found = {item.name: item for item in find_labels(str(tmp_path))}
    assert set(found) == {"area1_label", "area2", "lonely"}
    assert found["area1_label"].reference == str(tmp_path / "area1_visual.tif")
    assert found["area2"].reference is None and found["area2"].problem is None
    assert "no reference raster" in found["lonely"].problem
    with pytest.raises(LabelMigrationError, match="does not exist"):
        find_labels(str(tmp_path / "missing"))


def test_dates_from_names_patterns_and_csv(tmp_path):
    assert date_from_pattern("mask_20200812_a.tif", None) == dt.date(2020, 8, 12)
    assert date_from_pattern("mask_2020-08-12.png", None) == dt.date(2020, 8, 12)
    assert date_from_pattern("x_12.08.2020.tif", compile_date_pattern(r"(\d{2})\.(\d{2})\.(\d{4})")) is None
    pattern = compile_date_pattern(r"(?P<day>\d{2})\.(?P<month>\d{2})\.(?P<year>\d{4})")
    assert date_from_pattern("x_12.08.2020.tif", pattern) == dt.date(2020, 8, 12)
    assert date_from_pattern("tile_d2020_0812.tif", compile_date_pattern(r"d(\d{4}_\d{2})(\d{2})")) is None
    with pytest.raises(LabelMigrationError, match="not a valid regular expression"):
        compile_date_pattern("(")
    table = tmp_path / "dates.csv"
    table.write_text("label,date\nfirst.tif,2020-08-12\nsecond,20200901\n")
    assert read_dates_csv(str(table)) == {"first": dt.date(2020, 8, 12), "second": dt.date(2020, 9, 1)}
    table.write_text("label,date\nfirst.tif,soon\n")
    with pytest.raises(LabelMigrationError, match="Line 2"):
        read_dates_csv(str(table))


def test_one_date_for_all_and_csv_dates_override_names(archive, tmp_path):
    label = write_label(tmp_path / "nodate.tif", (10, 5))
    # the only label has no date: the run fails before it writes anything
    with pytest.raises(LabelMigrationError, match="No label can be migrated, so nothing was written. nodate: No date "
                                                  "in the file name 'nodate.tif'; give DATE or a dates CSV."):
        migrate_labels([str(label)], options(archive[0], write_report=False), str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()
    fixed = migrate_labels([str(label)], options(archive[0], date="2020-08-17", write_report=False),
                           str(tmp_path / "b"))
    assert fixed.rows[0]["scene"] == archive[1]["far"].name
    table = tmp_path / "dates.csv"
    table.write_text("label,date\nnodate,2020-08-13\n")
    from_csv = migrate_labels([str(label)], options(archive[0], dates_csv=str(table), write_report=False),
                              str(tmp_path / "c"))
    assert (from_csv.rows[0]["scene"], from_csv.rows[0]["offset_days"]) == (archive[1]["near"].name, "0")


def test_bad_options_fail_before_any_work(archive, label_set, tmp_path):
    with pytest.raises(LabelMigrationError, match="executor"):
        migrate_labels(str(label_set), options(archive[0], executor="spark://x"), str(tmp_path))
    with pytest.raises(LabelMigrationError, match="Unknown search backend"):
        migrate_labels(str(label_set), options(archive[0], backend="ftp"), str(tmp_path))
    with pytest.raises(LabelMigrationError, match="cloud model"):
        migrate_labels(str(label_set), options(archive[0], cloud_model=str(tmp_path / "x.onnx")), str(tmp_path))


def test_label_straddling_two_tiles_is_mosaicked(tmp_path):
    from labelmigration.tests.support.safe_products import make_safe_pair_across_tiles

    archive = tmp_path / "archive"
    west, east = make_safe_pair_across_tiles(archive, "L2A", size_10m=SIZE)  # east starts 1200 m east of west
    # 800 m wide: 60 m only in the west tile, 600 m in both, 140 m only in the east tile
    array = np.ones((8, 80), dtype=np.uint8)
    label = write_raster(tmp_path / "straddle_20200815.tif", array, crs=EPSG,
                         transform=from_origin(ULX + 1140, ULY - 1200, 10, 10))
    result = migrate_labels([str(label)], options(archive, write_report=False), str(tmp_path / "out"))
    row = result.rows[0]
    assert row["status"] == "done" and row["coverage_pct"] == "100" and row["nodata_pct"] == "0"
    assert row["scene"] in (west.name, east.name)
    with rasterio.open(tmp_path / "out" / row["image"]) as image:
        pixels = image.read(1)
        col = int(round((image.transform.c - ULX) / 10))
        line = int(round((ULY - image.transform.f) / 10))
    assert pixels.shape == (8, 80) and (pixels > 0).all()
    # one value field spans both tiles: the mosaic equals the formula on the west tile's grid
    x = ULX + (np.arange(col, col + 80) + 0.5) * 10
    y = ULY - (np.arange(line, line + 8) + 0.5) * 10
    expected = np.rint(west.values.dn("B02", x[np.newaxis, :], y[:, np.newaxis], 10)).astype(np.uint16)
    assert np.array_equal(pixels, expected)
    source = ogr.Open(str(tmp_path / "out" / "footprints.gpkg"))
    assert sorted(next(iter(source.GetLayer(0))).GetField("tile").split("+")) == ["32UPU", "32UQU"]


def test_cloud_model_rates_the_footprint_and_writes_the_mask(tmp_path):
    """L1C has no SCL: the model's mask over the crop is the footprint cloud and the pair's cloud mask."""
    pytest.importorskip("onnx", reason="the onnx package builds the test model")
    from labelmigration.core.models.predict import predict_raster
    from labelmigration.tests.support.onnx_models import conv_model

    archive = tmp_path / "archive"
    make_safe_product(archive, "L1C", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59), cloud_cover=5.0)
    label = write_label(tmp_path / "modelled_20200815.tif", (10, 5))

    def run(bias, out):
        model = conv_model(tmp_path / f"cloud{bias:.0f}.onnx", np.array([[[[200.0]]]], np.float32), [bias],
                           metadata={"model_type": "Segmentor", "bands": ["B02"], "reflectance_scale": 1e-4})
        options_ = options(archive, product="L1C", write_report=False, cloud_model=str(model), cloud_masks=True)
        return model, migrate_labels([str(label)], options_, str(tmp_path / out)).rows[0]

    run(0.0, "probe")  # B02 grows eastwards over the label: put the model's threshold at its median
    with rasterio.open(tmp_path / "probe" / "images" / "modelled_20200815.tif") as probe:
        reflectance = probe.read(1) * probe.scales[0] + probe.offsets[0]
    model, row = run(-200.0 * float(np.median(reflectance)), "out")
    assert row["status"] == "done", row
    image = tmp_path / "out" / "images" / "modelled_20200815.tif"
    expected = tmp_path / "expected.tif"
    predict_raster(str(image), str(model), {"classes": str(expected)})
    with rasterio.open(tmp_path / "out" / "masks" / "modelled_20200815.tif") as mask, rasterio.open(expected) as same:
        values = mask.read(1)
        np.testing.assert_array_equal(values, same.read(1))
    assert 0.2 < (values == 1).mean() < 0.8  # both classes: the mask is the model's, not a constant
    # the pair is the crop rating made for the model, published as it is: equal to cropping the product anew
    from labelmigration.core.labels.crop import crop_scene
    product = next(p for p in archive.iterdir() if p.name.endswith(".SAFE"))
    again = crop_scene(str(product), str(label), str(tmp_path / "again_image.tif"), str(tmp_path / "again_label.tif"),
                       band_names=["B02", "B03", "B04", "B08"])
    for published, fresh in ((image, again.image), (tmp_path / "out" / "labels" / "modelled_20200815.tif",
                                                    again.label)):
        with rasterio.open(published) as a, rasterio.open(fresh) as b:
            assert (a.transform, a.shape, a.crs) == (b.transform, b.shape, b.crs)
            np.testing.assert_array_equal(a.read(), b.read())
    assert not list((tmp_path / "out").glob(".work/*"))  # nothing left of the rating's crop
    assert float(row["footprint_cloud_pct"]) == pytest.approx(100.0 * (values == 1).mean(), abs=0.01)


def test_verify_pair_names_what_is_wrong(tmp_path):
    image = write_raster(tmp_path / "image.tif", np.ones((2, 4, 6), np.uint16), crs=EPSG,
                         transform=from_origin(ULX, ULY, 10, 10))
    label = write_raster(tmp_path / "label.tif", np.ones((4, 6), np.uint8), crs=EPSG,
                         transform=from_origin(ULX, ULY, 10, 10))
    shifted = write_raster(tmp_path / "shifted.tif", np.ones((4, 6), np.uint8), crs=EPSG,
                           transform=from_origin(ULX + 10, ULY, 10, 10))
    no_crs = write_raster(tmp_path / "no_crs.tif", np.ones((4, 6), np.uint8), transform=from_origin(ULX, ULY, 10, 10))
    assert verify_pair(str(image), str(label)) is None
    assert "not on one grid: the geotransforms differ" in verify_pair(str(image), str(shifted))
    assert "reference systems differ" in verify_pair(str(image), str(no_crs))
    assert "expected 1" in verify_pair(str(image), str(image))
    assert "missing" in verify_pair(str(image), str(tmp_path / "absent.tif"))


def test_without_onnxruntime_the_result_does_not_claim_masks_from_the_model(tmp_path, monkeypatch):
    """With the bundled model installed but onnxruntime missing (a fresh QGIS before the dependency installer ran),
    no mask can be made: the labels still migrate, each says why it has no mask, and the run's mask_source (what
    migratelabels' summary prints as 'Cloud masks ... made from ...') is None, with a warning instead."""
    archive = tmp_path / "archive"
    make_safe_product(archive, "L1C", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59), cloud_cover=5.0)
    label = write_label(tmp_path / "blocked_20200815.tif", (10, 5))
    assert os.path.isfile(migration_options.DEFAULT_CLOUD_MODEL)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # 'import onnxruntime' raises ImportError
    result = migrate_labels([str(label)], options(archive, product="L1C", write_report=False, cloud_masks=True),
                            str(tmp_path / "out"))
    assert result.pairs == 1 and not (tmp_path / "out" / "masks" / "blocked_20200815.tif").exists()
    assert result.mask_source is None
    assert any("No cloud masks were written" in warning for warning in result.warnings)


def test_the_six_band_model_runs_in_migratelabels_when_the_pairs_have_swir(tmp_path):
    """The bundled 6-band model (models/cloud_s2_6band.onnx) as CLOUD_MODEL runs on the pairs' own bands: with
    BANDS B02 B03 B04 B08 B11 B12 the pair's mask is that model's mask of the pair (core.models.cloud_classes run
    on the published image, the expected answer); with the default four bands it cannot run, and the run says so
    instead of writing a mask from another source."""
    from labelmigration.core.models.cloud_classes import predict_clouds
    from labelmigration.core.util.plugin_files import BUNDLED_CLOUD_MODEL_6BAND

    archive = tmp_path / "archive"
    make_safe_product(archive, "L1C", size_10m=SIZE, sensing=dt.datetime(2020, 8, 14, 10, 25, 59), cloud_cover=5.0)
    label = write_label(tmp_path / "swir_20200815.tif", (10, 5))
    six = ["B02", "B03", "B04", "B08", "B11", "B12"]
    result = migrate_labels([str(label)], options(archive, product="L1C", write_report=False, bands=six,
                                                  cloud_model=BUNDLED_CLOUD_MODEL_6BAND, cloud_masks=True),
                            str(tmp_path / "six"))
    assert result.rows[0]["status"] == "done", result.rows[0]
    image = tmp_path / "six" / "images" / "swir_20200815.tif"
    with rasterio.open(image) as pair:
        assert pair.count == 6
    expected = tmp_path / "expected.tif"
    predict_clouds(str(image), BUNDLED_CLOUD_MODEL_6BAND, {"classes": str(expected)}, shadow=True)
    with rasterio.open(tmp_path / "six" / "masks" / "swir_20200815.tif") as mask, rasterio.open(expected) as same:
        np.testing.assert_array_equal(mask.read(1), same.read(1))
    four = migrate_labels([str(label)], options(archive, product="L1C", write_report=False,
                                                cloud_model=BUNDLED_CLOUD_MODEL_6BAND, cloud_masks=True),
                          str(tmp_path / "four"))
    assert four.rows[0]["status"] == "done"
    assert not (tmp_path / "four" / "masks" / "swir_20200815.tif").exists()
    said = " ".join(four.warnings + [str(v) for v in four.rows[0].values()])
    assert "B11" in said or "swir16" in said, said
    assert ".work" not in said and "S2" in said, said  # it names the scene, not the crop the model ran on
