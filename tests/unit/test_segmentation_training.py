"""trainsegmentation's core (core.segmentation_training): a tiny dataset, exported by exportdataset's core from pairs
this module writes with GDAL, trains in a child process to a model that `segment`'s engine runs.

The pairs: 4 bands (B02, B03, B04, B08, uint16 DN) over three classes whose spectra differ clearly (the DN are made
up for the test, in the range of Sentinel-2 L2A surface reflectance x 10^4): 1 water (dark, lowest in NIR),
2 vegetation (dark red, bright NIR), 3 bare soil (bright in every band, rare: small squares). Label 0 is nodata.
The expected answers come from the label chips themselves (the truth) and from a constant prediction of the
train split's majority class, scored with core.models.evaluate, independent of the model.
"""
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.core.dataset.export import ExportOptions, export_dataset
from labelmigration.core.migration.match_table import COLUMNS
from labelmigration.core.models.confusion import metrics_from_confusion
from labelmigration.core.models.evaluate import evaluate
from labelmigration.core.models.onnx_model import load_model
from labelmigration.core.models.predict import predict_raster
from labelmigration.core.segmentation_training import runner
from labelmigration.core.segmentation_training.dataset import read_dataset
from labelmigration.core.segmentation_training.options import TrainingOptions
from labelmigration.core.util.errors import Cancelled, LabelMigrationError, MissingDependency

# the training tests need PyTorch and onnx in this Python (not in the QGIS 3.40/3.44 matrix roots); the data makers,
# the refusals and the no-PyTorch message do not
WITHOUT_TRAINING = [name for name in ("torch", "onnx") if importlib.util.find_spec(name) is None]
needs_torch = pytest.mark.skipif(bool(WITHOUT_TRAINING), reason=f"{' and '.join(WITHOUT_TRAINING)} not installed in "
                                 f"this Python (requirements-training.txt); training cannot run")

BANDS = ("B02", "B03", "B04", "B08")
SPECTRA = {1: (900, 800, 600, 300), 2: (400, 700, 350, 3600), 3: (1600, 1900, 2300, 2900)}
NAMES = {1: "water", 2: "vegetation", 3: "bare soil"}
COLOURS = {1: (31, 120, 180), 2: (51, 160, 44), 3: (177, 89, 40)}
SIZE, CHIP, PAIRS = 48, 24, 10
FAST = TrainingOptions(epochs=12, batch_size=4, learning_rate=0.01, patch_size=0, seed=1, widths=(8, 16, 32),
                       threads=2)


def _srs_wkt():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    return srs.ExportToWkt()


def _write(path, bands, x, y, nodata, descriptions=None, label=False):
    kind = gdal.GDT_Byte if label else gdal.GDT_UInt16
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), SIZE, SIZE, bands.shape[0], kind)
    dataset.SetGeoTransform((x, 10.0, 0.0, y, 0.0, -10.0))
    dataset.SetProjection(_srs_wkt())
    if label:  # before any pixel: GDAL 3.10 refuses a colour table once pixels are written
        table = gdal.ColorTable()
        table.SetColorEntry(0, (0, 0, 0, 0))
        for value, colour in COLOURS.items():
            table.SetColorEntry(value, colour + (255,))
        dataset.GetRasterBand(1).SetColorTable(table)
        dataset.GetRasterBand(1).SetCategoryNames([""] + [NAMES[v] for v in sorted(NAMES)])
    for index in range(bands.shape[0]):
        band = dataset.GetRasterBand(index + 1)
        band.SetNoDataValue(nodata)
        band.WriteArray(bands[index])
        if descriptions:
            band.SetDescription(descriptions[index])
    dataset = None


def make_label(rng):
    """Water on the left, vegetation on the right of a random boundary, a few bare-soil squares, a nodata strip."""
    label = np.full((SIZE, SIZE), 2, dtype=np.uint8)
    edge = int(rng.integers(12, 36))
    label[:, :edge] = 1
    for _ in range(3):
        y, x = rng.integers(0, SIZE - 6, size=2)
        label[y:y + 6, x:x + 6] = 3
    label[:, -2:] = 0
    return label


