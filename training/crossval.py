"""The labelled real data, its grouped folds, and cross-validated figures for the cloud/shadow model.

Every reported figure comes from a fold that did not train on the scene it scores: each L8 Biome
patch is its own Landsat scene and each On Cloud N chip its own Sentinel-2 acquisition, so folds
split by scene. Biome patches are dealt to the folds biome by biome (each fold holds out a mix of
biomes); the five On Cloud N chips go to folds 0 to 4. eo-learn's unlabelled frames (teacher labels
only) and the synthetic scenes always train and are never scored. Nothing is chosen on held-out
data: the schedule is fixed and the classes are the argmax.
"""
import json
import time
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from . import datasets
from .train import TrainConfig, bright_clear_pixels, predict, score, train
from .metrics import Counts
from .composites import make_composites, parts
from .scene import COMPOSITE, CLOUD, IGNORE, NOT_CLOUD, Scene, made_up
from .synthetic import EOLEARN_BANDS, SceneGenerator, SyntheticConfig
from .teacher import soft_labels

# the teacher model per source: top-of-atmosphere (L1C) or surface reflectance (L2A); the synthetic scenes
# are either (training/synthetic.py), the L1C model is the one that knows path radiance
LEVEL = {"l8biome": "l1c", "oncloudn": "l2a", "eolearn": "l1c", "synthetic": "l1c"}
UNLABELLED = "extra-unlabelled-"  # + level: the source of --extra unlabelled:<folder> scenes (training.cloud)


def teacher_level(source: str) -> Optional[str]:
    """Which teacher model labels a source's scenes (LEVEL; an unlabelled source names its level); None: none."""
    for prefix in (UNLABELLED, COMPOSITE):
        if source.startswith(prefix):
            return source[len(prefix):]
    return LEVEL.get(source)


def composite_scenes(scenes: Sequence[Scene], count: int, size: int, seed: int) -> List[Scene]:
    """training/composites.py's composites of the real scenes that a teacher labels, per teacher level."""
    levels = {s.source: teacher_level(s.source) for s in scenes if not made_up(s.source) and teacher_level(s.source)}
    return make_composites(scenes, levels, count, size, seed)


def real_scenes(data: Path, bands: Sequence[str]) -> List[Scene]:
    """L8 Biome patches, On Cloud N chips (cloud / not cloud; only where they have all ``bands``) and eo-learn's
    frames (unlabelled)."""
    scenes = [datasets.select_bands(s, bands) for s in datasets.read_l8biome(data / "l8biome" / "l8biome_lkpeng.npz")]
    chips = datasets.read_oncloudn(data / "oncloudn" / "oncloudn_5chips.npz")
    scenes += [datasets.as_cloud_or_not(datasets.select_bands(s, bands)) for s in chips
               if set(bands) <= set(s.bands)]  # the chips have no SWIR: a 6-band model trains without them
    frames = data / "eolearn_s2" / "REFERENCE_SCENES.npy"
    if frames.exists():
        columns = [EOLEARN_BANDS.index(name) for name in bands]
        for index, frame in enumerate(np.load(frames)):
            image = np.ascontiguousarray(np.moveaxis(frame[..., columns], -1, 0), np.float32)
            scenes.append(Scene(name=f"eolearn_frame{index}", image=image,
                                label=np.full(image.shape[1:], IGNORE, np.uint8), bands=list(bands),
                                group="eolearn", source="eolearn"))
    return scenes


def synthetic_scenes(bands: Sequence[str], count: int, seed: int, reference: Optional[np.ndarray]) -> List[Scene]:
    """The generator's scenes; their label says cloud or not (their shadows are not labelled)."""
    generator = SceneGenerator(SyntheticConfig(size=256, bands=tuple(bands)), reference)
    scenes = []
    for scene in generator.scenes(seed, count):
        label = np.where(scene.label == CLOUD, CLOUD, NOT_CLOUD).astype(np.uint8)
        scenes.append(Scene(scene.name, scene.image, label, scene.bands, source="synthetic"))
    return scenes


def add_teacher_labels(scenes: Sequence[Scene], cache_file: Optional[Path], log: Callable[[str], None]) -> None:
    """Each real scene's ``soft`` from ukis-csmask (cached in ``cache_file``, keyed by scene and bands)."""
    cached = {}
    if cache_file and cache_file.exists():
        with np.load(cache_file) as archive:
            cached = {key: archive[key] for key in archive.files}
    todo = [s for s in scenes if teacher_level(s.source) and _key(s) not in cached]
    if todo:
        started = time.perf_counter()
        for scene, soft in zip(todo, soft_labels([(s.image, s.bands, teacher_level(s.source)) for s in todo], {})):
            cached[_key(scene)] = soft
        log(f"teacher labels for {len(todo)} scenes in {time.perf_counter() - started:.0f} s")
        if cache_file:
            np.savez_compressed(cache_file, **cached)
    for scene in scenes:
        if _key(scene) in cached:
            scene.soft = cached[_key(scene)].astype(np.float32)


