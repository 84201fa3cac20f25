"""The training loop: patches from scenes, augmentations, BCE + Dice, best checkpoint by validation IoU."""
import csv
import math
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from .metrics import Counts
from .model import CloudUNet
from .scene import IGNORE, Scene

SPLITS = ("train", "validation", "test")


@dataclass
class TrainConfig:
    bands: Tuple[str, ...] = ("blue", "green", "red", "nir")
    widths: Tuple[int, ...] = (8, 16, 32, 64)
    patch: int = 224
    batch: int = 12
    epochs: int = 20
    steps_per_epoch: int = 100
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    dice_weight: float = 1.0
    seed: int = 42
    threads: int = 0  # 0 = torch's default
    selection: str = "validation"  # the split whose IoU picks the checkpoint (or 'real' when given)
    extra: Dict[str, str] = field(default_factory=dict)


def split_of(scene: Scene, fractions: Sequence[float] = (0.7, 0.15, 0.15)) -> str:
    """Split by acquisition (scene.group), stable across runs and machines."""
    position = (zlib.crc32(scene.group.encode()) % 10000) / 10000.0
    edges = np.cumsum(fractions)
    return SPLITS[int(np.searchsorted(edges, position, side="right"))] if position < edges[-1] else SPLITS[-1]


def band_range(scenes: Sequence[Scene]) -> List[List[float]]:
    """Per band [min, max] of the training pixels (NaN ignored), sampled as band_statistics samples them."""
    sample = np.concatenate([s.image.reshape(s.image.shape[0], -1)[:, ::7] for s in scenes], axis=1)
    return [[float(low), float(high)] for low, high in zip(np.nanmin(sample, axis=1), np.nanmax(sample, axis=1))]


def band_statistics(scenes: Sequence[Scene]) -> Tuple[List[float], List[float]]:
    """Per-band mean and standard deviation of the training pixels (NaN ignored)."""
    sample = np.concatenate([s.image.reshape(s.image.shape[0], -1)[:, ::7] for s in scenes], axis=1)
    return [float(v) for v in np.nanmean(sample, axis=1)], [float(v) for v in np.nanstd(sample, axis=1) + 1e-6]


