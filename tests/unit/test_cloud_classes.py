"""Which class of a cloud model is cloud and which is cloud shadow (core.models.cloud_classes), the masks they make
(predict_raster's only_class with several classes), and migratelabels counting shadow as not usable.

Expected answers: the class decisions are the rules the module states (names with 'cloud'/'cirrus' are cloud,
with 'shadow' shadow, negations neither; one channel is cloud only; no cloud name: class 1). Masks come from
the tiny models of tests/support/onnx_models.py, whose probabilities are computed here by hand
(cloud_shadow_reference, conv_reference); SCL counts from the synthetic SAFE products' documented SCL blocks
(tests/support/safe_products.py: class = 1 + (3 x block_row + 5 x block_col + seed) mod 11).
"""
import datetime as dt
import logging

import numpy as np
import pytest
import rasterio

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx", reason="the onnx package builds the test models")

from labelmigration.core.models import cloud_classes as cc  # noqa: E402
from labelmigration.core.models.onnx_model import load_model  # noqa: E402
from labelmigration.core.models.output_writers import only_class_mask  # noqa: E402
from labelmigration.core.models.predict import predict_raster  # noqa: E402
from labelmigration.core.models.cloud_classes import CloudClasses, cloud_classes, predict_clouds  # noqa: E402
from labelmigration.core.util.errors import LabelMigrationError  # noqa: E402
from labelmigration.tests.support.onnx_models import (cloud_shadow_model, cloud_shadow_reference,  # noqa: E402
                                                      conv_model, conv_reference)
from labelmigration.tests.support.rasters import from_origin, write_raster  # noqa: E402

CRS = "EPSG:32632"
TRANSFORM = from_origin(500_000, 5_000_000, 10, 10)


# ----- the decision from class names ------------------------------------------------------------------------------

@pytest.mark.parametrize("names, channels, cloud, shadow", [
    ({0: "clear", 1: "cloud", 2: "shadow"}, 3, (1,), (2,)),  # the new bundled model, ukis-csmask
    ({0: "Clear", 1: "Clouds", 2: "Cloud Shadow"}, 3, (1,), (2,)),
    ({0: "background", 1: "cloud_shadow", 2: "CLOUD"}, 3, (2,), (1,)),  # order and case do not matter
    ({0: "land", 1: "thick cloud", 2: "thin-cloud", 3: "cloud-shadow"}, 4, (1, 2), (3,)),  # CloudSEN12's kinds
    ({0: "clear", 1: "cirrus", 2: "shadows"}, 3, (1,), (2,)),
    ({0: "cloud free", 1: "cloud"}, 2, (1,), None),  # a negated name is not cloud
    ({0: "no cloud", 1: "cloudless", 2: "cloudy"}, 3, (2,), None),
    ({0: "clear", 1: "cloud"}, 2, (1,), None),  # two classes: cloud only
    ({0: "cloud", 1: "clear"}, 2, (0,), None),
    ({0: "clear", 1: "cloud", 2: "shadow"}, 2, (1,), None),  # names past the model's channels are left out
])
def test_names_decide_cloud_and_shadow(names, channels, cloud, shadow):
    decided = cloud_classes(names, channels)
    assert (decided.cloud, decided.shadow, decided.note) == (cloud, shadow, "")


def test_one_channel_is_cloud_only_whatever_its_names():
    for names in ({0: "clear", 1: "cloud"}, {0: "cloud"}, {0: "shadow"}, {}):
        decided = cloud_classes(names, 1)
        assert decided == CloudClasses(cloud=(0,), channels=1)
        assert decided.only_class(shadow=True) is None  # the class raster of a sigmoid head already is the mask
    assert cloud_classes({0: "cloud"}, None).channels == 1  # one name, channels unknown: a sigmoid head


def test_unnamed_models_keep_class_1_as_cloud_with_a_note():
    for names in ({}, {0: "a", 1: "b", 2: "c"}, {0: "clear", 1: "shadow"}):
        decided = cloud_classes(names, 3, "m.onnx")
        assert (decided.cloud, decided.shadow) == ((1,), None)
        assert "names no class cloud" in decided.note and "class 1 is taken as cloud" in decided.note
        assert "m.onnx" in decided.note


def test_only_class_asks_for_shadow_only_when_there_is_one():
    three = cloud_classes({0: "clear", 1: "cloud", 2: "shadow"}, 3)
    assert three.only_class() == ((1,),) and three.only_class(shadow=True) == ((1,), (2,))
    two = cloud_classes({0: "clear", 1: "cloud"}, 2)
    assert two.only_class(shadow=True) == ((1,),)


