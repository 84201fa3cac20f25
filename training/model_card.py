"""The model card written beside an exported model: what it is, its data, honest figures, limits, credits."""
from pathlib import Path
from typing import Dict

from .train import BRIGHT, TrainConfig

FIGURES = ("iou", "precision", "recall")


def _cells(scores: Dict[str, float]) -> str:
    return " | ".join(f"{scores.get(k, float('nan')):.3f}" for k in FIGURES)


def _source_table(report: dict, bands: str) -> str:
    names = {"l8biome": "L8 Biome (Landsat 8, TOA, 36 scenes)", "oncloudn": "On Cloud N (Sentinel-2 L2A, 5 chips)"}
    lines = [f"| held-out scenes | cloud IoU | precision | recall | ukis-csmask {bands}-band: IoU | precision | "
             f"recall |",
             "|---|---|---|---|---|---|---|"]
    for source, block in report.get("sources", {}).items():
        lines.append(f"| {names.get(source, source)} | {_cells(block['cloud'])} | {_cells(block['teacher_cloud'])} |")
    return "\n".join(lines)


def _shadow_line(report: dict, bands: str) -> str:
    block = report.get("sources", {}).get("l8biome")
    if not block:
        return ""
    model, teacher = block["shadow"], block["teacher_shadow"]
    return (f"Cloud shadow on L8 Biome (the only set with shadow labels): IoU {model['iou']:.3f} (precision "
            f"{model['precision']:.3f}, recall {model['recall']:.3f}); ukis-csmask's {bands}-band L1C model on the "
            f"same "
            f"patches: IoU {teacher['iou']:.3f}.")


def _bright_clear_line(report: dict) -> str:
    """How often bright clear ground was called cloud, per set (crossval.bright_clear_calls), when measured."""
    names = {"l8biome": "L8 Biome", "oncloudn": "On Cloud N"}
    parts = []
    for source, block in report.get("sources", {}).items():
        model, teacher = block.get("bright_clear_called_cloud") or {}, block.get("teacher_bright_clear_called_cloud")
        if model.get("share") is None:
            continue
        theirs = f", ukis-csmask {teacher['share']:.0%}" if teacher and teacher.get("share") is not None else ""
        parts.append(f"{names.get(source, source)} {model['share']:.0%} of {model['pixels']:,} pixels{theirs}")
    if not parts:
        return ""
    return ("Bright clear ground called cloud (pixels labelled clear whose mean visible reflectance is above "
            f"{BRIGHT:g}: snow, ice, sand, roofs; held-out scenes): {'; '.join(parts)}.")


def _biome_table(report: dict) -> str:
    lines = ["| biome | patches | cloud IoU | precision | recall | shadow IoU | ukis-csmask cloud IoU |",
             "|---|---|---|---|---|---|---|"]
    for biome, block in report.get("biomes", {}).items():
        lines.append(f"| {biome} | {block['scenes']} | {_cells(block['cloud'])} | {block['shadow']['iou']:.3f} | "
                     f"{block['teacher_cloud']['iou']:.3f} |")
    return "\n".join(lines)


def _chip_table(report: dict) -> str:
    lines = ["| chip | fold | cloud IoU | precision | recall | ukis-csmask 4-band L2A IoU |",
             "|---|---|---|---|---|---|"]
    for name, block in report.get("scenes", {}).items():
        if block["source"] != "oncloudn":
            continue
        teacher = block.get("teacher_cloud") or {}
        teacher_iou = teacher.get("iou", float("nan"))
        lines.append(f"| {name} | {block['fold']} | {_cells(block['cloud'])} | {teacher_iou:.3f} |")
    return "\n".join(lines)


def _extra_lines(summary: dict) -> str:
    """The --extra sources (trained on, never scored), one line each, or nothing."""
    extra = {source: names for source, names in summary["scenes"].items() if source.startswith("extra-")}
    if not extra:
        return ""
    lines = [f"- **Extra ({source[len('extra-'):]})**: {len(names)} scene{'s' if len(names) != 1 else ''} given by "
             f"--extra, {summary['config']['extra_share']:.0%} of each batch; trained on, never scored"
             + (" (no labels: the teacher's only)" if source.startswith("extra-unlabelled") else "") + "."
             for source, names in sorted(extra.items())]
    return "\n".join(lines) + "\n"


def _weight(config: dict, key: str) -> float:
    """A loss or sampling weight of the run (training.cloud's --distill-weight, --bright-weight); runs made before
    those options existed trained with TrainConfig's defaults."""
    value = config.get(key)
    return float(value if value is not None else getattr(TrainConfig, key))


