"""Bad-input table: trainsegmentation (processing/train_segmentation.py, core/segmentation_training).

Each case starts from a private copy of a valid dataset (the tiny three-class dataset that
tests/unit/test_segmentation_training.py exports with exportdataset's core) and breaks one thing.

Where the expected answers come from:
* the dataset layout exportdataset writes (core/dataset/stac_catalog.py: catalog.json with the id
  'labelmigration-dataset', collection.json with labelmigration:classes, one item per chip with
  labelmigration:split) and what training needs of it (core/segmentation_training/dataset.py's doc: two
  classes or more, train chips to train on and validation chips to pick the epoch kept);
* the parameter definitions (EPOCHS 1..10000, LEARNING_RATE 1e-6..1, PATCH_SIZE 0 or 16..8192; the model
  an .onnx file, its card a separate file);
* the engine's rule that no run leaves anything behind: every refusal comes before a file is written, and a
  training process that cannot start or lacks PyTorch leaves neither the model nor its card.
Each message names the file or the parameter and says what to do.
"""
import atexit
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from labelmigration.tests.support.bad_inputs import Case, ids

pytestmark = pytest.mark.qgis

UNWRITABLE = "/proc/labelmigration-test/model.onnx"  # /proc takes no new files, not even from root
_VALID = []  # the valid dataset, exported once per process


def _valid_dataset() -> Path:
    if not _VALID:
        from labelmigration.tests.unit.test_segmentation_training import make_dataset

        folder = Path(tempfile.mkdtemp(prefix="labelmigration-bad-training-"))
        atexit.register(shutil.rmtree, folder, True)
        _VALID.append(make_dataset(folder))
    return _VALID[0]


def _dataset(ws, change=None) -> str:
    """A private copy of the valid dataset in the case's folder, changed by change(folder)."""
    target = ws.path("dataset")
    shutil.copytree(_valid_dataset(), target)
    if change:
        change(target)
    return str(target)


def _edit_json(path: Path, edit) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def _classes(keep):
    def change(folder):
        def edit(collection):
            key = "labelmigration:classes"
            collection[key] = [entry for entry in collection[key] if keep(entry)]
        _edit_json(folder / "collection.json", edit)
    return change


def _splits(rename):
    """Every item's split renamed by rename (a dict), e.g. every train chip made a test chip."""
    def change(folder):
        for item in (folder / "items").glob("*.json"):
            _edit_json(item, lambda document: document["properties"].update(
                {"labelmigration:split": rename.get(document["properties"]["labelmigration:split"],
                                                    document["properties"]["labelmigration:split"])}))
    return change


def _remove_first_train_image(folder):
    for item in sorted((folder / "items").glob("*.json")):
        document = json.loads(item.read_text(encoding="utf-8"))
        if document["properties"]["labelmigration:split"] == "train":
            (item.parent / document["assets"]["image"]["href"]).resolve().unlink()
            return
    raise AssertionError("the valid dataset has no train chip")


def _params(ws, dataset=None, **changes):
    parameters = {"DATASET": dataset or _dataset(ws), "EPOCHS": 1, "BATCH_SIZE": 4, "LEARNING_RATE": 0.01,
                  "PATCH_SIZE": 0, "SEED": 1, "OUTPUT_MODEL": ws.out("model.onnx")}
    parameters.update(changes)
    return parameters


def _a_file(ws, name="notes.txt"):
    return ws.write(name, "not a dataset\n")


def _python_without_torch():
    from labelmigration.tests.unit.test_segmentation_training import python_without_torch

    return python_without_torch()