def make_migrated_folder(folder, seed=5):
    """PAIRS pairs 5 km apart (one split block each) and matches.csv, as migratelabels writes them."""
    rng = np.random.default_rng(seed)
    for sub in ("images", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rows = []
    for number in range(PAIRS):
        name, x, y = f"pair{number}", 600000.0 + 5000.0 * number, 5000000.0
        label = make_label(rng)
        image = np.zeros((len(BANDS), SIZE, SIZE), dtype=np.uint16)
        for value, spectrum in SPECTRA.items():
            for band, level in enumerate(spectrum):
                image[band][label == value] = level
        image[:, label == 0] = rng.choice(list(SPECTRA.values()))[:, None]
        image = (image + rng.normal(0, 80, image.shape)).clip(1, 10000).astype(np.uint16)
        _write(folder / "images" / f"{name}.tif", image, x, y, 0, BANDS)
        _write(folder / "labels" / f"{name}.tif", label[np.newaxis], x, y, 0, label=True)
        row = {column: "" for column in COLUMNS}
        row.update(label=name, scene=f"S2B_MSIL2A_2020081{number % 10}T102559", datetime="2020-08-15T10:25:59Z",
                   offset_days="1", footprint_cloud_pct="0", status="done", image=f"images/{name}.tif",
                   label_raster=f"labels/{name}.tif")
        rows.append(row)
    with open(folder / "matches.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return folder


def make_dataset(folder):
    """The migrated folder and its export (chips of 24 px, blocks of 1 km: each pair is its own block)."""
    migrated = make_migrated_folder(folder / "migrated")
    export_dataset(str(migrated), str(folder / "dataset"),
                   ExportOptions(chip_size=CHIP, block_size_m=1000.0, fractions=(0.6, 0.2, 0.2), seed=2,
                                 geoparquet=False))
    return folder / "dataset"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("training"))


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    output = tmp_path_factory.mktemp("model") / "model.onnx"
    events = []
    result = runner.train_segmentation(str(dataset), str(output), options=FAST, python=sys.executable,
                                       log=events.append, progress=events.append)
    return result, events


def collection_names(dataset):
    """The class names exportdataset wrote into collection.json (the label's category names where GDAL reads them;
    GDAL 3.6 does not read a GeoTIFF's category names from its .aux.xml before other PAM metadata, so the values)."""
    collection = json.loads((dataset / "collection.json").read_text())
    return {entry["value"]: entry["name"] for entry in collection["labelmigration:classes"]}


def test_dataset_reads_splits_classes_and_scaling(dataset):
    """The classes and colours are those written into the labels above, the names collection.json's; every split
    has chips."""
    read = read_dataset(str(dataset))
    names = collection_names(dataset)
    assert names[1] in ("1", "water") and sorted(names) == [1, 2, 3]
    assert [(c.value, c.name, c.colour) for c in read.classes] == [
        (v, names[v], "#%02x%02x%02x" % COLOURS[v]) for v in sorted(NAMES)]
    assert all(read.chips[split] for split in ("train", "validation", "test"))
    assert read.bands == list(BANDS) and read.chip_size == CHIP and read.resolution_m == 10.0
    assert read.reflectance_scale == 0.0001 and read.channels == 4


@pytest.mark.slow
@needs_torch
def test_trained_model_beats_the_majority_class_on_the_test_split(trained, dataset, tmp_path):
    """The model, run by segment's engine (predict_raster) on every test chip and scored with core.models.evaluate
    against the label chips, beats a constant prediction of the train split's majority class."""
    result, _events = trained
    read = read_dataset(str(dataset))
    train_counts = np.zeros(4, dtype=np.int64)
    for chip in read.chips["train"]:
        label = gdal.Open(chip.label).ReadAsArray()
        train_counts += np.bincount(label.ravel(), minlength=4)
    majority = int(np.argmax(train_counts[1:])) + 1
    model_confusion, constant_confusion = np.zeros((3, 3), np.int64), np.zeros((3, 3), np.int64)
    for chip in read.chips["test"]:
        prediction = str(tmp_path / f"{chip.id}.tif")
        predict_raster(chip.image, result.model, {"classes": prediction})
        model_confusion += evaluate(prediction, chip.label, classes=[1, 2, 3], positive=None).confusion
        constant = str(tmp_path / f"{chip.id}_constant.tif")
        copy = gdal.Translate(constant, chip.label, options="-a_nodata none")
        copy.GetRasterBand(1).WriteArray(np.full((copy.RasterYSize, copy.RasterXSize), majority, np.uint8))
        copy = None
        constant_confusion += evaluate(constant, chip.label, classes=[1, 2, 3], positive=None).confusion
    model_eval = metrics_from_confusion(model_confusion, [1, 2, 3], positive=None)
    constant_eval = metrics_from_confusion(constant_confusion, [1, 2, 3], positive=None)
    assert model_eval.mean_iou > constant_eval.mean_iou + 0.2, (model_eval.mean_iou, constant_eval.mean_iou)
    assert model_eval.accuracy > constant_eval.accuracy


@pytest.mark.slow
@needs_torch
def test_metadata_round_trips_through_the_plugins_model_loading(trained, dataset):
    """Class names, colours, bands and scaling read back by core.models.onnx_model.load_model are the dataset's."""
    result, _events = trained
    model = load_model(result.model)
    assert model.class_names_of(0) == {0: "background", **collection_names(dataset)}
    assert model.info.bands == list(BANDS) and model.info.tile_size == CHIP
    assert model.info.resolution == 1000.0 and model.info.reflectance_scale == 0.0001
    import onnx
    props = {p.key: p.value for p in onnx.load(result.model).metadata_props}
    assert json.loads(props["class_colors"]) == {str(v): "#%02x%02x%02x" % c for v, c in COLOURS.items()}
    assert model.info.class_colors == {v: "#%02x%02x%02x" % c for v, c in COLOURS.items()}


@pytest.mark.slow
@needs_torch
def test_progress_per_epoch_and_the_model_card(trained, dataset):
    """One log line and one progress step per epoch; the card lists every class with the test IoU the summary has."""
    result, events = trained
    epochs = [e for e in events if isinstance(e, str) and e.startswith("Epoch ")]
    assert len(epochs) == FAST.epochs
    fractions = [e for e in events if isinstance(e, float)]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == FAST.epochs + 1
    card = open(result.card, encoding="utf-8").read()
    assert result.card == result.model[:-len(".onnx")] + ".md"
    for value, name in collection_names(dataset).items():
        iou = result.summary["test"][str(value)]["iou"]
        assert f"| {value} | {name} | #{'%02x%02x%02x' % COLOURS[value]} |" in card
        assert f"{iou:.3f}" in card
    assert 1 <= result.summary["best_epoch"] <= FAST.epochs
    assert result.summary["validation_mean_iou"] == max(
        row["validation_mean_iou"] for row in result.summary["history"])


@needs_torch
def test_cancel_kills_the_child_and_leaves_nothing(dataset, tmp_path):
    """Cancel after the first epoch: Cancelled, and neither model, card nor temporary file in the folder."""
    seen = []
    with pytest.raises(Cancelled):
        runner.train_segmentation(str(dataset), str(tmp_path / "model.onnx"),
                                  options=TrainingOptions(epochs=50, batch_size=2, widths=(8, 16)),
                                  python=sys.executable, progress=seen.append, is_cancelled=lambda: bool(seen))
    assert seen and os.listdir(tmp_path) == []


def python_without_torch():
    """This Python when it lacks PyTorch, else the system's /usr/bin/python3 when that lacks it, else None."""
    if importlib.util.find_spec("torch") is None:
        return sys.executable
    python = shutil.which("python3", path="/usr/bin")
    if python and subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0:
        return python
    return None


def test_without_pytorch_it_says_what_to_install(dataset, tmp_path):
    """A Python without torch gets the CPU-only pin and PyTorch's CPU index, as requirements-plugin.txt has them
    (https://download.pytorch.org/whl/cpu is where PyTorch's install selector sends CPU-only Linux installs)."""
    python = python_without_torch()
    if python is None:
        pytest.skip("no Python without PyTorch here (neither this one nor /usr/bin/python3)")
    with pytest.raises(MissingDependency) as raised:
        runner.train_segmentation(str(dataset), str(tmp_path / "model.onnx"), options=FAST, python=python)
    message = str(raised.value)
    assert '"torch==2.13.0+cpu" --extra-index-url https://download.pytorch.org/whl/cpu' in message
    assert "Python dependencies" in message and python in message and os.listdir(tmp_path) == []


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "epochs must be at least 1"), ({"learning_rate": 0.0}, "learning rate"),
    ({"patch_size": 8}, "patch size"),
])
def test_bad_options_are_refused(dataset, tmp_path, change, message):
    options = TrainingOptions(**change)
    with pytest.raises(LabelMigrationError, match=message):
        runner.train_segmentation(str(dataset), str(tmp_path / "m.onnx"), options=options)


