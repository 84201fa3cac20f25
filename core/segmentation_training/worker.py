"""The training process: ``python -m <package>.core.segmentation_training.worker <job.json>``.

It prints one JSON object per line on stdout, which core.segmentation_training.runner reads:
``missing`` (PyTorch or onnx cannot be imported: module, error), ``start``, ``epoch`` (epoch, epochs, loss,
validation_mean_iou, best), ``error`` (message) and ``done`` (the summary). It writes the model and the card to
the temporary paths the job names; the parent renames them once ``done`` arrived. Nothing else is written.
"""
import json
import sys


def emit(event) -> None:
    sys.stdout.write(json.dumps(event, allow_nan=True) + "\n")
    sys.stdout.flush()


def main(job_path: str) -> int:
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    for module in ("torch", "onnx"):  # first, before anything slow: the parent says what to install
        try:
            __import__(module)
        except ImportError as error:
            emit({"event": "missing", "module": module, "error": str(error), "python": sys.executable})
            return 3
    from ..util.errors import LabelMigrationError
    try:
        summary = run(job)
    except LabelMigrationError as error:
        emit({"event": "error", "message": str(error)})
        return 2
    emit({"event": "done", "summary": summary})
    return 0


def run(job) -> dict:
    from .dataset import read_dataset
    from .model_card import card_text
    from .onnx_export import model_info, onnx_bytes
    from .options import TrainingOptions
    from .trainer import train

    dataset = read_dataset(job["dataset"])
    options = TrainingOptions(**dict(job["options"], widths=tuple(job["options"]["widths"])))
    outcome = train(dataset, options, emit)
    tile_size = dataset.chip_size
    info = model_info(dataset, outcome.mean, outcome.std, tile_size)
    with open(job["model"], "wb") as handle:
        handle.write(onnx_bytes(outcome.model, info.to_metadata(), tile_size))
    summary = {
        "dataset": dataset.folder, "chips": {split: len(chips) for split, chips in dataset.chips.items()},
        "chip_size": dataset.chip_size, "resolution_m": dataset.resolution_m, "bands": dataset.bands,
        "reflectance_scale": dataset.reflectance_scale, "reflectance_offset": dataset.reflectance_offset,
        "channels": dataset.channels, "options": dict(job["options"]), "class_weights": outcome.weights,
        "classes": [{"value": c.value, "name": c.name, "colour": c.colour} for c in dataset.classes],
        "best_epoch": outcome.best_epoch, "validation_mean_iou": outcome.validation.mean_iou,
        "history": outcome.history, "seconds": outcome.seconds, "warnings": dataset.warnings,
        "test": None, "test_mean_iou": None, "test_accuracy": None,
    }
    if outcome.test is not None:
        summary["test"] = {str(v): {"iou": m.iou, "precision": m.precision, "recall": m.recall,
                                    "support": m.support, "predicted": m.predicted}
                           for v, m in outcome.test.per_class.items()}
        summary["test_mean_iou"], summary["test_accuracy"] = outcome.test.mean_iou, outcome.test.accuracy
    if job.get("card"):
        with open(job["card"], "w", encoding="utf-8") as handle:
            handle.write(card_text(summary))
    return summary


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