CASES = [
    Case("dataset-folder-missing", "trainsegmentation", lambda ws: _params(ws, str(ws.path("no_such_dataset"))),
         message=r"The dataset folder '.*no_such_dataset' does not exist: give the folder exportdataset wrote",
         cli=True),
    Case("dataset-is-a-file", "trainsegmentation", lambda ws: _params(ws, _a_file(ws)),
         message=r"The dataset '.*notes\.txt' is a file, not a folder: give the folder exportdataset wrote"),
    Case("folder-is-no-dataset", "trainsegmentation",
         lambda ws: _params(ws, str(Path(_a_file(ws, "empty/readme.txt")).parent)),
         message=r"'.*empty' is no exported dataset: 'catalog\.json' is missing \(run exportdataset first\)",
         cli=True),
    Case("catalog-of-another-catalogue", "trainsegmentation", lambda ws: _params(ws, _dataset(
        ws, lambda folder: _edit_json(folder / "catalog.json", lambda c: c.update(id="sentinel-2-l2a")))),
        message=r"is no dataset exportdataset wrote \(its catalog\.json has the id 'sentinel-2-l2a', not "
                r"'labelmigration-dataset'\)"),
    Case("catalog-not-json", "trainsegmentation", lambda ws: _params(ws, _dataset(
        ws, lambda folder: (folder / "catalog.json").write_text("<html>not json</html>"))),
        message=r"Cannot read '.*dataset/catalog\.json': Expecting value"),
    Case("collection-missing", "trainsegmentation", lambda ws: _params(ws, _dataset(
        ws, lambda folder: (folder / "collection.json").unlink())),
        message=r"'.*dataset' is no exported dataset: 'collection\.json' is missing \(run exportdataset first\)"),
    Case("no-classes", "trainsegmentation", lambda ws: _params(ws, _dataset(ws, _classes(lambda entry: False))),
         message=r"The dataset '.*dataset' lists no classes \(collection\.json labelmigration:classes\)"),
    Case("one-class", "trainsegmentation", lambda ws: _params(ws, _dataset(
        ws, _classes(lambda entry: entry["value"] == 1))),
        message=r"has one class \(water\); a segmentation model needs labels with two classes or more"),
    Case("no-train-split", "trainsegmentation", lambda ws: _params(ws, _dataset(ws, _splits({"train": "test"}))),
         message=r"has no train chips: export it again with a train share above 0"),
    Case("no-validation-split", "trainsegmentation", lambda ws: _params(ws, _dataset(
        ws, _splits({"validation": "train"}))),
        message=r"has no validation chips: export it again with a validation share above 0"),
    Case("train-image-chip-missing", "trainsegmentation", lambda ws: _params(ws, _dataset(
        ws, _remove_first_train_image)), message=r"The image chip '.*dataset/images/.*\.tif' does not exist"),
    Case("epochs-0", "trainsegmentation", lambda ws: _params(ws, EPOCHS=0),
         message=r"Epochs \(EPOCHS\): 0 is below the minimum of 1", cli=True),
    Case("learning-rate-0", "trainsegmentation", lambda ws: _params(ws, LEARNING_RATE=0.0),
         message=r"Learning rate \(LEARNING_RATE\): 0(\.0)? is below the minimum of 1e-06"),
    Case("patch-size-8", "trainsegmentation", lambda ws: _params(ws, PATCH_SIZE=8),
         message=r"The patch size \(PATCH_SIZE\) must be 0 \(whole chips\) or at least 16 px \(not 8\)"),
    Case("model-in-unwritable-folder", "trainsegmentation", lambda ws: _params(ws, OUTPUT_MODEL=UNWRITABLE),
         message=r"Cannot write the model '/proc/labelmigration-test/model\.onnx': the folder '/proc' is not "
                 r"writable", cli=True),
    Case("model-below-a-file", "trainsegmentation", lambda ws: _params(ws, OUTPUT_MODEL=_a_file(ws) + "/m.onnx"),
         message=r"The output OUTPUT_MODEL .* cannot be written: '.*notes\.txt' is a file, not a folder"),
    Case("model-not-onnx", "trainsegmentation", lambda ws: _params(ws, OUTPUT_MODEL=ws.out("model.tif")),
         message=r"The model file '.*model\.tif' must end in \.onnx"),
    Case("card-onto-model", "trainsegmentation", lambda ws: _params(ws, OUTPUT_CARD=ws.out("model.onnx")),
         message=r"The outputs OUTPUT_MODEL and OUTPUT_CARD are the same file"),
    # was not refused: the model card replaced the dataset's catalog.json
    Case("card-onto-dataset-catalog", "trainsegmentation", lambda ws: _params(
        ws, (dataset := _dataset(ws)), OUTPUT_CARD=dataset + "/catalog.json"),
        message=r"The model card '.*dataset/catalog\.json' lies inside the dataset folder '.*dataset', whose "
                r"files it could overwrite: write it outside the dataset"),
    Case("model-inside-dataset", "trainsegmentation", lambda ws: _params(
        ws, (dataset := _dataset(ws)), OUTPUT_MODEL=dataset + "/model.onnx"),
        message=r"The model '.*dataset/model\.onnx' lies inside the dataset folder"),
    Case("training-python-missing", "trainsegmentation", lambda ws: _params(ws),
         env={"LABELMIGRATION_TRAINING_PYTHON": "/nonexistent/bin/python3"},
         message=r"Cannot start the training Python '/nonexistent/bin/python3': No such file or directory"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_training_inputs(case, check_bad_input):
    check_bad_input(case)


def test_a_python_without_pytorch_is_told_what_to_install(check_bad_input):
    """Without PyTorch in the training Python the run names what to install, and leaves nothing."""
    python = _python_without_torch()
    if python is None:
        pytest.skip("no Python without PyTorch here (neither this one nor /usr/bin/python3)")
    check_bad_input(Case("python-without-pytorch", "trainsegmentation", lambda ws: _params(ws),
                         env={"LABELMIGRATION_TRAINING_PYTHON": python}, seconds=60,
                         message=r"needs PyTorch \(torch, the CPU-only build\) in the Python that runs the "
                                 r"training .*Install PyTorch and onnx from the menu Label Migration > Python "
                                 r"dependencies.*--extra-index-url https://download\.pytorch\.org/whl/cpu.*"
                                 r"nothing was written"))


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_training_inputs_through_qgis_process(case, check_bad_input_cli):
    check_bad_input_cli(case)


def test_the_table_covers_the_algorithm():
    """As for every other algorithm: at least 10 bad inputs, some of them through qgis_process."""
    assert len(CASES) >= 10 and sum(case.cli for case in CASES) >= 2
    assert len(set(ids(CASES))) == len(CASES)