def _key(scene: Scene) -> str:
    # the pixels' checksum too: composites and synthetic scenes of another seed or count reuse names
    return f"{scene.source}.{scene.name}.{'-'.join(scene.bands)}.{zlib.crc32(scene.image.tobytes()):08x}"


def assign_folds(scenes: Sequence[Scene], folds: int) -> Dict[str, int]:
    """Scene name -> fold for every scored scene (Biome by biome, then the On Cloud N chips)."""
    biome = sorted((s.name for s in scenes if s.source == "l8biome"), key=lambda n: (datasets.biome_of(n), n))
    assignment = {name: index % folds for index, name in enumerate(biome)}
    chips = sorted(s.name for s in scenes if s.source == "oncloudn")
    assignment.update({name: index % folds for index, name in enumerate(chips)})
    return assignment


def cross_validate(scenes: Sequence[Scene], config: TrainConfig, folds: int, out: Path,
                   log: Callable[[str], None]) -> dict:
    """Train one model per fold on the other folds; score each held-out scene with its fold's model."""
    assignment = assign_folds(scenes, folds)
    per_scene = {}
    for fold in range(folds):
        held_out = [s for s in scenes if assignment.get(s.name) == fold]
        training = [s for s in scenes if all(assignment.get(part) != fold for part in parts(s))]
        log(f"fold {fold}: training on {len(training)} scenes, holding out {', '.join(s.name for s in held_out)}")
        trained = train(config, training, log=log)
        for scene in held_out:
            classes = predict(trained.model, scene.image, trained.mean, trained.std).argmax(axis=0)
            per_scene[scene.name] = {"source": scene.source, "fold": fold, "counts": score(classes, scene.label),
                                     "bright_clear": bright_clear_calls(classes, scene)}
            if scene.soft is not None:  # the teacher never trained on these scenes either
                teacher = scene.soft.argmax(axis=0)
                per_scene[scene.name]["teacher"] = score(teacher, scene.label)
                per_scene[scene.name]["teacher_bright_clear"] = bright_clear_calls(teacher, scene)
            np.save(out / f"cv_{scene.name}.npy", classes.astype(np.uint8))
    report = summarise(per_scene)
    (out / "crossval.json").write_text(json.dumps(report, indent=1))
    return report


def bright_clear_calls(classes: np.ndarray, scene: Scene) -> List[int]:
    """[pixels called cloud, pixels] over the scene's bright clear ground (labelled clear or not cloud, mean visible
    reflectance above train.BRIGHT: snow, sand, roofs), where a cloud model over-predicts."""
    bright = bright_clear_pixels(scene)
    return [int((classes[bright] == CLOUD).sum()), int(bright.sum())]


def summarise(per_scene: Dict[str, dict]) -> dict:
    """Pooled figures per source, per biome and per scene, for the model and for the teacher."""
    def pooled(names, who="counts", what="cloud"):
        total = Counts()
        for name in names:
            if who in per_scene[name]:
                total += per_scene[name][who][what]
        return total.scores() | {"pixels": total.tp + total.fp + total.fn + total.tn}

    def called(names, key):
        counts = np.sum([per_scene[name][key] for name in names if key in per_scene[name]] or [[0, 0]], axis=0)
        return {"share": float(counts[0] / counts[1]) if counts[1] else None, "pixels": int(counts[1])}

    report = {"sources": {}, "biomes": {}, "scenes": {}}
    sources = sorted({v["source"] for v in per_scene.values()})
    for source in sources:
        names = [n for n, v in per_scene.items() if v["source"] == source]
        report["sources"][source] = {"cloud": pooled(names), "shadow": pooled(names, what="shadow"),
                                     "teacher_cloud": pooled(names, "teacher"),
                                     "teacher_shadow": pooled(names, "teacher", "shadow"),
                                     "bright_clear_called_cloud": called(names, "bright_clear"),
                                     "teacher_bright_clear_called_cloud": called(names, "teacher_bright_clear")}
    biome_names = [n for n, v in per_scene.items() if v["source"] == "l8biome"]
    for biome in sorted({datasets.biome_of(n) for n in biome_names}):
        names = [n for n in biome_names if datasets.biome_of(n) == biome]
        report["biomes"][biome] = {"scenes": len(names), "cloud": pooled(names), "shadow": pooled(names, what="shadow"),
                                   "teacher_cloud": pooled(names, "teacher")}
    for name, value in per_scene.items():
        report["scenes"][name] = {"source": value["source"], "fold": value["fold"],
                                  "cloud": value["counts"]["cloud"].scores(),
                                  "teacher_cloud": value["teacher"]["cloud"].scores() if "teacher" in value else None}
    return report
