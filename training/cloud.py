"""Train, cross-validate, export and describe the cloud/shadow model: ``python -m training.cloud --help``.

One command does it all, deterministically (``--seed``):
1. data: the real labelled sets under ``--data`` (L8 Biome, On Cloud N, eo-learn's frames; see
   ../shared/data/README.md), teacher probabilities from ukis-csmask on each (training/teacher.py),
   and synthetic scenes (training/synthetic.py); clouds are pasted onto real patches while training;
2. grouped cross-validation (``--folds``, by scene; training/crossval.py): the figures of the model card;
3. the shipped model: the same recipe on all the data;
4. export to ONNX with the plugin's metadata, checked against PyTorch on random input; overlays of
   the cross-validated predictions; the model card. ``--install`` copies model and card into models/.
"""
import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import numpy as np

from . import crossval, datasets
from .train import TrainConfig, band_range, save, train
from .overlay import overlay_png
from .export import export_onnx, model_metadata, parity
from .scene import CLASS_NAMES, CLOUD, COMPOSITE, SHADOW, made_up
from .synthetic import load_reference_spectra

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_NAME = "cloud_s2_4band"
FOUR_BANDS = ("blue", "green", "red", "nir")
SIX_BANDS = FOUR_BANDS + ("swir16", "swir22")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.cloud", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, default=SHARED_DATA,
                   help="folder with l8biome/, oncloudn/ and eolearn_s2/ (the layout of ../shared/data)")
    p.add_argument("--extra", action="append", default=[],
                   help="more data, always trained on, never scored: a source spec of training/datasets.py; labelled "
                        "with binary cloud labels (38cloud:<folder>, pairs:<folder>, oncloudn:<folder>) or unlabelled "
                        "real scenes that only the teacher labels (unlabelled:<folder>[?level=l1c|l2a]); repeatable")
    p.add_argument("--extra-share", type=float, default=0.1,
                   help="share of each batch drawn from each --extra source (the others keep their shares)")
    p.add_argument("--composites", type=int, default=0,
                   help="teacher-consistent composites of the real scenes (training/composites.py); 0: none")
    p.add_argument("--composite-share", type=float, default=0.3,
                   help="share of each batch drawn from the composites (the other sources' shares scaled down)")
    p.add_argument("--bright-repaint", type=float, default=TrainConfig.repaint_probability,
                   help="share of cloud-free real patches repainted with a snow, ice or sand spectrum, their own "
                        "texture kept (training/repaint.py); 0: none")
    p.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay,
                   help="AdamW weight decay (regularisation of the weights)")
    p.add_argument("--out", type=Path, default=REPO / "training-output" / DEFAULT_NAME, help="output folder")
    p.add_argument("--name", default=DEFAULT_NAME, help="model name (file names in models/)")
    p.add_argument("--bands", choices=("4", "6"), default="4",
                   help="4: blue green red nir; 6: plus swir16 swir22 (trained without On Cloud N, which has no SWIR)")
    p.add_argument("--folds", type=int, default=6, help="cross-validation folds (0: none)")
    p.add_argument("--synthetic", type=int, default=60, help="synthetic scenes of 256 px")
    p.add_argument("--patch", type=int, default=160)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--steps", type=int, default=60, help="training steps per epoch")
    p.add_argument("--learning-rate", type=float, default=4e-3)
    p.add_argument("--distill-weight", type=float, default=TrainConfig.distill_weight,
                   help="weight of the KL divergence to the teacher's probabilities in the loss")
    p.add_argument("--bright-weight", type=float, default=TrainConfig.bright_weight,
                   help="scenes are drawn up to 1 + this times as often as their share of bright clear ground")
    p.add_argument("--widths", default="8,16,32,64,128", help="channels per encoder level (one level per width)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--install", action="store_true", help="copy the model and its card into models/")
    return p.parse_args(argv)


