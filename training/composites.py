"""Teacher-consistent composites: real scenes cut into each other, labelled by the teacher on what it sees.

Distillation works best when the teacher labels exactly the image the student is shown, over many inputs
(Beyer et al. 2022, "Knowledge distillation: a good teacher is patient and consistent"). The real scenes
here are few (46), and the sampler's pasted clouds and gain changes alter an image after the teacher has
labelled it. A composite is made once, before training: a crop of real scene B laid over a crop of real
scene A of the same level (a random box or a random blob), clouds pasted into some (training/paste.py), one
gain for all bands. Its ``label`` is the human labels of its parts (pasted cloud and shadow as paste.py
labels them) and its ``soft`` is the teacher's on the composite itself (crossval.add_teacher_labels). Its
``source`` is scene.COMPOSITE + the teacher level of its parts (composite-l1c, composite-l2a).

A composite's ``group`` names its parts joined by PARTS: cross-validation trains on a composite only in
folds that hold none of its parts out (parts, used by crossval.cross_validate).
"""
from typing import Dict, List, Sequence

import numpy as np

from .paste import paste_clouds
from .scene import COMPOSITE, IGNORE, Scene
from .synthetic import SceneGenerator, SyntheticConfig, fractal_noise
from .train import resize_patch

PARTS = "+"
PASTE_PROBABILITY = 0.5


def make_composites(scenes: Sequence[Scene], levels: Dict[str, str], count: int, size: int,
                    seed: int) -> List[Scene]:
    """``count`` composites of ``size`` px from ``scenes`` whose source has a teacher level in ``levels``
    (source -> "l1c" / "l2a"); the levels share ``count`` in proportion to their scenes."""
    by_level: Dict[str, List[Scene]] = {}
    for scene in scenes:
        if scene.source in levels:
            by_level.setdefault(levels[scene.source], []).append(scene)
    by_level = {level: members for level, members in by_level.items() if len(members) >= 2}
    if not by_level or count <= 0:
        return []
    rng = np.random.default_rng(seed)
    total = sum(len(members) for members in by_level.values())
    composites = []
    for level, members in sorted(by_level.items()):
        generator = SceneGenerator(SyntheticConfig(bands=tuple(members[0].bands)))
        for index in range(max(1, round(count * len(members) / total))):
            first, second = rng.choice(len(members), 2, replace=False)
            composites.append(composite(members[first], members[second], size, rng, generator,
                                        f"{COMPOSITE}{level}-{index:04d}", f"{COMPOSITE}{level}"))
    return composites


def composite(base: Scene, over: Scene, size: int, rng: np.random.Generator, generator: SceneGenerator,
              name: str, source: str) -> Scene:
    """``over`` laid over ``base`` through a random box or blob, clouds pasted into some, one gain."""
    if list(base.bands) != list(over.bands):
        raise ValueError(f"{base.name} and {over.name} have different bands")
    image_a, label_a = _crop(base, size, rng)
    image_b, label_b = _crop(over, size, rng)
    inside = _region(rng, size)
    image = np.where(inside[None], image_b, image_a).astype(np.float32)
    label = np.where(inside, label_b, label_a).astype(np.uint8)
    if rng.uniform() < PASTE_PROBABILITY and not np.isnan(image).any():
        image, label = paste_clouds(image, label, base.bands, rng, generator)
    image = (image * np.float32(rng.uniform(0.85, 1.15))).astype(np.float32)
    return Scene(name=name, image=image, label=label, bands=list(base.bands), group=PARTS.join((base.name, over.name)),
                 source=source)


def parts(scene: Scene) -> List[str]:
    """The real scenes a scene is made of: a composite's parts, else the scene itself."""
    return scene.group.split(PARTS) if scene.source.startswith(COMPOSITE) else [scene.name]


def _crop(scene: Scene, size: int, rng: np.random.Generator):
    """A random square crop of up to ``size`` px at the scene's own pixel size, resized to ``size``."""
    rows, cols = scene.label.shape
    side = min(rows, cols, size)
    y = int(rng.integers(0, rows - side + 1))
    x = int(rng.integers(0, cols - side + 1))
    image = scene.image[:, y:y + side, x:x + side]
    label = scene.label[y:y + side, x:x + side]
    image, label, _ = resize_patch(np.ascontiguousarray(image), np.ascontiguousarray(label), None, size)
    label = label.copy()
    label[np.isnan(image).any(axis=0)] = IGNORE
    return image, label


def _region(rng: np.random.Generator, size: int) -> np.ndarray:
    """Where the second scene shows: a box (half of the time) or a smooth blob, 15 % to 65 % of the composite."""
    share = rng.uniform(0.15, 0.65)
    if rng.uniform() < 0.5:
        height = int(round(size * rng.uniform(np.sqrt(share), 1.0)))
        width = int(round(min(size, share * size * size / max(height, 1))))
        y, x = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
        inside = np.zeros((size, size), bool)
        inside[y:y + height, x:x + width] = True
        return inside
    field = fractal_noise(rng, size, rng.uniform(3.0, 4.0))
    return field > np.quantile(field, 1.0 - share)
