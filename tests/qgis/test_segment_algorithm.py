"""segment through processing.run with a tiny 3-class ONNX model whose answer is computed by hand."""
import csv
import json

import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis


@pytest.fixture
def scene_and_model(tmp_path):
    pytest.importorskip("onnx", reason="the onnx package builds the test model")
    from labelmigration.tests.support.onnx_models import softmax_model

    # logits for reflectance x: class 0: 3, class 1: 10x - 5, class 2: 5 - 10x
    weights = np.array([[[[0.0]]], [[[10.0]]], [[[-10.0]]]], np.float32)
    model = softmax_model(tmp_path / "landuse.onnx", weights, [3.0, -5.0, 5.0],
                          metadata={"model_type": "Segmentor", "bands": ["B08"], "reflectance_scale": 1e-4,
                                    "class_names": {"0": "other", "1": "forest", "2": "water"}})
    image = np.full((30, 40), 5000, np.uint16)  # x = 0.5: class 0
    image[:, :10] = 10000  # x = 1: class 1
    image[:, 30:] = 200  # x = 0.02: class 2
    image[0, 0] = 0  # nodata
    scene = write_raster(tmp_path / "scene.tif", image, "EPSG:32632", from_origin(500_000, 5_000_000, 10, 10),
                         nodata=0, descriptions=("B08",))
    return scene, model


def test_classes_colours_heatmaps_and_counts(run, scene_and_model, tmp_path):
    scene, model = scene_and_model
    config = json.dumps([{"name": "forest", "color": "#228b22", "filter": "1"},
                         {"name": "water", "color": "#010101", "filter": "1"}])
    result = run("segment", {"INPUT": str(scene), "MODEL": str(model), "CLASSES": config,
                             "OUTPUT": str(tmp_path / "classes.tif"), "OUTPUT_HEATMAPS": str(tmp_path / "heat.tif"),
                             "OUTPUT_COUNTS": str(tmp_path / "counts.csv")})
    with rasterio.open(result["OUTPUT"]) as classes, rasterio.open(result["OUTPUT_HEATMAPS"]) as heat:
        values = classes.read(1)
        assert values[0, 0] == 255
        assert (values[1:, :10] == 1).all() and (values[:, 10:30] == 0).all() and (values[:, 30:] == 2).all()
        colours = classes.colormap(1)
        assert colours[1][:3] == (34, 139, 34)  # the config's colour
        assert colours[2][:3] != (1, 1, 1)  # near-black encoding colour replaced for display
        assert heat.count == 3
        probabilities = heat.read()
        np.testing.assert_allclose(probabilities[:, 5, 5].sum(), 1.0, rtol=1e-5)
        logits = np.array([3.0, 5.0, -5.0])
        np.testing.assert_allclose(probabilities[:, 5, 5], np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)
    with open(result["OUTPUT_COUNTS"], newline="") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert int(rows["forest"]["pixels"]) == 30 * 10 - 1
    assert int(rows["background"]["pixels"]) == 30 * 20 and int(rows["water"]["pixels"]) == 30 * 10
    assert sum(int(row["pixels"]) for row in rows.values()) == 30 * 40 - 1  # the valid pixels
    assert float(rows["water"]["area_m2"]) == pytest.approx(300 * 100.0)


def test_model_class_names_without_a_config(run, scene_and_model, tmp_path):
    scene, model = scene_and_model
    result = run("segment", {"INPUT": str(scene), "MODEL": str(model), "OUTPUT": str(tmp_path / "c.tif"),
                             "OUTPUT_COUNTS": str(tmp_path / "counts.csv")})
    with open(result["OUTPUT_COUNTS"], newline="") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    assert names == ["other", "forest", "water"]


def test_the_models_own_class_colours_without_a_config(run, scene_and_model, tmp_path):
    """A model with class_colors metadata (as trainsegmentation writes from its dataset) is drawn in them; a class
    it gives no colour keeps the palette's (core.labels.class_colours.PALETTE, class 2 -> its second entry)."""
    import onnx

    from labelmigration.core.labels.class_colours import PALETTE

    scene, model = scene_and_model
    proto = onnx.load(str(model))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "class_colors", json.dumps({"1": "#228B22"})
    coloured = tmp_path / "coloured.onnx"
    onnx.save(proto, str(coloured))
    result = run("segment", {"INPUT": str(scene), "MODEL": str(coloured), "OUTPUT": str(tmp_path / "c.tif")})
    with rasterio.open(result["OUTPUT"]) as classes:
        colours = classes.colormap(1)
    assert colours[1][:3] == (34, 139, 34) and colours[2][:3] == PALETTE[1]


def test_counts_in_a_read_only_folder_fail_before_the_model_runs(run, scene_and_model, tmp_path):
    # the issue: a CSV output in a folder that cannot be written ended in a PermissionError traceback
    from qgis.core import QgsProcessingException

    from labelmigration.tests.support.folders import read_only_folder

    scene, model = scene_and_model
    with read_only_folder(tmp_path) as folder:
        with pytest.raises(QgsProcessingException, match=r"Cannot write the counts output '.*read-only/counts\.csv': "
                                                         r"the folder '.*read-only' is not writable"):
            run("segment", {"INPUT": str(scene), "MODEL": str(model), "OUTPUT": str(tmp_path / "classes.tif"),
                            "OUTPUT_COUNTS": str(folder / "counts.csv")})
    assert not (tmp_path / "classes.tif").exists()


def test_classes_counts_and_heatmaps_appear_together(run, scene_and_model, tmp_path, monkeypatch):
    """A failure while the counts are made (after the model ran) leaves none of the outputs."""
    from qgis.core import QgsProcessingException

    from labelmigration.core.util.errors import LabelMigrationError
    from labelmigration.processing import segment

    def broken(*_args, **_kwargs):
        raise LabelMigrationError("counting failed")

    monkeypatch.setattr(segment, "class_counts", broken)
    scene, model = scene_and_model
    out = tmp_path / "out"
    with pytest.raises(QgsProcessingException, match="counting failed"):
        run("segment", {"INPUT": str(scene), "MODEL": str(model), "OUTPUT": str(out / "classes.tif"),
                        "OUTPUT_HEATMAPS": str(out / "heat.tif"), "OUTPUT_COUNTS": str(out / "counts.csv")})
    assert not out.exists()
