"""Training of the clear / cloud / shadow model on real labelled imagery, with a teacher.

Sources (Scene.source) are drawn in fixed shares per batch, whatever their pixel counts, so the 5
On Cloud N chips weigh as much as they should beside 36 Biome patches. A patch is cut at a random
zoom (the model meets 10 m and 30 m pixels), turned, flipped, moved between top-of-atmosphere and
surface reflectance (path radiance added or taken away), and sometimes gets pasted clouds
(training/paste.py). The loss is cross-entropy on the human labels (a label "not cloud" scores the
clear and shadow probabilities together), a soft Dice on cloud, and the KL divergence to the
teacher's probabilities where a teacher spoke (training/teacher.py). The schedule is fixed: no
checkpoint is chosen by looking at held-out data, so a held-out fold's figures are honest.
"""
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from .metrics import Counts
from .model import CloudUNet, SpectralShape
from .paste import paste_clouds
from .repaint import repaint_bright
from .scene import CLASS_NAMES, CLOUD, IGNORE, NOT_CLOUD, SHADOW, Scene, made_up
from .synthetic import SceneGenerator, SyntheticConfig

CLASSES = len(CLASS_NAMES)
# path radiance of top-of-atmosphere reflectance per band (training/synthetic.py's), for level changes
PATH_RADIANCE = {"blue": 0.06, "green": 0.04, "red": 0.025, "nir": 0.01, "swir16": 0.003, "swir22": 0.001}
TOA_SOURCES = ("l8biome", "eolearn")


@dataclass
class TrainConfig:
    bands: Tuple[str, ...] = ("blue", "green", "red", "nir")
    widths: Tuple[int, ...] = (8, 16, 32, 64, 128)
    patch: int = 160
    batch: int = 16
    epochs: int = 12
    steps_per_epoch: int = 60
    learning_rate: float = 4e-3
    weight_decay: float = 1e-4
    dice_weight: float = 0.5
    distill_weight: float = 1.0
    shadow_weight: float = 3.0  # cross-entropy weight of shadow pixels (2 % of Biome's)
    bright_weight: float = 4.0  # scenes with bright clear ground (snow, sand, roofs) are drawn up to 5x as often
    paste_probability: float = 0.3
    repaint_probability: float = 0.0  # cloud-free real patches repainted as snow, ice or sand (repaint.py)
    zoom: Tuple[float, float] = (0.6, 1.7)
    source_shares: Dict[str, float] = field(default_factory=lambda: {
        "l8biome": 0.45, "oncloudn": 0.3, "eolearn": 0.1, "synthetic": 0.15})
    seed: int = 42
    threads: int = 0


def _pixel_sample(scenes: Sequence[Scene], step: int) -> np.ndarray:
    """(bands, pixels): every ``step``-th pixel of every scene (NaN kept)."""
    return np.concatenate([s.image.reshape(s.image.shape[0], -1)[:, ::step] for s in scenes], axis=1)


def band_statistics(scenes: Sequence[Scene]) -> Tuple[List[float], List[float]]:
    """Per-band mean and standard deviation of the training pixels (NaN ignored)."""
    sample = _pixel_sample(scenes, 5)
    return [float(v) for v in np.nanmean(sample, axis=1)], [float(v) for v in np.nanstd(sample, axis=1) + 1e-6]


def band_range(scenes: Sequence[Scene]) -> List[List[float]]:
    """Per band [min, max] of the training pixels (NaN ignored): the metadata's input_range."""
    sample = _pixel_sample(scenes, 7)
    return [[float(low), float(high)] for low, high in zip(np.nanmin(sample, axis=1), np.nanmax(sample, axis=1))]


