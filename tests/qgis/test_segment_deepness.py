"""segment through processing.run on models that follow Deepness's conventions (issue 15, part 2): several
output heads, the model's resolution, and its seg_small_segment. Models are built with onnx.helper (see
tests/unit/test_deepness_conventions.py for the sources in PUTvision/qgis-plugin-deepness each behaviour comes
from)."""
import csv

import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis

GRID = from_origin(500_000, 5_000_000, 10, 10)


@pytest.fixture
def conventions():
    pytest.importorskip("onnx", reason="the onnx package builds the test models")
    from labelmigration.tests.unit import test_deepness_conventions as models

    return models


def test_two_heads_give_a_band_per_head_and_counts_per_head(run, conventions, tmp_path):
    """Deepness writes one result per output head (map_processor_segmentation._process_tile) and names each
    from its dict in a class_names list: segment's OUTPUT gets one band per head, described by the head's name,
    OUTPUT_HEATMAPS every head's channels, and the counts CSV an 'output' column."""
    image = np.full((1, 20, 30), 100, np.float32)
    scene = write_raster(tmp_path / "scene.tif", np.concatenate([image, image]), "EPSG:32632", GRID)
    model = conventions.two_head_model(tmp_path / "heads.onnx", 2, metadata={
        "class_names": [{"0": "water"}, {"0": "other", "1": "coffee", "2": "bare"}]})
    result = run("segment", {"INPUT": str(scene), "MODEL": model, "OUTPUT": str(tmp_path / "c.tif"),
                             "OUTPUT_HEATMAPS": str(tmp_path / "p.tif"), "OUTPUT_COUNTS": str(tmp_path / "n.csv")})
    with rasterio.open(result["OUTPUT"]) as classes, rasterio.open(result["OUTPUT_HEATMAPS"]) as heat:
        assert classes.count == 2 and classes.descriptions == ("water", "landuse")
        assert heat.count == 4
    with open(result["OUTPUT_COUNTS"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["output"] for row in rows} == {"water", "landuse"}
    assert sum(int(row["pixels"]) for row in rows if row["output"] == "landuse") == 20 * 30
    assert {row["name"] for row in rows if row["output"] == "water"} <= {"background", "water"}


def test_resample_and_small_segment_parameters(run, conventions, tmp_path):
    """RESAMPLE / MODEL_RESOLUTION (Deepness runs at the model's 'resolution', cm/px, which its UI can override)
    and SMALL_SEGMENT (Deepness's median filter from seg_small_segment): a 1-pixel checkerboard run at 20 m
    averages to one class; with RESAMPLE off it stays a checkerboard (a fixed point of the median filter); a
    lone bright pixel is removed by SMALL_SEGMENT 3 and kept by 0."""
    board = np.indices((30, 30)).sum(axis=0) % 2
    scene = write_raster(tmp_path / "board.tif", np.where(board, 200, 0).astype(np.float32)[np.newaxis],
                         "EPSG:32632", GRID)
    engine = conventions._engine_input(tmp_path, str(scene), 1)
    high, low = engine[0][board == 1].mean(), engine[0][board == 0].mean()
    gain = 20 / (high - low)  # class 1 where the model's input is above a third of the way from low to high
    model = conventions.sigmoid_model(tmp_path / "m.onnx", [gain], [-gain * (low + (high - low) / 3)],
                                      metadata={"resolution": 2000, "class_names": {"0": "bright"}})

    def classes(**parameters):
        out = str(tmp_path / f"c{len(parameters)}{parameters.get('SMALL_SEGMENT', '')}.tif")
        run("segment", {"INPUT": str(scene), "MODEL": model, "OUTPUT": out, **parameters})
        with rasterio.open(out) as dataset:
            assert (dataset.width, dataset.height) == (30, 30)
            return dataset.read(1)

    assert (classes()[3:-3, 3:-3] == 1).all()  # the model's 20 m: the average is above the third
    np.testing.assert_array_equal(classes(RESAMPLE=False), board)
    assert (classes(MODEL_RESOLUTION=3000)[3:-3, 3:-3] == 1).all()
    assert (classes(MODEL_RESOLUTION=1000)[3:-3, 3:-3] == board[3:-3, 3:-3]).all()  # 10 m: the raster's own


def test_small_segment_parameter_removes_specks(run, conventions, tmp_path):
    """SMALL_SEGMENT overrides the model's seg_small_segment (Deepness: the UI's dilate/erode size, defaulting to
    the metadata): 3 removes a lone pixel, 0 keeps it."""
    values = np.zeros((1, 20, 20), np.float32)
    values[0, 10, 10] = 200
    values[0, 2:8, 2:8] = 200
    scene = write_raster(tmp_path / "specks.tif", values, "EPSG:32632", GRID)
    engine = conventions._engine_input(tmp_path, str(scene), 1)
    high, low = engine[0, 10, 10], engine[0, 0, 0]
    gain = 20 / (high - low)
    model = conventions.sigmoid_model(tmp_path / "m.onnx", [gain], [-gain * (low + high) / 2],
                                      metadata={"seg_small_segment": 3})
    for size, speck in ((None, 0), (0, 1), (3, 0)):
        parameters = {} if size is None else {"SMALL_SEGMENT": size}
        out = str(tmp_path / f"c{size}.tif")
        run("segment", {"INPUT": str(scene), "MODEL": model, "OUTPUT": out, **parameters})
        with rasterio.open(out) as dataset:
            result = dataset.read(1)
        assert result[10, 10] == speck and (result[3:7, 3:7] == 1).all()