class PatchSampler:
    """Random patches with flips, rotations and brightness changes; nodata becomes 0 after standardising."""

    def __init__(self, scenes: Sequence[Scene], patch: int, mean: Sequence[float], std: Sequence[float],
                 rng: np.random.Generator):
        self.scenes = [s for s in scenes if min(s.label.shape) >= 8]
        if not self.scenes:
            raise ValueError("No training scenes")
        self.patch, self.rng = patch, rng
        self.mean = np.asarray(mean, np.float32)[:, None, None]
        self.std = np.asarray(std, np.float32)[:, None, None]
        sizes = np.array([s.label.size for s in self.scenes], float)
        self.weights = sizes / sizes.sum()

    def batch(self, count: int) -> Tuple[torch.Tensor, torch.Tensor]:
        images, labels = [], []
        for _ in range(count):
            scene = self.scenes[self.rng.choice(len(self.scenes), p=self.weights)]
            image, label = self._crop(scene)
            image, label = self._augment(image, label)
            images.append(image)
            labels.append(label)
        return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(labels))

    def _crop(self, scene: Scene) -> Tuple[np.ndarray, np.ndarray]:
        rows, cols = scene.label.shape
        p = self.patch
        image = np.full((scene.image.shape[0], p, p), np.nan, np.float32)
        label = np.full((p, p), IGNORE, np.uint8)
        y = int(self.rng.integers(0, max(1, rows - p + 1)))
        x = int(self.rng.integers(0, max(1, cols - p + 1)))
        h, w = min(p, rows - y), min(p, cols - x)
        image[:, :h, :w] = scene.image[:, y:y + h, x:x + w]
        label[:h, :w] = scene.label[y:y + h, x:x + w]
        return image, label

    def _augment(self, image: np.ndarray, label: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        k = int(self.rng.integers(4))
        image, label = np.rot90(image, k, axes=(1, 2)), np.rot90(label, k)
        if self.rng.uniform() < 0.5:
            image, label = image[:, :, ::-1], label[:, ::-1]
        gain = self.rng.uniform(0.85, 1.15) * self.rng.uniform(0.97, 1.03, (image.shape[0], 1, 1))
        image = image * gain.astype(np.float32) + self.rng.normal(0, 0.01)
        nodata = np.isnan(image).any(axis=0)
        image = np.nan_to_num((image - self.mean) / self.std, nan=0.0)
        label = label.copy()
        label[nodata] = IGNORE
        return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(label)


def loss_function(logits: torch.Tensor, labels: torch.Tensor, dice_weight: float) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice over the known pixels."""
    known = (labels != IGNORE).float()
    target = (labels == 1).float()
    logits = logits[:, 0]
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * known).sum() / known.sum().clamp(min=1)
    probability = torch.sigmoid(logits) * known
    intersection = (probability * target).sum()
    dice = 1 - (2 * intersection + 1) / (probability.sum() + (target * known).sum() + 1)
    return bce + dice_weight * dice


def device() -> torch.device:
    """A CUDA GPU when PyTorch sees one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def predict(model: CloudUNet, image: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Cloud probability of a whole scene (fully convolutional: any size)."""
    m = np.asarray(mean, np.float32)[:, None, None]
    s = np.asarray(std, np.float32)[:, None, None]
    x = np.nan_to_num((image - m) / s, nan=0.0).astype(np.float32)
    was_training = model.training
    model.eval()
    model.probabilities = True
    with torch.no_grad():
        where = next(model.parameters()).device
        probability = model(torch.from_numpy(x)[None].to(where))[0, 0].cpu().numpy()
    model.train(was_training)
    return probability


def evaluate(model: CloudUNet, scenes: Sequence[Scene], mean, std, threshold: float = 0.5) -> Counts:
    counts = Counts()
    for scene in scenes:
        counts += Counts().add(predict(model, scene.image, mean, std) >= threshold, scene.label)
    return counts


@dataclass
class TrainResult:
    best_epoch: int
    best_iou: float
    checkpoint: Path
    metrics_csv: Path
    mean: List[float]
    std: List[float]
    seconds: float


def train(config: TrainConfig, splits: Dict[str, List[Scene]], out: Path,
          real_validation: Optional[List[Scene]] = None, log: Callable[[str], None] = print) -> TrainResult:
    """Train; after each epoch score every validation set; keep the checkpoint with the best IoU."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    mean, std = band_statistics(splits["train"])
    sampler = PatchSampler(splits["train"], config.patch, mean, std, rng)
    target = device()
    model = CloudUNet(len(config.bands), 1, config.widths).to(target)
    model.probabilities = False
    log(f"training on {target}")
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    total_steps = config.epochs * config.steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=total_steps,
                                                   pct_start=0.1)
    validation_sets = {"validation": splits.get("validation") or []}
    if real_validation:
        validation_sets["real"] = real_validation
    selection = config.selection if validation_sets.get(config.selection) else "validation"
    checkpoint, metrics_csv = out / "best.pt", out / "metrics.csv"
    best_iou, best_epoch, started = -1.0, 0, time.perf_counter()
    with open(metrics_csv, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "loss", "seconds", "set", "accuracy", "precision", "recall", "iou"])
        for epoch in range(1, config.epochs + 1):
            model.train()
            model.probabilities = False
            losses = []
            for _ in range(config.steps_per_epoch):
                images, labels = (t.to(target) for t in sampler.batch(config.batch))
                loss = loss_function(model(images), labels, config.dice_weight)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                losses.append(loss.item())
            elapsed = time.perf_counter() - started
            summary = []
            for name, scenes in validation_sets.items():
                if not scenes:
                    continue
                scores = evaluate(model, scenes, mean, std).scores()
                writer.writerow([epoch, f"{np.mean(losses):.5f}", f"{elapsed:.1f}", name]
                                + [f"{scores[k]:.5f}" for k in ("accuracy", "precision", "recall", "iou")])
                summary.append(f"{name} IoU {scores['iou']:.3f}")
                if name == selection and _better(scores["iou"], best_iou):
                    best_iou, best_epoch = scores["iou"], epoch
                    torch.save({"state": _cpu_state(model), "config": asdict(config), "mean": mean, "std": std,
                                "epoch": epoch, "iou": best_iou}, checkpoint)
            handle.flush()
            log(f"epoch {epoch}/{config.epochs}: loss {np.mean(losses):.4f}, {', '.join(summary)}, "
                f"{elapsed:.0f} s")
    if best_epoch == 0:  # no validation scenes at all: keep the last state
        torch.save({"state": _cpu_state(model), "config": asdict(config), "mean": mean, "std": std,
                    "epoch": config.epochs, "iou": float("nan")}, checkpoint)
        best_epoch = config.epochs
    return TrainResult(best_epoch, best_iou, checkpoint, metrics_csv, mean, std, time.perf_counter() - started)


def _cpu_state(model: CloudUNet) -> dict:
    return {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}


def _better(iou: float, best: float) -> bool:
    return not math.isnan(iou) and iou > best


def load_checkpoint(path: Path) -> Tuple[CloudUNet, dict]:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    config = saved["config"]
    model = CloudUNet(len(config["bands"]), 1, tuple(config["widths"]))
    model.load_state_dict(saved["state"])
    model.eval()
    return model, saved