class MixedSampler:
    def __init__(self, scenes: Sequence[Scene], config: TrainConfig, mean, std, rng: np.random.Generator):
        self.config, self.rng = config, rng
        self.by_source: Dict[str, List[Scene]] = {}
        for scene in scenes:
            self.by_source.setdefault(scene.source or "other", []).append(scene)
        shares = {name: config.source_shares.get(name, 0.1) for name in self.by_source}
        total = sum(shares.values())
        self.sources = list(shares)
        self.source_p = np.array([shares[name] / total for name in self.sources])
        self.mean = np.asarray(mean, np.float32)[:, None, None]
        self.std = np.asarray(std, np.float32)[:, None, None]
        self.generator = SceneGenerator(SyntheticConfig(bands=tuple(config.bands)))
        self.scene_weights = {}
        for source, members in self.by_source.items():
            weights = np.array([s.label.size * (1.0 + config.bright_weight * bright_clear_fraction(s))
                                for s in members])
            self.scene_weights[source] = weights / weights.sum()
        self.offsets = np.array([PATH_RADIANCE.get(name, 0.0) for name in config.bands], np.float32)[:, None, None]

    def batch(self, count: int):
        images, labels, softs, known = [], [], [], []
        for _ in range(count):
            source = self.sources[self.rng.choice(len(self.sources), p=self.source_p)]
            scenes = self.by_source[source]
            weights = self.scene_weights[source]
            scene = scenes[self.rng.choice(len(scenes), p=weights)]
            image, label, soft = self._patch(scene)
            images.append(image)
            labels.append(label)
            softs.append(soft if soft is not None else np.zeros((CLASSES,) + label.shape, np.float32))
            known.append(soft is not None)
        return (torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(labels)),
                torch.from_numpy(np.stack(softs)), torch.tensor(known))

    def _patch(self, scene: Scene):
        p, rng = self.config.patch, self.rng
        low, high = self.config.zoom
        zoom = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        crop = max(8, int(round(p / zoom)))
        rows, cols = scene.label.shape
        y = int(rng.integers(0, max(1, rows - crop + 1)))
        x = int(rng.integers(0, max(1, cols - crop + 1)))
        image = np.full((scene.image.shape[0], crop, crop), np.nan, np.float32)
        label = np.full((crop, crop), IGNORE, np.uint8)
        h, w = min(crop, rows - y), min(crop, cols - x)
        image[:, :h, :w] = scene.image[:, y:y + h, x:x + w]
        label[:h, :w] = scene.label[y:y + h, x:x + w]
        soft = None
        if scene.soft is not None:
            soft = np.zeros((CLASSES, crop, crop), np.float32)
            soft[:, :h, :w] = scene.soft[:, y:y + h, x:x + w]
        image = self._level(image, scene.source)
        if self.config.repaint_probability and not made_up(scene.source) and \
                rng.uniform() < self.config.repaint_probability:
            offsets = self.offsets if top_of_atmosphere(scene.source) else None
            image, repainted = repaint_bright(image, label, scene.bands, rng, self.generator, offsets)
            soft = None if repainted else soft  # the teacher saw the ground as it was
        if rng.uniform() < self.config.paste_probability and h == crop and w == crop:
            image, label = paste_clouds(image, label, scene.bands, rng, self.generator)
            soft = None  # the teacher saw the image without the pasted clouds
        image, label, soft = resize_patch(image, label, soft, p)
        k = int(rng.integers(4))
        image, label = np.rot90(image, k, axes=(1, 2)), np.rot90(label, k)
        soft = None if soft is None else np.rot90(soft, k, axes=(1, 2))
        if rng.uniform() < 0.5:
            image, label = image[:, :, ::-1], label[:, ::-1]
            soft = None if soft is None else soft[:, :, ::-1]
        # one gain for all bands (illumination, calibration); per band at most 1 %: the shape of the spectrum
        # is what tells bright ground from cloud (training/model.py SpectralShape)
        gain = rng.uniform(0.85, 1.15) * rng.uniform(0.99, 1.01, (image.shape[0], 1, 1))
        image = image * gain.astype(np.float32) + rng.normal(0, 0.005, image.shape).astype(np.float32)
        nodata = np.isnan(image).any(axis=0)
        image = np.nan_to_num((image - self.mean) / self.std, nan=0.0)
        label = label.copy()
        label[nodata] = IGNORE
        soft = None if soft is None else np.ascontiguousarray(soft, np.float32)
        return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(label), soft

    def _level(self, image: np.ndarray, source: str) -> np.ndarray:
        """Top-of-atmosphere scenes sometimes lose their path radiance, surface scenes sometimes gain it."""
        strength = self.rng.uniform(0.3, 1.0)
        if top_of_atmosphere(source) and self.rng.uniform() < 0.3:
            return np.maximum(image - strength * self.offsets, 0.0)
        if not top_of_atmosphere(source) and self.rng.uniform() < 0.4:
            return image + strength * self.offsets
        return image


def top_of_atmosphere(source: str) -> bool:
    """Whether a source's scenes are top-of-atmosphere reflectance (an unlabelled source says so by its level)."""
    return source in TOA_SOURCES or source.endswith("-l1c")


BRIGHT = 0.2  # mean visible reflectance above which clear ground is as bright as thin cloud


def bright_clear_pixels(scene: Scene) -> np.ndarray:
    """Where a scene is labelled clear (or not cloud) and bright in the visible: snow, ice, sand, salt, roofs: the
    ground a cloud model most often calls cloud."""
    visible = [scene.bands.index(name) for name in ("blue", "green", "red") if name in scene.bands]
    if not visible:
        return np.zeros(scene.label.shape, bool)
    brightness = np.nanmean(scene.image[visible], axis=0)
    clear = (scene.label == 0) | (scene.label == NOT_CLOUD)
    return clear & (brightness > BRIGHT)


def bright_clear_fraction(scene: Scene) -> float:
    """The share of a scene's pixels that are bright clear ground (bright_clear_pixels)."""
    return float(np.mean(bright_clear_pixels(scene)))


