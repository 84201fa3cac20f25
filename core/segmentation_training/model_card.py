"""The model card (markdown) written beside a model trainsegmentation trained: its data, classes, figures and
what each figure means. Built from the training summary (plain JSON), no PyTorch."""
import math
from typing import Dict, List


def _figure(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def card_text(summary: Dict[str, object]) -> str:
    classes: List[Dict[str, object]] = summary["classes"]
    test: Dict[str, Dict[str, float]] = summary.get("test") or {}
    options = summary["options"]
    lines = [
        f"# Segmentation model: {', '.join(str(c['name']) for c in classes)}",
        "",
        f"Trained by Label Migration's `trainsegmentation` from the dataset `{summary['dataset']}` (exportdataset): "
        f"{summary['chips']['train']} train, {summary['chips']['validation']} validation and "
        f"{summary['chips']['test']} test chips of {summary['chip_size']} px at {summary['resolution_m']:g} m.",
        "",
        "## Model",
        "",
        f"A U-Net (core/segmentation_training/network.py, encoder widths {list(options['widths'])}) over the bands "
        f"{', '.join(summary['bands'])}; input reflectance = DN x {summary['reflectance_scale']:g} + "
        f"{summary['reflectance_offset']:g}, standardised with the train chips' per-band mean and standard "
        f"deviation. Output: a softmax with one channel per label value 0 to {summary['channels'] - 1}; channel "
        f"*c* is the label value *c*, so the class raster `segment` writes holds the dataset's values.",
        "",
        f"Training: {options['epochs']} epochs, batch size {options['batch_size']}, learning rate "
        f"{options['learning_rate']:g} (one-cycle schedule, AdamW), patch size "
        f"{options['patch_size'] or summary['chip_size']} px, seed {options['seed']}, random turns and flips; "
        f"cross-entropy weighted per class (weight = (mean count / class count)^0.5 over the train pixels, capped "
        f"at 10, so rare classes weigh more; 0 where the train split has no pixel of the class, which the model then "
        f"cannot learn). {summary['seconds']:.0f} s on the CPU.",
        "",
        f"Checkpoint: the epoch with the best mean IoU on the validation split, epoch {summary['best_epoch']} of "
        f"{options['epochs']} (validation mean IoU {_figure(summary['validation_mean_iou'])}).",
        "",
        "## Test figures",
        "",
        "Per class on the dataset's test split, whole chips, over the pixels that have a label and data and are "
        "neither cloud nor cloud shadow in the chip's cloud mask. The test chips were used for nothing else.",
        "",
        "| value | class | colour | loss weight | test pixels | predicted | IoU | precision | recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in classes:
        figures = test.get(str(entry["value"]), {})
        lines.append(f"| {entry['value']} | {entry['name']} | {entry.get('colour') or ''} | "
                     f"{summary['class_weights'][entry['value']]:.2f} | {figures.get('support', '–')} | "
                     f"{figures.get('predicted', '–')} | {_figure(figures.get('iou'))} | "
                     f"{_figure(figures.get('precision'))} | {_figure(figures.get('recall'))} |")
    lines += [
        "",
        f"Mean IoU on the test split: {_figure(summary.get('test_mean_iou'))}; pixel accuracy "
        f"{_figure(summary.get('test_accuracy'))}." if test else "The dataset has no test chips: no test figures.",
        "",
        "What the figures are: *IoU* (intersection over union) = true positives / (true positives + false "
        "positives + false negatives) of the class; *precision* = true positives / pixels predicted as the class; "
        "*recall* = true positives / test pixels of the class; *test pixels* = the class's pixels in the test "
        "truth; *predicted* = pixels the model gave the class. The mean IoU is the mean over the classes present in "
        "the truth or the prediction (core/models/confusion.py). A class with few test pixels has an uncertain "
        "IoU; these figures hold for scenes like the dataset's, not for other regions, seasons or sensors.",
        "",
    ]
    return "\n".join(lines)
