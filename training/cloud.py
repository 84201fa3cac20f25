"""Train, export and evaluate the cloud model: ``python -m training.cloud --help``.

One command does it all, from scratch and deterministically (``--seed``):
1. scenes: synthetic ones (training/synthetic.py) plus any ``--data`` sources (training/datasets.py),
   split into train/validation/test by acquisition;
2. training with the checkpoint of best validation IoU kept (``--select real`` picks it on the real
   validation chips, ``--real`` On Cloud N by default when ../shared is there);
3. export to ONNX with the plugin's metadata, checked against PyTorch on random input;
4. evaluation of the exported model on every labelled set (per chip for the real ones, and
   ukis-csmask's 4-band L2A model on the same chips when that package is installed), overlays as
   PNG, and a model card. ``--install`` copies model and card into models/.
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from . import datasets
from .evaluate import OnnxCloudModel, overlay_png, score_scenes, ukis_cloud_mask
from .export import export_onnx, model_metadata, parity
from .metrics import Counts
from .scene import Scene
from .synthetic import SceneGenerator, SyntheticConfig, load_reference_spectra
from .train import TrainConfig, band_range, load_checkpoint, split_of, train

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_NAME = "cloud_s2_4band"
MODEL_BANDS = ("blue", "green", "red", "nir")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.cloud", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "training-output" / DEFAULT_NAME, help="output folder")
    p.add_argument("--name", default=DEFAULT_NAME, help="model name (file names in models/)")
    p.add_argument("--data", action="append", default=[], help="extra source spec (see training/datasets.py)")
    p.add_argument("--real", default=_default_real(), help="real labelled validation chips (source spec)")
    p.add_argument("--select", choices=("validation", "real"), default="real",
                   help="the set whose IoU picks the checkpoint (real falls back to validation without --real)")
    p.add_argument("--synthetic-train", type=int, default=400)
    p.add_argument("--synthetic-validation", type=int, default=40)
    p.add_argument("--synthetic-test", type=int, default=40)
    p.add_argument("--size", type=int, default=320, help="synthetic scene size in pixels")
    p.add_argument("--patch", type=int, default=224)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps", type=int, default=100, help="training steps per epoch")
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--widths", default="8,16,32,64", help="channels per encoder level")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--install", action="store_true", help="copy the model and its card into models/")
    return p.parse_args(argv)


def _default_real() -> str:
    chips = SHARED_DATA / "oncloudn" / "oncloudn_5chips.npz"
    return f"oncloudn:{chips}" if chips.exists() else ""


def build_splits(args, log) -> Dict[str, List[Scene]]:
    spectra_path = SHARED_DATA / "eolearn_s2" / "REFERENCE_SCENES.npy"
    reference = load_reference_spectra(str(spectra_path)) if spectra_path.exists() else None
    if reference is None:
        log("eo-learn reference frames not found: synthetic surfaces use the published ranges only")
    generator = SceneGenerator(SyntheticConfig(size=args.size, bands=MODEL_BANDS), reference)
    started = time.perf_counter()
    # disjoint seeds per split: no synthetic scene is shared between them
    splits = {"train": generator.scenes(args.seed, args.synthetic_train),
              "validation": generator.scenes(args.seed + 1, args.synthetic_validation),
              "test": generator.scenes(args.seed + 2, args.synthetic_test)}
    log(f"{sum(map(len, splits.values()))} synthetic scenes in {time.perf_counter() - started:.0f} s")
    if args.data:
        for scene in datasets.load_sources(args.data):
            splits[split_of(scene)].append(datasets.select_bands(scene, MODEL_BANDS))
    return splits


def evaluate_all(model_path: Path, splits, real: List[Scene], out: Path, log) -> dict:
    model = OnnxCloudModel(model_path)
    ours = lambda s: model.probability(datasets.select_bands(s, MODEL_BANDS).image) >= model.threshold  # noqa: E731
    report = {"synthetic_test": _totals(ours, splits["test"])}
    if real:
        report["real"] = _per_chip(ours, real)
        ukis = lambda s: ukis_cloud_mask(datasets.select_bands(s, MODEL_BANDS).image, MODEL_BANDS)  # noqa: E731
        report["ukis_real"] = _per_chip(ukis, real)
        for scene in real:
            overlay_png(out / "overlays" / f"{scene.name}.png", scene.image, scene.bands, ours(scene), scene.label)
    sample = SHARED_DATA / "38cloud_sample"
    if sample.is_dir():
        scenes = [datasets.select_bands(s, MODEL_BANDS) for s in datasets.load_sources([f"38cloud:{sample}"])]
        report["38cloud_sample"] = _per_chip(ours, scenes)
        for scene in scenes:
            overlay_png(out / "overlays" / f"38cloud_{scene.name}.png", scene.image, scene.bands, ours(scene),
                        scene.label, stretch=1.0)
    frames = SHARED_DATA / "eolearn_s2" / "REFERENCE_SCENES.npy"
    if frames.exists():
        data = np.load(frames)
        columns = [1, 2, 3, 7]  # B02 B03 B04 B08 of B01..B12
        fractions = []
        for index, frame in enumerate(data):
            image = np.moveaxis(frame[..., columns], -1, 0).astype(np.float32)
            predicted = model.probability(image) >= model.threshold
            fractions.append(float(predicted.mean()))
            overlay_png(out / "overlays" / f"eolearn_frame{index}.png", image, MODEL_BANDS, predicted)
        report["eolearn_cloud_fraction_per_frame"] = fractions
    log(json.dumps(report, indent=1))
    return report


def _totals(predict, scenes) -> Dict[str, float]:
    counts = Counts()
    for scene in scenes:
        counts += Counts().add(predict(scene), scene.label)
    return counts.scores()


def _per_chip(predict, scenes) -> dict:
    chips = score_scenes(predict, scenes)
    if not chips:
        return {}
    return {"chips": {c.name: dict(c.scores, cloud_fraction=c.cloud_fraction, seconds=c.seconds) for c in chips},
            "all": _totals(predict, scenes)}


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "training.log", "a")

    def log(message: str) -> None:
        print(message, flush=True)
        log_file.write(message + "\n")
        log_file.flush()

    splits = build_splits(args, log)
    real = [datasets.select_bands(s, MODEL_BANDS) for s in datasets.load_sources([args.real])] if args.real else []
    config = TrainConfig(bands=MODEL_BANDS, widths=tuple(int(w) for w in args.widths.split(",")), patch=args.patch,
                         batch=args.batch, epochs=args.epochs, steps_per_epoch=args.steps,
                         learning_rate=args.learning_rate, seed=args.seed, threads=args.threads,
                         selection=args.select)
    log(f"training on {len(splits['train'])} scenes, validation {len(splits['validation'])}, "
        f"test {len(splits['test'])}, real {len(real)}; selection by {args.select}")
    result = train(config, splits, out, real_validation=real, log=log)
    log(f"best epoch {result.best_epoch} (IoU {result.best_iou:.4f}), {result.seconds:.0f} s")
    model, saved = load_checkpoint(result.checkpoint)
    onnx_path = export_onnx(model, out / f"{args.name}.onnx",
                            model_metadata(MODEL_BANDS, saved["mean"], saved["std"],
                                           reflectance_range=band_range(splits["train"])))
    difference = parity(model, onnx_path)
    log(f"ONNX export {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), max |onnxruntime - torch| = "
        f"{difference:.2e}")
    if difference > 1e-4:
        log("ONNX output differs from PyTorch's: not installing")
        return 1
    report = evaluate_all(onnx_path, splits, real, out, log)
    summary = {"best_epoch": result.best_epoch, "selection": args.select, "selection_iou": result.best_iou,
               "training_seconds": result.seconds, "parity": difference,
               "model_bytes": onnx_path.stat().st_size, "config": vars(args) | {"out": str(out)}, "report": report}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    from .model_card import write_model_card

    card = write_model_card(out / f"{args.name}.md", args.name, summary)
    if args.install:
        models = REPO / "models"
        models.mkdir(exist_ok=True)
        shutil.copyfile(onnx_path, models / onnx_path.name)
        shutil.copyfile(card, models / card.name)
        log(f"installed {models / onnx_path.name} and {models / card.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