def test_a_folder_that_is_no_dataset_is_refused(tmp_path):
    with pytest.raises(LabelMigrationError, match="run exportdataset first"):
        runner.train_segmentation(str(tmp_path), str(tmp_path / "m.onnx"))


def test_a_dataset_without_validation_chips_is_refused(tmp_path):
    migrated = make_migrated_folder(tmp_path / "migrated")
    export_dataset(str(migrated), str(tmp_path / "dataset"),
                   ExportOptions(chip_size=CHIP, block_size_m=1000.0, fractions=(0.8, 0.0, 0.2), geoparquet=False))
    with pytest.raises(LabelMigrationError, match="no validation chips"):
        runner.train_segmentation(str(tmp_path / "dataset"), str(tmp_path / "m.onnx"))


@needs_torch
@pytest.mark.slow
def test_the_same_dataset_and_seed_give_the_same_model(trained, dataset, tmp_path):
    """The help promises it: a second run with the same options writes a byte-identical model."""
    result, _events = trained
    again = runner.train_segmentation(str(dataset), str(tmp_path / "again.onnx"), options=FAST, python=sys.executable)
    with open(result.model, "rb") as first, open(again.model, "rb") as second:
        assert first.read() == second.read()
    assert again.summary["history"] == result.summary["history"]