# ----- only_class with several classes -------------------------------------------------------------------------

def test_only_class_mask_with_cloud_and_shadow():
    """Hand-made probabilities (clear, cloud, shadow) for four pixels."""
    p = np.array([[0.6, 0.2, 0.2, 0.1],
                  [0.3, 0.7, 0.35, 0.45],
                  [0.1, 0.1, 0.45, 0.45]], np.float32).reshape(3, 1, 4)
    # argmax: clear, cloud, shadow, and a tie cloud/shadow that argmax gives to the first (cloud)
    np.testing.assert_array_equal(only_class_mask(p, (1, 2), None)[0], [0, 1, 2, 1])
    np.testing.assert_array_equal(only_class_mask(p, 1, None)[0], [0, 1, 0, 1])
    # threshold 0.4: cloud where p(cloud) >= 0.4 first, else shadow where p(shadow) >= 0.4
    np.testing.assert_array_equal(only_class_mask(p, (1, 2), 0.4)[0], [0, 1, 2, 1])
    np.testing.assert_array_equal(only_class_mask(p, (1, 2), 0.5)[0], [0, 1, 0, 0])
    # a group: cloud + shadow together (0.4, 0.8, 0.8, 0.9) reach 0.75 where neither alone does
    np.testing.assert_array_equal(only_class_mask(p, ((1, 2),), 0.75)[0], [0, 1, 1, 1])
    np.testing.assert_array_equal(only_class_mask(p, ((1, 2),), None)[0], [0, 1, 1, 1])


# ----- predict_clouds on the tiny 3-class model --------------------------------------------------------------------

@pytest.fixture
def three_regions(tmp_path):
    """A 4-band DN image: columns 0-9 bright (reflectance 0.5: cloud), 10-19 very dark (0.02: shadow), 20-29
    clear (0.12); pixel (0, 0) nodata."""
    dn = np.full((4, 12, 30), 1200, np.uint16)
    dn[:, :, :10] = 5000
    dn[:, :, 10:20] = 200
    dn[:, 0, 0] = 0
    image = write_raster(tmp_path / "scene.tif", dn, CRS, TRANSFORM, nodata=0,
                         descriptions=("B02", "B03", "B04", "B08"))
    return image, dn


def test_predict_clouds_marks_shadow_when_asked(tmp_path, three_regions):
    image, dn = three_regions
    model = cloud_shadow_model(tmp_path / "three.onnx")
    reference = cloud_shadow_reference(dn * 1e-4)
    outputs = {"classes": str(tmp_path / "m.tif"), "probability": str(tmp_path / "p.tif")}
    result, classes = predict_clouds(str(image), str(model), outputs, shadow=True, tile_size=16, overlap=4)
    assert (classes.cloud, classes.shadow) == ((1,), (2,))
    with rasterio.open(outputs["classes"]) as mask, rasterio.open(outputs["probability"]) as probability:
        values = mask.read(1)
        assert probability.count == 1 and probability.descriptions == ("cloud",)
        p = probability.read(1)
    assert values[0, 0] == 255
    assert (values[1:, :10] == 1).all() and (values[:, 10:20] == 2).all() and (values[:, 20:] == 0).all()
    np.testing.assert_allclose(p[1:], reference[1][1:], atol=1e-5)  # the cloud class's probability
    assert result.stats["classes"]["counts"] == {"not cloud or shadow": 120, "cloud": 119, "shadow": 120}
    # without SHADOW the same model's mask is cloud / not cloud: shadow is 0
    result, _ = predict_clouds(str(image), str(model), {"classes": str(tmp_path / "m2.tif")}, tile_size=16)
    with rasterio.open(tmp_path / "m2.tif") as mask:
        values = mask.read(1)
    assert (values[1:, :10] == 1).all() and (values[:, 10:] == 0).all()
    assert result.stats["classes"]["counts"] == {"not cloud": 240, "cloud": 119}


def test_threshold_applies_to_cloud_then_shadow(tmp_path, three_regions):
    """With seg_thresh (or THRESHOLD) a class counts where its probability reaches it, cloud before shadow."""
    image, dn = three_regions
    model = cloud_shadow_model(tmp_path / "three.onnx", metadata={"seg_thresh": 0.5})
    reference = cloud_shadow_reference(dn * 1e-4)
    # p(shadow) at reflectance 0.02 is e^3 / (1 + e^3) = 0.95: shadow from 0.9, clear from 0.99
    for threshold, shadow_value in ((None, 2), (0.9, 2), (0.99, 0)):
        out = str(tmp_path / f"m{threshold}.tif")
        predict_clouds(str(image), str(model), {"classes": out}, shadow=True, threshold=threshold)
        t = 0.5 if threshold is None else threshold  # the model's seg_thresh when THRESHOLD is not given
        expected = np.where(reference[1] >= t, 1, np.where(reference[2] >= t, 2, 0))
        with rasterio.open(out) as mask:
            values = mask.read(1)
        np.testing.assert_array_equal(values[1:], expected[1:])
        assert (values[1:, :10] == 1).all() and (values[:, 10:20] == shadow_value).all() and (values[:, 20:] == 0).all()


