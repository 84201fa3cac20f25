"""`make demo` end to end: demo/run_demo.py in a subprocess, outputs checked with rasterio.

The checks are independent of the plugin's code: they read the bundled sample data and the
outputs with rasterio (and the footprint with OGR) and compare them pixel by pixel.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.windows import Window

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "demo" / "data"
SCENE = DATA / "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_subset.tif"
REFERENCE = DATA / "20200812_101512_1014_3B_Visual.tif"
LABEL_PNG = DATA / "20200812_101512_1014_label.png"
OUTPUTS = ("label_geocoded.tif", "label_footprint.gpkg", "pair_image.tif", "pair_label.tif", "pair_quicklook.png")


def venv_python() -> str:
    candidate = REPO_ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def run_demo(output: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([venv_python(), str(REPO_ROOT / "demo" / "run_demo.py"), str(output)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    output = work / "demo-output"
    result = run_demo(output, cwd=work)  # not the repository root: the demo must find its own files
    assert result.returncode == 0, f"run_demo.py failed:\n{result.stdout}\n{result.stderr}"
    return output, result.stdout


@pytest.mark.qgis
def test_demo_writes_every_output(demo_output):
    output, stdout = demo_output
    for name in OUTPUTS:
        path = output / name
        assert path.is_file() and path.stat().st_size > 0, f"{name} is missing"
        assert str(path) in stdout, f"the summary does not name {name}"
    assert "EPSG:32632" in stdout
    assert "2020-08-12" in stdout
    assert "COVERED" in stdout.upper() or "covered" in stdout


@pytest.mark.qgis
def test_pair_image_and_label_share_the_scene_grid(demo_output):
    output, _ = demo_output
    with rasterio.open(output / "pair_image.tif") as image, rasterio.open(output / "pair_label.tif") as label, \
            rasterio.open(SCENE) as scene:
        assert (image.width, image.height) == (label.width, label.height)
        assert image.transform == label.transform
        assert image.crs == label.crs == CRS.from_epsg(32632)
        assert image.res == pytest.approx((10.0, 10.0))
        assert image.count == scene.count == 4
        assert image.descriptions == ("B02", "B03", "B04", "B08")
        assert image.dtypes[0] == "uint16"
        # The image lies on the scene's own pixel grid (no resampling).
        col = (image.transform.c - scene.transform.c) / scene.transform.a
        row = (image.transform.f - scene.transform.f) / scene.transform.e
        assert col == pytest.approx(round(col), abs=1e-6) and row == pytest.approx(round(row), abs=1e-6)
        assert 0 <= round(col) and round(col) + image.width <= scene.width
        assert 0 <= round(row) and round(row) + image.height <= scene.height


@pytest.mark.qgis
def test_pair_image_holds_the_scene_pixels_under_the_label(demo_output):
    output, _ = demo_output
    with rasterio.open(output / "pair_image.tif") as image, rasterio.open(output / "pair_label.tif") as label, \
            rasterio.open(SCENE) as scene:
        col = round((image.transform.c - scene.transform.c) / scene.transform.a)
        row = round((image.transform.f - scene.transform.f) / scene.transform.e)
        expected = scene.read(window=Window(col, row, image.width, image.height))
        pixels = image.read()
        values = label.read(1)
        valid = values != label.nodata if label.nodata is not None else label.read_masks(1) != 0
        assert valid.sum() > 0.5 * valid.size, "the label covers too little of the pair"
        np.testing.assert_array_equal(pixels[:, valid], expected[:, valid])
        assert (pixels[:, valid] != 0).all(), "image pixels under the label are nodata"


@pytest.mark.qgis
def test_pair_label_has_the_sample_classes(demo_output):
    output, _ = demo_output
    with rasterio.open(output / "pair_label.tif") as label:
        values = label.read(1)
        valid = values != label.nodata if label.nodata is not None else label.read_masks(1) != 0
        assert set(np.unique(values[valid]).tolist()) == {0, 1, 2}
        assert not valid.all(), "the nodata corner of the reference should leave unlabelled pixels"


@pytest.mark.qgis
def test_pair_label_agrees_with_the_png_label(demo_output):
    """Class shares on the 10 m grid match the 3 m PNG's (the label moved, it did not change)."""
    output, _ = demo_output
    with rasterio.open(LABEL_PNG) as png, rasterio.open(output / "pair_label.tif") as label:
        drawn = png.read(1)
        values = label.read(1)
        valid = values != label.nodata
    with rasterio.open(REFERENCE) as reference:
        drawn_valid = reference.read_masks(1) != 0
    for value in (1, 2):
        share_png = (drawn[drawn_valid] == value).mean()
        share_pair = (values[valid] == value).mean()
        assert share_pair == pytest.approx(share_png, abs=0.02), f"class {value}"


