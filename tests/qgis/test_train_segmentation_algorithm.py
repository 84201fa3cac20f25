"""trainsegmentation through processing.run, on the tiny dataset tests/unit/test_segmentation_training.py exports
(three classes with clearly different spectra), then segment on its test chips.

Expected answers: the label chips themselves (the truth the class rasters are compared with, in numpy here), the
epoch count asked for (one progress step and one log line per epoch), and requirements-plugin.txt's torch line for
the no-PyTorch message.
"""
import os

import pytest
from osgeo import gdal

from labelmigration.tests.unit.test_segmentation_training import make_dataset, needs_torch, python_without_torch

pytestmark = pytest.mark.qgis
PARAMETERS = {"EPOCHS": 10, "BATCH_SIZE": 4, "LEARNING_RATE": 0.01, "PATCH_SIZE": 0, "SEED": 1}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("train-algorithm"))


def feedback_recording(cancel_after_first_epoch=False):
    from qgis.core import QgsProcessingFeedback

    class Recording(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.progress, self.infos = [], []
            self.progressChanged.connect(self._progressed)

        def _progressed(self, value):
            self.progress.append(value)
            if cancel_after_first_epoch and value > 0:
                self.cancel()

        def pushInfo(self, info):  # noqa: N802 (QGIS's name)
            self.infos.append(info)
            super().pushInfo(info)

    return Recording()


def run_training(provider, parameters, feedback):
    import processing

    return processing.run("labelmigration:trainsegmentation", parameters, feedback=feedback)


@needs_torch
def test_trains_with_progress_per_epoch_and_segment_runs_the_model(provider, dataset, tmp_path):
    import processing

    feedback = feedback_recording()
    model = tmp_path / "model.onnx"
    result = run_training(provider, dict(PARAMETERS, DATASET=str(dataset), OUTPUT_MODEL=str(model)), feedback)
    assert result["OUTPUT_MODEL"] == str(model) and model.is_file()
    assert result["OUTPUT_CARD"] == str(tmp_path / "model.md") and "| IoU |" in (tmp_path / "model.md").read_text()
    assert 1 <= result["BEST_EPOCH"] <= PARAMETERS["EPOCHS"] and 0 <= result["TEST_MEAN_IOU"] <= 1
    assert len([line for line in feedback.infos if line.startswith("Epoch ")]) == PARAMETERS["EPOCHS"]
    assert len({round(p, 3) for p in feedback.progress if 0 < p < 100}) >= PARAMETERS["EPOCHS"] - 1
    correct = total = 0
    for image in sorted((dataset / "images").iterdir())[:6]:
        output = tmp_path / f"classes_{image.name}"
        processing.run("labelmigration:segment", {"INPUT": str(image), "MODEL": str(model), "OUTPUT": str(output)})
        predicted = gdal.Open(str(output)).ReadAsArray()
        truth = gdal.Open(str(dataset / "labels" / image.name)).ReadAsArray()
        labelled = truth != 0
        correct += int((predicted[labelled] == truth[labelled]).sum())
        total += int(labelled.sum())
    assert correct / total > 0.8


@needs_torch
def test_cancel_stops_the_training_and_writes_nothing(provider, dataset, tmp_path):
    from qgis.core import QgsProcessingException

    feedback = feedback_recording(cancel_after_first_epoch=True)
    with pytest.raises(QgsProcessingException, match="[Cc]ancel"):
        run_training(provider, dict(PARAMETERS, EPOCHS=200, DATASET=str(dataset),
                                    OUTPUT_MODEL=str(tmp_path / "model.onnx")), feedback)
    assert os.listdir(tmp_path) == []


def test_without_pytorch_the_message_says_what_to_install(provider, dataset, tmp_path, monkeypatch):
    from qgis.core import QgsProcessingException

    python = python_without_torch()
    if python is None:
        pytest.skip("no Python without PyTorch here (neither this one nor /usr/bin/python3)")
    monkeypatch.setenv("LABELMIGRATION_TRAINING_PYTHON", python)
    with pytest.raises(QgsProcessingException) as raised:
        run_training(provider, dict(PARAMETERS, DATASET=str(dataset), OUTPUT_MODEL=str(tmp_path / "m.onnx")),
                     feedback_recording())
    message = str(raised.value)
    assert "torch==2.13.0+cpu" in message and "https://download.pytorch.org/whl/cpu" in message
    assert "Python dependencies" in message and os.listdir(tmp_path) == []


def test_a_folder_that_is_no_dataset_is_a_clear_error(provider, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="run exportdataset first"):
        run_training(provider, {"DATASET": str(tmp_path), "OUTPUT_MODEL": str(tmp_path / "m.onnx")},
                     feedback_recording())


def test_help_names_every_parameter(provider):
    algorithm = provider.algorithm("trainsegmentation")
    text = algorithm.shortHelpString()
    assert "qgis_process run labelmigration:trainsegmentation -- DATASET=" in text
    for definition in algorithm.parameterDefinitions():
        assert f"({definition.name()})" in text