def test_ukis_style_names_in_model_info(tmp_path, three_regions):
    """ukis-csmask's ModelInfo names 0 clear, 1 cloud, 2 shadow (core.models.csmask): no special case is needed."""
    from labelmigration.core.models.csmask import UKIS_CLASS_NAMES

    image, dn = three_regions
    model = cloud_shadow_model(tmp_path / "three.onnx", class_names={})
    info = load_model(str(model)).info
    info.class_names = dict(UKIS_CLASS_NAMES)
    result, classes = predict_clouds(str(image), str(model), {"classes": str(tmp_path / "m.tif")}, shadow=True,
                                     model_info=info)
    assert (classes.cloud, classes.shadow, classes.note) == ((1,), (2,), "")


def test_a_model_without_names_takes_class_1_and_warns_once(tmp_path, three_regions, caplog):
    image, _ = three_regions
    model = cloud_shadow_model(tmp_path / "unnamed.onnx", class_names={})
    cc._WARNED.discard(str(model))
    with caplog.at_level(logging.WARNING, logger=cc.LOG.name):
        for _ in range(2):
            result, classes = predict_clouds(str(image), str(model), {"classes": str(tmp_path / "m.tif")},
                                             shadow=True)
    assert (classes.cloud, classes.shadow) == ((1,), None)
    assert [r.getMessage() for r in caplog.records].count(classes.note) == 1
    with rasterio.open(tmp_path / "m.tif") as mask:  # class 1 of the rule is the bright one: cloud, no shadow
        values = mask.read(1)
    assert (values[1:, :10] == 1).all() and (values[:, 10:] == 0).all()
    picker = cc.CloudPicker(shadow=True, warn=True)  # cloudmask's picker puts the note among the warnings
    result = predict_raster(str(image), str(model), {"classes": str(tmp_path / "m3.tif")},
                            only_class=picker)
    assert classes.note in result.warnings


def test_a_one_channel_sigmoid_model_works_as_before(tmp_path, three_regions):
    """The former bundled model's kind: one sigmoid channel; the mask is p >= 0.5, shadow or not."""
    image, dn = three_regions
    weights = np.full((1, 4, 1, 1), 5.0, np.float32)  # sigmoid(20 x mean reflectance - 6): cloud above 0.3
    model = conv_model(tmp_path / "sigmoid.onnx", weights, [-6.0], sigmoid=True,
                       metadata={"model_type": "Segmentor", "bands": ["B02", "B03", "B04", "B08"],
                                 "reflectance_scale": 1e-4, "class_names": {"0": "clear", "1": "cloud"}})
    expected = (conv_reference(dn * 1e-4, weights, [-6.0])[0] >= 0.5).astype(np.uint8)
    before = str(tmp_path / "before.tif")
    predict_raster(str(image), str(model), {"classes": before})  # what the plugin ran before
    for shadow in (False, True):
        out = str(tmp_path / f"mask{shadow}.tif")
        result, classes = predict_clouds(str(image), str(model), {"classes": out}, shadow=shadow)
        assert classes == CloudClasses(cloud=(0,), channels=1)
        with rasterio.open(out) as mask, rasterio.open(before) as old:
            values = mask.read(1)
            np.testing.assert_array_equal(values, old.read(1))
        np.testing.assert_array_equal(values[1:], expected[1:])
        assert set(np.unique(values)) == {0, 1, 255}


def test_picked_classes_must_exist(tmp_path, three_regions):
    image, _ = three_regions
    model = cloud_shadow_model(tmp_path / "three.onnx")
    with pytest.raises(LabelMigrationError, match="no class 3"):
        predict_raster(str(image), str(model), {"classes": str(tmp_path / "x.tif")}, only_class=(1, 3))
    assert not (tmp_path / "x.tif").exists()


# ----- migratelabels: shadow counts as not usable ----------------------------------------------------------------

def _label(path, x0, y0):
    array = np.ones((8, 12), np.uint8)
    return write_raster(path, array, crs=CRS, transform=from_origin(x0 + 10, y0 - 10, 10, 10))


