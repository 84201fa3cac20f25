"""Training of the multi-class U-Net on an exported dataset (runs in the training process: imports PyTorch).

Each epoch draws every train chip once, in an order shuffled by the seed, as a random patch (patch_size; the
whole chip when 0 or larger) turned by a multiple of 90 degrees and maybe flipped. The loss is cross-entropy
weighted per class (core.segmentation_training.dataset.class_weights) over the pixels kept. After each epoch
the model predicts the whole validation chips; the epoch with the best mean IoU (core.models.confusion over the
dataset's classes) is the one kept, and its per-class IoU on the test chips is what the model card reports.
"""
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from ..models.confusion import Evaluation, confusion_matrix, metrics_from_confusion
from ..util.errors import Cancelled
from .dataset import IGNORE, TrainingDataset, band_statistics, class_weights, load_chip
from .network import CloudUNet
from .options import TrainingOptions

Emit = Callable[[Dict[str, object]], None]


@dataclass
class TrainingOutcome:
    model: CloudUNet
    mean: List[float]
    std: List[float]
    weights: List[float]
    best_epoch: int
    validation: Evaluation
    test: Optional[Evaluation]
    history: List[Dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def train(dataset: TrainingDataset, options: TrainingOptions, emit: Emit,
          is_cancelled: Callable[[], bool] = lambda: False) -> TrainingOutcome:
    started = time.monotonic()
    torch.manual_seed(options.seed)
    if options.threads:
        torch.set_num_threads(options.threads)
    rng = np.random.default_rng(options.seed)
    loaded = {split: [load_chip(chip, dataset) for chip in chips] for split, chips in dataset.chips.items()}
    mean, std = band_statistics(loaded["train"])
    weights = class_weights(loaded["train"], dataset.channels)
    emit({"event": "start", "chips": {split: len(chips) for split, chips in loaded.items()},
          "class_weights": weights, "bands": dataset.bands})
    model = CloudUNet(len(dataset.bands), dataset.channels, options.widths)
    model.probabilities = False
    optimiser = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(loaded["train"]) / options.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, options.learning_rate,
                                                   total_steps=max(1, options.epochs * steps_per_epoch))
    loss_weights = torch.tensor(weights, dtype=torch.float32)
    scale = (np.asarray(mean, np.float32)[:, None, None], np.asarray(std, np.float32)[:, None, None])
    best_iou, best_state, best_epoch, best_eval, history = -1.0, None, 0, None, []
    for epoch in range(1, options.epochs + 1):
        model.train()
        order = rng.permutation(len(loaded["train"]))
        losses = []
        for start in range(0, len(order), options.batch_size):
            if is_cancelled():
                raise Cancelled()
            images, targets = _batch([loaded["train"][i] for i in order[start:start + options.batch_size]],
                                     options.patch_size, scale, rng)
            loss = F.cross_entropy(model(images), targets, weight=loss_weights, ignore_index=IGNORE)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss))
        validation = evaluate(model, loaded["validation"], scale, dataset.channels)
        improved = validation.mean_iou > best_iou
        if improved:
            best_iou, best_state, best_epoch, best_eval = validation.mean_iou, copy.deepcopy(model.state_dict()), \
                epoch, validation
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "validation_mean_iou": validation.mean_iou}
        history.append(row)
        emit(dict(row, event="epoch", epochs=options.epochs, best=improved))
    model.load_state_dict(best_state)
    test = evaluate(model, loaded["test"], scale, dataset.channels) if loaded["test"] else None
    return TrainingOutcome(model.eval(), mean, std, weights, best_epoch, best_eval, test, history,
                           time.monotonic() - started)


def _batch(chips: Sequence[Tuple[np.ndarray, np.ndarray]], patch: int, scale, rng):
    images, targets = [], []
    for image, target in chips:
        rows, cols = target.shape
        size = min(patch or rows, rows, cols)
        y, x = rng.integers(0, rows - size + 1), rng.integers(0, cols - size + 1)
        image = (image[:, y:y + size, x:x + size] - scale[0]) / scale[1]
        target = target[y:y + size, x:x + size]
        turns = int(rng.integers(0, 4))
        image, target = np.rot90(image, turns, axes=(1, 2)), np.rot90(target, turns)
        if rng.random() < 0.5:
            image, target = image[:, :, ::-1], target[:, ::-1]
        images.append(np.ascontiguousarray(image))
        targets.append(np.ascontiguousarray(target))
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(targets))


def evaluate(model: CloudUNet, chips: Sequence[Tuple[np.ndarray, np.ndarray]], scale, channels: int) -> Evaluation:
    """The confusion over the kept pixels of whole chips, and its metrics (every output channel a class)."""
    model.eval()
    confusion = np.zeros((channels, channels), dtype=np.int64)
    with torch.no_grad():
        for image, target in chips:
            x = torch.from_numpy(((image - scale[0]) / scale[1])[np.newaxis].astype(np.float32))
            predicted = model(x).argmax(dim=1)[0].numpy()
            kept = target != IGNORE
            confusion += confusion_matrix(target[kept], predicted[kept], channels)
    return metrics_from_confusion(confusion, list(range(channels)), positive=None)