def load_sample_generator():
    spec = importlib.util.spec_from_file_location("make_sample_data", REPO_ROOT / "demo" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.qgis
def test_pair_label_lands_on_the_features_it_labels(demo_output):
    """At each 10 m pixel centre, the migrated class is the synthetic landscape's class there.

    Only nearest-neighbour sampling of the 3 m label differs at class edges; a georeferencing
    error of one Sentinel-2 pixel would drop the agreement well below the threshold (about 97%).
    """
    output, _ = demo_output
    generator = load_sample_generator()
    with rasterio.open(output / "pair_label.tif") as label:
        values = label.read(1)
        valid = values != label.nodata
        transform = label.transform
    rows, cols = np.mgrid[0:values.shape[0], 0:values.shape[1]]
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    cover, _gain = generator.Landscape(generator.SEED).land_cover(x, y)
    truth = np.zeros(cover.shape, np.uint8)
    for cover_class, label_class in generator.LABEL_CLASSES.items():
        truth[cover == cover_class] = label_class
    assert (truth[valid] == values[valid]).mean() > 0.985


@pytest.mark.qgis
def test_quicklook_is_an_rgb_png(demo_output):
    output, _ = demo_output
    with rasterio.open(output / "pair_quicklook.png") as quicklook, \
            rasterio.open(output / "pair_image.tif") as image:
        assert quicklook.driver == "PNG"
        assert quicklook.count == 3
        assert quicklook.dtypes[0] == "uint8"
        # small pairs are enlarged by a whole factor
        factor = quicklook.width // image.width
        assert factor >= 1 and (quicklook.width, quicklook.height) == (image.width * factor, image.height * factor)
        assert quicklook.read().std() > 10, "the quicklook is blank"


@pytest.mark.qgis
def test_footprint_has_one_dated_polygon(demo_output):
    from osgeo import ogr

    output, _ = demo_output
    source = ogr.Open(str(output / "label_footprint.gpkg"))
    layer = source.GetLayer(0)
    assert layer.GetFeatureCount() == 1
    feature = layer.GetNextFeature()
    assert feature.GetField("date").startswith("2020/08/12") or feature.GetField("date").startswith("2020-08-12")
    # 500 x 500 pixels of 3 m in an equal-area CRS, less the nodata triangle (r + c < 210).
    expected = (500 * 500 - 210 * 211 // 2) * 9.0
    assert feature.GetField("area_m2") == pytest.approx(expected, rel=1e-3)


@pytest.mark.qgis
def test_demo_fails_clearly_on_an_unusable_output_folder(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    result = run_demo(blocker / "out", cwd=tmp_path)
    assert result.returncode != 0
    assert "The demo failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_data_is_reproducible(tmp_path):
    """make_sample_data.py regenerates the bundled files pixel for pixel."""
    result = subprocess.run([venv_python(), str(REPO_ROOT / "demo" / "make_sample_data.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for path in (SCENE, REFERENCE, LABEL_PNG):
        with rasterio.open(path) as bundled, rasterio.open(tmp_path / path.name) as fresh:
            assert bundled.profile["width"] == fresh.profile["width"]
            assert bundled.crs == fresh.crs and bundled.transform == fresh.transform
            np.testing.assert_array_equal(bundled.read(), fresh.read(), err_msg=path.name)


# -- the label set migrated with migratelabels (step 5) and the project (step 6) --------------------

LABEL_SET = DATA / "labels"
MIGRATED_LABELS = ("20200812_planet_lake_label", "fields_north_20200814", "maize_2020-08-16", "river_20200817",
                   "20200811_planet_fields_label", "harvested_20200810")


def read_matches(folder: Path):
    import csv
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        return {row["label"]: row for row in csv.DictReader(handle)}


def product(archive: Path, pattern: str) -> Path:
    found = sorted(archive.glob(pattern))
    assert len(found) == 1, f"{pattern}: {found}"
    return found[0]


def band_file(zip_path: Path, suffix: str) -> str:
    import zipfile
    with zipfile.ZipFile(zip_path) as archive:
        names = [name for name in archive.namelist() if name.endswith(suffix)]
    assert len(names) == 1, names
    return f"/vsizip/{zip_path}/{names[0]}"


@pytest.mark.qgis
def test_label_set_pairs_have_verified_grids(demo_output):
    output, stdout = demo_output
    folder = output / "migrated"
    rows = read_matches(folder)
    assert {name for name, row in rows.items() if row["status"] == "done"} == set(MIGRATED_LABELS)
    for name in MIGRATED_LABELS:
        with rasterio.open(folder / "images" / f"{name}.tif") as image, \
                rasterio.open(folder / "labels" / f"{name}.tif") as label, \
                rasterio.open(folder / "masks" / f"{name}.tif") as mask:
            assert (image.width, image.height) == (label.width, label.height) == (mask.width, mask.height), name
            assert image.transform == label.transform == mask.transform, name
            assert image.crs == label.crs == mask.crs == CRS.from_epsg(32632), name
            assert image.res == pytest.approx((10.0, 10.0))
            assert image.descriptions == ("B02", "B03", "B04", "B08")
            classes = label.read(1)
            valid = classes != label.nodata if label.nodata is not None else np.ones(classes.shape, bool)
            assert set(np.unique(classes[valid]).tolist()) <= {0, 1, 2} and (classes[valid] > 0).any(), name
            under = (image.read()[:, valid] == 0).any(axis=0)
            # a label moved by its shift (COREGISTER=1) is blanked where it would reach past the image's footprint
            assert not under.any(), f"{name}: nodata under the label"
            # the pair's cloud mask: 0 clear, 1 cloud, 2 cloud shadow (a model with a shadow class), 255 nodata
            assert set(np.unique(mask.read(1)).tolist()) <= {0, 1, 2, 255}
        assert f"images/{name}.tif" == rows[name]["image"]


@pytest.mark.qgis
def test_pair_image_holds_the_chosen_products_pixels(demo_output):
    """The fields_north image equals B02 of the chosen product's own JP2, read in the same window."""
    output, _ = demo_output
    chosen = read_matches(output / "migrated")["fields_north_20200814"]["scene"]
    zip_path = output / "archive" / f"{chosen}.SAFE.zip"
    with rasterio.open(output / "migrated" / "images" / "fields_north_20200814.tif") as image, \
            rasterio.open(band_file(zip_path, "_B02_10m.jp2")) as b02:
        col = (image.transform.c - b02.transform.c) / 10
        row = (b02.transform.f - image.transform.f) / 10
        assert col == round(col) and row == round(row)
        expected = b02.read(1, window=Window(round(col), round(row), image.width, image.height))
        np.testing.assert_array_equal(image.read(1), expected)


@pytest.mark.qgis
def test_cloudy_label_gets_the_scene_clear_over_it(demo_output):
    """2020-08-13 is closer to fields_north's date (-1 d against +4 d) and less cloudy as a scene,
    but its SCL is cloud (or shadow) over the label: 2020-08-18 wins. The SCL is read here from the
    product's own 20 m JP2, independently of the plugin."""
    output, stdout = demo_output
    rows = read_matches(output / "migrated")
    row = rows["fields_north_20200814"]
    assert row["scene"].startswith("S2B_MSIL2A_20200818T") and row["scene"].endswith(
        "_T32UPU_20200818T130012")
    assert (row["offset_days"], row["footprint_cloud_pct"], row["coverage_pct"]) == ("4", "0", "100")
    closer = product(output / "archive", "S2A_MSIL2A_20200813T*_T32UPU_*.SAFE.zip")
    import re
    import zipfile
    with zipfile.ZipFile(closer) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("MTD_MSIL2A.xml"))).decode()
    closer_cloud = float(re.search(r"<Cloud_Coverage_Assessment>([\d.]+)<", metadata).group(1))
    assert closer_cloud < float(row["scene_cloud_pct"])
    with rasterio.open(LABEL_SET / "fields_north_20200814.tif") as label:
        left, bottom, right, top = label.bounds  # EPSG:32632 like the product
    with rasterio.open(band_file(closer, "_SCL_20m.jp2")) as scl:
        window = rasterio.windows.from_bounds(left, bottom, right, top, scl.transform).round_offsets().round_lengths()
        classes = scl.read(1, window=window)
    assert np.isin(classes, (3, 8, 9, 10)).mean() > 0.9
    # the others: the closest clear scene; no scene at all for the September label
    assert rows["20200812_planet_lake_label"]["scene"].startswith("S2A_MSIL2A_20200813T")
    assert rows["maize_2020-08-16"]["offset_days"] == "2" and rows["river_20200817"]["offset_days"] == "1"
    assert rows["village_20200903"]["status"] == "no scene" and "2020-09-03" in rows["village_20200903"]["reason"]
    assert "Why fields_north_20200814 is on 2020-08-18" in stdout and "100% cloud" in stdout


@pytest.mark.qgis
def test_straddling_label_is_mosaicked_from_both_tiles(demo_output):
    from osgeo import ogr
    output, _ = demo_output
    source = ogr.Open(str(output / "migrated" / "footprints.gpkg"))
    tiles = {f.GetField("label"): f.GetField("tile") for f in source.GetLayer("footprints")}
    assert sorted(tiles["river_20200817"].split("+")) == ["32UPU", "32UQU"]
    with rasterio.open(output / "migrated" / "images" / "river_20200817.tif") as image:
        # west of the east tile and east of the west tile: both are needed
        assert image.bounds.left < 691800 and image.bounds.right > 692400
        assert (image.read(1) != 0).all()


@pytest.mark.qgis
def test_report_project_and_summary(demo_output):
    output, stdout = demo_output
    folder = output / "migrated"
    report = folder / "report.html"
    assert report.is_file() and f"QA report    {report}" in stdout
    html = report.read_text(encoding="utf-8")
    for name in MIGRATED_LABELS + ("village_20200903",):
        assert name in html
    assert f"{folder / 'masks'}/<label>.tif (6)" in stdout
    project = (output / "demo.qgs").read_text(encoding="utf-8")
    for name in MIGRATED_LABELS:
        for sub in ("images", "labels", "masks"):
            assert f"migrated/{sub}/{name}.tif" in project, f"{sub}/{name} is not in demo.qgs"
    assert "pair_image.tif" in project and "EPSG:32632" in project


@pytest.mark.qgis
def test_shifted_label_is_corrected_and_changed_label_flagged(demo_output):
    """Issue 19: the Planet-like pair georeferenced 20 m east, 10 m north of Sentinel-2 gets that shift back (within
    0.2 pixel) and is moved (COREGISTER=1); the label whose maize was harvested before the scene is flagged."""
    output, stdout = demo_output
    rows = read_matches(output / "migrated")
    shifted = rows["20200811_planet_fields_label"]
    assert float(shifted["shift_x_m"]) == pytest.approx(20.0, abs=2.0)
    assert float(shifted["shift_y_m"]) == pytest.approx(10.0, abs=2.0)
    assert float(shifted["shift_confidence"]) >= 0.5
    assert float(shifted["label_moved_m"]) == pytest.approx(22.36, abs=1.0)
    assert "true shift x +20.0 m, y +10.0 m" in stdout and "label moved 22.4 m" in stdout
    changed = rows["harvested_20200810"]
    others = [float(row["change_score"]) for name, row in rows.items()
              if row["change_score"] and name not in ("harvested_20200810", "river_20200817")]
    assert float(changed["change_score"]) > max(others) + 0.1
    assert "Flagged for change: harvested_20200810" in stdout
    html = (output / "migrated" / "report.html").read_text(encoding="utf-8")
    check = html[html.index('id="check"'):html.index('id="pairs"')]
    assert "harvested_20200810" in check and "20200811_planet_fields_label" not in check
    assert "moved-labels" in html and "data-shift-x=" in html


def test_project_opens_without_questions_or_font_warnings(qgis_app, demo_output):
    """Opening demo.qgs (make demo-gui) must not stop at QGIS's "select datum transformation" question for
    the EPSG:3035 labels, nor warn about a label font that is not installed (seen under Xvfb)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject
    from qgis.PyQt.QtGui import QFontDatabase

    output, _ = demo_output
    project = QgsProject()
    assert project.read(str(output / "demo.qgs")), project.error()
    laea, utm = QgsCoordinateReferenceSystem("EPSG:3035"), QgsCoordinateReferenceSystem("EPSG:32632")
    assert any(layer.crs() == laea for layer in project.mapLayers().values())
    assert project.transformContext().calculateCoordinateOperation(laea, utm), "no stored 3035 -> 32632 operation"
    installed = set(QFontDatabase().families())
    labelled = [layer for layer in project.mapLayers().values()
                if hasattr(layer, "labelsEnabled") and layer.labelsEnabled()]
    assert labelled
    for layer in labelled:
        family = layer.labeling().settings().format().font().family()
        assert family in installed, f"{layer.name()}: label font '{family}' is not installed"


def test_label_set_is_reproducible(tmp_path):
    """make_migration_data.py labels regenerates the bundled label set pixel for pixel."""
    result = subprocess.run([venv_python(), str(REPO_ROOT / "demo" / "make_migration_data.py"), "labels",
                             str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    bundled = sorted(p.name for p in LABEL_SET.iterdir())
    assert bundled == sorted(p.name for p in tmp_path.iterdir())
    for name in bundled:
        with rasterio.open(LABEL_SET / name) as old, rasterio.open(tmp_path / name) as new:
            assert old.crs == new.crs and old.transform == new.transform
            np.testing.assert_array_equal(old.read(), new.read(), err_msg=name)