def _repaint_line(config: dict) -> str:
    """The --bright-repaint augmentation in words, or nothing."""
    if not config.get("bright_repaint"):
        return ""
    return (f"- **Repainted bright ground**: {config['bright_repaint']:.0%} of the cloud-free real patches take the "
            f"spectrum of snow, ice or bright sand with their own texture kept (training/repaint.py), labelled as "
            f"they were.\n")


def write_model_card(path: Path, name: str, summary: dict) -> Path:
    config, report = summary["config"], summary["crossval"]
    bands = "B02 (blue), B03 (green), B04 (red), B08 (NIR)"
    if config["bands"] == "6":
        bands += ", B11 (SWIR 1.6 um), B12 (SWIR 2.2 um)"
    distill, bright = _weight(config, "distill_weight"), _weight(config, "bright_weight")
    schedule = (f"{config['epochs']} epochs of {config['steps']} steps of {config['batch']} patches of "
                f"{config['patch']} px, AdamW weight decay {config.get('weight_decay', TrainConfig.weight_decay):g}")
    command = (f"python -m training.cloud --data ../shared/data --bands {config['bands']} --folds {summary['folds']} "
               f"--epochs {config['epochs']} --steps {config['steps']} --batch {config['batch']} --patch "
               f"{config['patch']} --synthetic {config['synthetic']} --widths {config['widths']} "
               f"--distill-weight {distill:g} --bright-weight {bright:g} "
               f"--seed {config['seed']} --name {name}"
               + "".join(f" --extra {spec}" for spec in config.get("extra") or [])
               + (f" --extra-share {config['extra_share']:g}" if config.get("extra") else "")
               + (f" --composites {config['composites']} --composite-share {config['composite_share']:g}"
                  if config.get("composites") else "")
               + (f" --bright-repaint {config['bright_repaint']:g}" if config.get("bright_repaint") else "")
               + (f" --weight-decay {config['weight_decay']:g}"
                  if config.get("weight_decay", TrainConfig.weight_decay) != TrainConfig.weight_decay else "")
               + " --install")
    minutes = summary["crossval_seconds"] / 60, summary["training_seconds"] / 60
    six = config["bands"] == "6"
    six_band_note = " Not in this 6-band variant: the chips have no SWIR bands." if six else ""
    teacher = ("6-band L1C model (on Biome and eo-learn) gives" if six
               else "4-band models (L1C on Biome and eo-learn, L2A on On Cloud N) give")
    shares = ("Biome 64 %, eo-learn 14 %, synthetic 21 %: the shares of Biome 45 %, eo-learn 10 %, synthetic 15 % "
              "without On Cloud N" if six else "Biome 45 %, On Cloud N 30 %, eo-learn 10 %, synthetic 15 %")
    compared = ("its own 6-band L1C model on Biome" if six
                else "its own 4-band models, L1C on\nBiome and L2A on On Cloud N")
    chips = ("" if six else "Per On Cloud N chip (each from the fold that did not see it):\n\n"
             f"{_chip_table(report)}\n")
    snow_limit = ("SWIR helps to tell snow and ice from cloud, but not always; the SnowIce figures above show how "
                  "often" if six else "Four bands cannot always tell snow and ice from cloud; the SnowIce figures "
                  "above show how often")
    card = f"""# {name}: Label Migration's cloud and cloud-shadow model

A small U-Net (training/model.py, encoder widths {config['widths']}) that marks clear ground, cloud and
cloud shadow in Sentinel-2 and Landsat imagery. It is trained on real human-labelled imagery with a
teacher (ukis-csmask), by one command (below), and exported to ONNX with the plugin's metadata.

## Input and output
- Bands, in this order: {bands}, as reflectance (Landsat: the same
  bands by name). Metadata key `bands`; the plugin matches them to band descriptions.
- Input scaling (core/models/input_scaling.py, INPUT_SCALING in the algorithms): the model input is
  `(r / 255 - standardization_mean) / standardization_std`, Deepness's formula, with r = DN =
  reflectance / `reflectance_scale` (0.0001); `standardization_domain` = "deepness". Rasters with
  their own scale/offset (baseline 04.00 and later) are turned into reflectance first; reflectance and
  8-bit rasters are told apart by INPUT_SCALING automatic. `input_range` gives per band the model
  input's range over the real training pixels, for the plugin's plausibility warning.
- Output: three channels of softmax probabilities (in the graph as ReduceMax, Exp, ReduceSum and Div, which
  onnxruntime runs faster on CPU than its Softmax over channels), `class_names` 0 clear, 1 cloud, 2 shadow (thin
  cloud counts as cloud); the class is the most probable one. `tile_size` 512, `tiles_overlap` 10 %,
  `resolution` 1000 cm (10 m): it was trained on 10 m and 30 m pixels (patches zoomed 0.6x to 1.7x).
- Size: {summary['model_bytes'] / 1e6:.2f} MB. ONNX vs PyTorch on random input: max difference
  {summary['parity']:.1e}.

## Training data
- **L8 Biome**: 36 real Landsat 8 patches (256 x 256, 30 m, top-of-atmosphere reflectance), one per
  scene, from 8 biomes including snow and ice, barren (desert), urban and water, with human labels
  clear, thick cloud, thin cloud and cloud shadow.
- **On Cloud N**: 5 real Sentinel-2 L2A chips (512 x 512, 10 m) with human cloud labels; their
  "not cloud" is read as "clear or shadow" (the loss scores the two together there).{six_band_note}
- **eo-learn**: 5 real Sentinel-2 L1C frames of one area without labels (teacher labels only).
- **Synthetic**: {config['synthetic']} generated scenes of 256 px (training/synthetic.py), cloud or not.
{_extra_lines(summary) + _repaint_line(config)}- **Pasted clouds**: while training, fractal clouds and their cast
  shadows are mixed physically into 30 % of the real patches (training/paste.py), on bright snow, sand and roofs
  as on fields.
- **Distillation**: ukis-csmask's {teacher}
  class probabilities on every real image; the loss adds their KL divergence (weight {distill:g}) to the
  cross-entropy and cloud Dice on the human labels. Sources are drawn in fixed shares per batch
  ({shares}); within a source, a scene all of bright clear ground (snow, sand, roofs)
  is drawn {1 + bright:g}x as often as its size alone would have it; patches are turned, flipped, zoomed,
  moved between top-of-atmosphere and surface reflectance, and changed in gain.
- Fixed schedule ({schedule}, one-cycle learning rate): no checkpoint or threshold is chosen on
  any data.

## Cross-validated figures (what they are)
Grouped {summary['folds']}-fold cross-validation by scene: each L8 Biome patch and each On Cloud N chip
is scored only by the model of the fold that held it out (Biome dealt to folds biome by biome, the
five chips to folds 0 to 4; eo-learn and synthetic scenes always train and are never scored). The
figures pool the pixels of all held-out scenes of a set; thin cloud counts as cloud; Biome's fill is
left out. The shipped model is trained on all of the data with the same recipe, so no figure below
is of the shipped model itself: they measure the recipe on scenes it did not see. ukis-csmask
(which never trained on these sets) is scored on the same pixels with {compared}.

{_source_table(report, config["bands"])}

{_shadow_line(report, config["bands"])}

{_bright_clear_line(report)}

Per biome (L8 Biome, held-out patches):

{_biome_table(report)}

{chips}

## Limits
- {snow_limit}.
- Cloud shadow is rare in the labels (2 % of Biome's pixels) and hard to tell from dark water and
  terrain shadow: its figures are low, as ukis-csmask's are.
- Edges are computed at 1/2 resolution and upsampled: outlines are smooth, not pixel-exact.
- Only 41 labelled real scenes: figures per biome rest on 3 to 8 patches each.

## Reproduce
`{command}`
(cross-validation took {minutes[0]:.0f} min and the final training {minutes[1]:.0f} min
on the 2-core CPU machine; ukis-csmask must be installed for the teacher labels).

## Attribution
- ukis-csmask (German Aerospace Center, DLR), PyPI, Apache-2.0: its trained {config['bands']}-band ONNX models are
  the teacher (soft labels) and the comparison above.
- L8 Biome: USGS "L8 Biome Cloud Validation Masks", Foga et al. 2017, Remote Sensing of Environment
  194:379-390, doi:10.5066/F7251GDH (public domain); patches from LK-Peng/CNN-based-Cloud-Detection-Methods
  (MIT).
- On Cloud N: Radiant Earth Foundation (2022), "Sentinel-2 Cloud Cover Segmentation Dataset"
  (DrivenData On Cloud N challenge), doi:10.34911/RDNT.HFQ6M7, CC-BY-4.0; contains modified
  Copernicus Sentinel data 2018-2020.
- eo-learn reference frames: sentinel-hub/eo-learn, MIT; contains modified Copernicus Sentinel data.
"""
    path.write_text(card)
    return path