def resize_patch(image: np.ndarray, label: np.ndarray, soft: Optional[np.ndarray], size: int):
    if label.shape[0] == size:
        return image, label, soft
    valid = ~np.isnan(image).any(axis=0)
    t = torch.from_numpy(np.nan_to_num(image))[None]
    image_out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0].numpy()
    nearest = lambda a: F.interpolate(torch.from_numpy(a)[None, None].float(), size=(size, size),  # noqa: E731
                                      mode="nearest")[0, 0].numpy()
    label_out = nearest(label).astype(np.uint8)
    image_out[:, nearest(valid.astype(np.uint8)) < 0.5] = np.nan
    if soft is not None:
        soft = F.interpolate(torch.from_numpy(soft)[None], size=(size, size), mode="bilinear",
                             align_corners=False)[0].numpy()
    return image_out, label_out, soft


def loss_function(logits: torch.Tensor, labels: torch.Tensor, soft: torch.Tensor, soft_known: torch.Tensor,
                  config: TrainConfig) -> torch.Tensor:
    log_p = F.log_softmax(logits, dim=1)
    labels = labels.long()
    known = labels != IGNORE
    single = -log_p.gather(1, labels.clamp(max=CLASSES - 1)[:, None])[:, 0]
    either = -torch.logsumexp(torch.stack([log_p[:, 0], log_p[:, SHADOW]]), dim=0)
    per_pixel = torch.where(labels == NOT_CLOUD, either, single)
    weight = known.float() * torch.where(labels == SHADOW, config.shadow_weight, 1.0)
    ce = (per_pixel * weight).sum() / known.float().sum().clamp(min=1)
    cloud = torch.exp(log_p[:, CLOUD]) * known
    target = (labels == CLOUD).float()
    dice = 1 - (2 * (cloud * target).sum() + 1) / (cloud.sum() + target.sum() + 1)
    loss = ce + config.dice_weight * dice
    if bool(soft_known.any()):
        teacher = soft[soft_known].clamp(min=1e-6)
        kl = (teacher * (teacher.log() - log_p[soft_known])).sum(dim=1).mean()
        loss = loss + config.distill_weight * kl
    return loss


def predict(model: CloudUNet, image: np.ndarray, mean, std) -> np.ndarray:
    """Class probabilities (3, rows, cols) of a whole reflectance image."""
    m = np.asarray(mean, np.float32)[:, None, None]
    s = np.asarray(std, np.float32)[:, None, None]
    x = np.nan_to_num((image - m) / s, nan=0.0).astype(np.float32)
    model.eval()
    model.probabilities = True
    with torch.no_grad():
        return model(torch.from_numpy(x)[None])[0].numpy()


def score(predicted_classes: np.ndarray, label: np.ndarray) -> Dict[str, Counts]:
    """Cloud counts (every labelled pixel) and shadow counts (only where the label tells shadow apart)."""
    cloud_truth = np.where(label == IGNORE, IGNORE, label == CLOUD).astype(np.uint8)
    shadow_known = (label != IGNORE) & (label != NOT_CLOUD)
    shadow_truth = np.where(shadow_known, label == SHADOW, IGNORE).astype(np.uint8)
    return {"cloud": Counts().add(predicted_classes == CLOUD, cloud_truth),
            "shadow": Counts().add(predicted_classes == SHADOW, shadow_truth)}


@dataclass
class TrainedModel:
    model: CloudUNet
    mean: List[float]
    std: List[float]
    config: dict
    seconds: float


def train(config: TrainConfig, scenes: Sequence[Scene], log: Callable[[str], None] = print) -> TrainedModel:
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    mean, std = band_statistics([s for s in scenes if not made_up(s.source)] or scenes)
    sampler = MixedSampler(scenes, config, mean, std, rng)
    model = CloudUNet(len(config.bands), CLASSES, config.widths, SpectralShape(config.bands, mean, std))
    model.probabilities = False
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate,
                                                   total_steps=config.epochs * config.steps_per_epoch, pct_start=0.15)
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        model.probabilities = False
        losses = []
        for _ in range(config.steps_per_epoch):
            images, labels, soft, known = sampler.batch(config.batch)
            loss = loss_function(model(images), labels, soft, known, config)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        log(f"epoch {epoch}/{config.epochs}: loss {np.mean(losses):.4f}, {time.perf_counter() - started:.0f} s")
    model.eval()
    model.probabilities = True
    return TrainedModel(model, mean, std, asdict(config), time.perf_counter() - started)


def save(trained: TrainedModel, path: Path) -> None:
    torch.save({"state": {k: v.detach().clone() for k, v in trained.model.state_dict().items()},
                "config": trained.config, "mean": trained.mean, "std": trained.std}, path)