def load_scenes(args, bands, log):
    scenes = crossval.real_scenes(args.data, bands)
    for spec in args.extra:
        kind = datasets.parse_source_spec(spec)[0]
        scenes += [replace(datasets.as_cloud_or_not(datasets.select_bands(s, bands)),
                           source=f"extra-{s.source or kind}") for s in datasets.load_sources([spec])]
    scenes += crossval.composite_scenes(scenes, args.composites, 256, args.seed + 2000)
    reference_path = args.data / "eolearn_s2" / "REFERENCE_SCENES.npy"
    reference = load_reference_spectra(str(reference_path)) if reference_path.exists() else None
    scenes += crossval.synthetic_scenes(bands, args.synthetic, args.seed + 1000, reference)
    crossval.add_teacher_labels(scenes, args.out / "teacher_labels.npz", log)
    counts = {source: sum(s.source == source for s in scenes) for source in {s.source for s in scenes}}
    log(f"scenes: {json.dumps(counts)}")
    return scenes


def batch_shares(shares, scenes, extra_sources, args):
    """Each source's share of a batch: --extra-share per extra source; --composite-share for the composites, split
    between their levels by count, the other shares scaled down to make room."""
    shares = {**shares, **{name: args.extra_share for name in extra_sources}}
    composites = [s.source for s in scenes if s.source.startswith(COMPOSITE)]
    if not composites:
        return shares
    shares = {name: share * (1.0 - args.composite_share) for name, share in shares.items()}
    for source in set(composites):
        shares[source] = args.composite_share * composites.count(source) / len(composites)
    return shares


def write_overlays(scenes, out: Path) -> List[str]:
    """True colour with the label (yellow) and the cross-validated prediction (red: cloud, blue: shadow)."""
    written = []
    for scene in scenes:
        predicted = out / f"cv_{scene.name}.npy"
        if not predicted.exists():
            continue
        classes = np.load(predicted)
        path = overlay_png(out / "overlays" / f"{scene.name}.png", scene.image, scene.bands, classes == CLOUD,
                           np.where(scene.label == CLOUD, 1, 0), stretch=0.5 if scene.source == "l8biome" else 0.3,
                           shadow=classes == SHADOW)
        written.append(str(path))
    return written


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "training.log", "a")

    def log(message: str) -> None:
        print(message, flush=True)
        log_file.write(message + "\n")
        log_file.flush()

    bands = SIX_BANDS if args.bands == "6" else FOUR_BANDS
    config = TrainConfig(bands=bands, widths=tuple(int(w) for w in args.widths.split(",")), patch=args.patch,
                         batch=args.batch, epochs=args.epochs, steps_per_epoch=args.steps,
                         learning_rate=args.learning_rate, distill_weight=args.distill_weight,
                         bright_weight=args.bright_weight, repaint_probability=args.bright_repaint, seed=args.seed,
                         weight_decay=args.weight_decay, threads=args.threads)
    scenes = load_scenes(args, bands, log)
    extra_sources = sorted({s.source for s in scenes if s.source.startswith("extra-")})
    config = replace(config, source_shares=batch_shares(config.source_shares, scenes, extra_sources, args))
    started = time.perf_counter()
    report = crossval.cross_validate(scenes, config, args.folds, out, log) if args.folds > 1 else {}
    cv_seconds = time.perf_counter() - started
    if report:
        log(json.dumps({"sources": report["sources"], "biomes": report["biomes"]}, indent=1))
        write_overlays(scenes, out)
    trained = train(config, scenes, log=log)
    save(trained, out / "model.pt")
    training_pixels = [s for s in scenes if not made_up(s.source)]
    metadata = model_metadata(bands, trained.mean, trained.std, class_names=CLASS_NAMES,
                              reflectance_range=band_range(training_pixels))
    onnx_path = export_onnx(trained.model, out / f"{args.name}.onnx", metadata)
    difference = parity(trained.model, onnx_path)
    log(f"ONNX export {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), max |onnxruntime - torch| = "
        f"{difference:.2e}")
    if difference > 1e-4:
        log("ONNX output differs from PyTorch's: not installing")
        return 1
    summary = {"crossval": report, "crossval_seconds": cv_seconds, "training_seconds": trained.seconds,
               "parity": difference, "model_bytes": onnx_path.stat().st_size, "folds": args.folds,
               "scenes": {source: sorted(s.name for s in scenes if s.source == source)
                          for source in sorted({s.source for s in scenes})},
               "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
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
