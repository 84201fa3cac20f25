"""make demo's last steps: the migrated folder as a dataset (exportdataset), a small model trained on it
(trainsegmentation, seconds on a CPU) and that model run through segment on a migrated pair."""
from pathlib import Path

TRAINING = {"EPOCHS": 30, "BATCH_SIZE": 4, "LEARNING_RATE": 0.01, "PATCH_SIZE": 0, "SEED": 1}
SEGMENTED_PAIR = "river_20200817"  # a pair with three classes


def export_and_train(output: Path, migrated: Path, run_algorithm) -> None:
    """The migrated pairs as a dataset, a small model trained on it, and that model run through segment
    (run_algorithm: run_demo's, which runs an algorithm by id and explains a failure)."""
    import importlib.util
    import json

    import numpy as np
    from osgeo import gdal

    dataset = output / "dataset"
    result = run_algorithm("labelmigration:exportdataset", {
        "INPUT": str(migrated), "CHIP_SIZE": 24, "OVERLAP": 8, "MAX_CLOUD": 20, "BLOCK_SIZE": 300, "SEED": 1,
        "OUTPUT": str(dataset)})
    print(f"\nDataset {dataset}: {int(result['CHIPS'])} chips of 24 px: {int(result['TRAIN'])} train, "
          f"{int(result['VALIDATION'])} validation, {int(result['TEST'])} test (blocks of 300 m)")
    print(f"  catalogue    {result['CATALOG']}  (STAC, label extension; one item per chip)")
    print(f"  index        {result.get('INDEX') or '(not written: pyarrow missing)'}  (GeoParquet)")
    missing = [name for name in ("torch", "onnx") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"\nNo model trained: {' and '.join(missing)} not installed in this Python (make setup installs "
              f"them; in QGIS: Plugins > Label Migration > Python dependencies…).")
        return
    model = output / "model.onnx"
    trained = run_algorithm("labelmigration:trainsegmentation",
                            dict(TRAINING, DATASET=str(dataset), OUTPUT_MODEL=str(model)))
    image = migrated / "images" / f"{SEGMENTED_PAIR}.tif"
    segmented = output / "segmented.tif"
    run_algorithm("labelmigration:segment", {"INPUT": str(image), "MODEL": str(model), "OUTPUT": str(segmented)})
    truth = gdal.Open(str(migrated / "labels" / f"{SEGMENTED_PAIR}.tif")).ReadAsArray()
    predicted = gdal.Open(str(segmented)).ReadAsArray()
    labelled = truth != 255
    names = json.loads((dataset / "collection.json").read_text())["labelmigration:classes"]
    print(f"\nModel {model}: {TRAINING['EPOCHS']} epochs, epoch {int(trained['BEST_EPOCH'])} kept (validation mean "
          f"IoU {trained['VALIDATION_MEAN_IOU']:.2f}); test mean IoU {trained.get('TEST_MEAN_IOU', float('nan')):.2f}")
    print(f"  model card   {trained['OUTPUT_CARD']}")
    print("  classes      " + ", ".join(f"{c['value']} {c['name']}" for c in names))
    print(f"  segmented    {segmented}: {SEGMENTED_PAIR}, {100 * np.mean(predicted[labelled] == truth[labelled]):.0f}% "
          f"of its labelled pixels agree with the migrated label (a pair the model may have trained on)")