def test_scl_shadow_counts_and_is_marked_in_the_mask(tmp_path, monkeypatch):
    """An L2A label inside an SCL block of class 3 (cloud shadow; seed 4, block (10, 9): 1 + (30 + 45 + 4) mod 11):
    the footprint is 100 % not usable, all of it shadow, and the pair's mask is 2 (SCL without a model)."""
    from labelmigration.core.migration import options as migration_options, run
    from labelmigration.tests.support.safe_products import make_safe_product

    monkeypatch.setattr(migration_options, "DEFAULT_CLOUD_MODEL", str(tmp_path / "no-model.onnx"))
    archive = tmp_path / "archive"
    make_safe_product(archive, "L2A", size_10m=180, sensing=dt.datetime(2020, 8, 13, 10, 25, 59), cloud_cover=1.0,
                      seed=4)
    label = _label(tmp_path / "shadowed_20200815.tif", 699960.0 + 9 * 140.0, 5400000.0 - 10 * 100.0)
    options = migration_options.MigrationOptions(backend="local", url=str(archive), days_before=5, days_after=5,
                                                 product="L2A", workers=1, write_report=False, cloud_masks=True)
    row = run.migrate_labels([str(label)], options, str(tmp_path / "out")).rows[0]
    assert row["status"] == "done", row
    assert (row["footprint_cloud_pct"], row["footprint_shadow_pct"]) == ("100", "100")
    with rasterio.open(tmp_path / "out" / "masks" / "shadowed_20200815.tif") as mask:
        assert (mask.read(1) == 2).all()


def test_cloud_model_shadow_counts_in_the_rating_and_the_mask(tmp_path):
    """L1C has no SCL: the 3-class model rates the footprint; cloud and shadow both count in footprint_cloud_pct,
    shadow alone in footprint_shadow_pct, and the pair's mask holds 1 cloud and 2 shadow. The rule's thresholds
    are put between B02 values of the pair (read from a first run) so that all three classes occur."""
    from labelmigration.core.migration.options import MigrationOptions
    from labelmigration.core.migration.run import migrate_labels
    from labelmigration.tests.support.safe_products import make_safe_product

    archive = tmp_path / "archive"
    make_safe_product(archive, "L1C", size_10m=180, sensing=dt.datetime(2020, 8, 14, 10, 25, 59), cloud_cover=5.0)
    label = _label(tmp_path / "modelled_20200815.tif", 699960.0 + 5 * 140.0, 5400000.0 - 10 * 100.0)

    def run(out, **rule):
        model = cloud_shadow_model(tmp_path / f"{out}.onnx", bands=["B02"], **rule)
        options = MigrationOptions(backend="local", url=str(archive), days_before=5, days_after=5,
                                   product="L1C", workers=1, write_report=False, cloud_model=str(model),
                                   cloud_masks=True)
        return migrate_labels([str(label)], options, str(tmp_path / out)).rows[0]

    run("probe")
    with rasterio.open(tmp_path / "probe" / "images" / "modelled_20200815.tif") as probe:
        reflectance = probe.read(1) * probe.scales[0] + probe.offsets[0]
    levels = np.unique(reflectance)
    assert len(levels) > 10

    def between(share):  # halfway between two neighbouring values: no pixel sits on a class boundary
        index = int(share * len(levels))
        return float(levels[index] + levels[index + 1]) / 2

    rule = {"cloud_above": between(0.7), "shadow_below": between(0.3)}
    row = run("out", **rule)
    assert row["status"] == "done", row
    reference = cloud_shadow_reference(reflectance[np.newaxis], **rule)
    expected = np.argmax(reference, axis=0)  # 0 clear, 1 cloud, 2 shadow: the mask's values
    with rasterio.open(tmp_path / "out" / "masks" / "modelled_20200815.tif") as mask:
        values = mask.read(1)
    np.testing.assert_array_equal(values, expected)
    assert {0, 1, 2} <= set(np.unique(values))
    assert float(row["footprint_cloud_pct"]) == pytest.approx(100.0 * (values > 0).mean(), abs=0.01)
    assert float(row["footprint_shadow_pct"]) == pytest.approx(100.0 * (values == 2).mean(), abs=0.01)


def test_match_tables_agree_on_the_shadow_column():
    from labelmigration.core.migration import match_table
    from labelmigration.core.migration import qa_page as qa_report

    assert match_table.COLUMNS == qa_report.COLUMNS
    assert match_table.COLUMNS.index("footprint_shadow_pct") == match_table.COLUMNS.index("footprint_cloud_pct") + 1
