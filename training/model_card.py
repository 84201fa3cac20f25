"""The model card written beside an exported model: data, bands, metrics, limits, attribution."""
from pathlib import Path


def _row(name: str, scores: dict) -> str:
    cells = [f"{scores.get(k, float('nan')):.3f}" for k in ("iou", "precision", "recall", "accuracy")]
    fraction = scores.get("cloud_fraction")
    return f"| {name} | " + " | ".join(cells) + (f" | {fraction:.2f} |" if fraction is not None else " | |")


def _table(title: str, block: dict) -> str:
    if not block:
        return ""
    lines = [f"**{title}**", "", "| chip | IoU | precision | recall | accuracy | cloud fraction |",
             "|---|---|---|---|---|---|"]
    lines += [_row(name, scores) for name, scores in block.get("chips", {}).items()]
    lines.append(_row("all pixels", block.get("all", {})))
    return "\n".join(lines) + "\n"


def write_model_card(path: Path, name: str, summary: dict) -> Path:
    report, config = summary["report"], summary["config"]
    test = report.get("synthetic_test", {})
    card = f"""# {name}: Label Migration's default cloud model

A small U-Net (training/model.py, encoder widths {config['widths']}) that marks clouds in
Sentinel-2 imagery, trained by `python -m training.cloud` (command below) and exported to ONNX with
the plugin's metadata. It is `cloudmask`'s default model.

## Input and output
- Bands, in this order: B02 (blue), B03 (green), B04 (red), B08 (NIR), as reflectance. Metadata key
  `bands` = `["blue", "green", "red", "nir"]`; the plugin matches them to band descriptions.
- Input scaling (core/input_scaling.py, INPUT_SCALING in the algorithms): the model input is
  `(r / 255 - standardization_mean) / standardization_std`, Deepness's formula, with r = DN;
  `standardization_mean` / `standardization_std` are the training pixels' reflectance statistics
  expressed in that domain (mean x 10000 / 255, std x 10000 / 255), so Deepness feeds the model the
  right input from a DN raster. `reflectance_scale` (0.0001) and `reflectance_offset` (0), our keys, say
  that reflectance = DN x 0.0001 + 0: a reflectance raster (0-1) is fed as r = reflectance / 0.0001, and
  bands with their own scale/offset (e.g. uint16 of processing baseline 04.00 with scale 1e-4, offset
  -0.1) are turned into reflectance first. INPUT_SCALING automatic tells DN, reflectance and 8-bit
  apart; Deepness itself always reads the values as stored, so give it DN (offset-free before baseline
  04.00) rasters.
- `standardization_domain` (our key): `"deepness"`, saying that the standardisation applies to r / 255;
  a model with `reflectance_scale` but without it (exported by this project before 2026-12, its
  statistics in reflectance) is read the former way, with a warning.
- `input_range` (our key): per band the [min, max] model input (after standardisation) over the
  training pixels (reflectance 0 to about 1.5); the plugin warns when a raster's input falls far
  outside it or hardly varies (reflectance read as DN, for example).
- Output: one channel, cloud probability (sigmoid); `seg_thresh` 0.5; `tile_size` 512,
  `tiles_overlap` 10 %; `resolution` 1000 cm (10 m). Input 4 x 512 x 512 with a dynamic batch:
  Deepness takes the input's last dimension as its tile size; the plugin tiles rasters of any size
  into 512-pixel tiles (smaller rasters are padded).
- Size: {summary['model_bytes'] / 1e6:.2f} MB. ONNX vs PyTorch on random input: max difference
  {summary['parity']:.1e}.

## Training data
Synthetic Sentinel-2-like scenes only (training/synthetic.py, {config['synthetic_train']} training scenes of
{config['size']} px, seed {config['seed']}): land covers with published reflectance ranges and real clear
pixel spectra of eo-learn's reference frames (sentinel-hub/eo-learn `example_data`, MIT), fractal
thick and thin clouds mixed physically with the surface, shadows along a sun direction, path
radiance (L1C-like and L2A-like scenes), sensor noise. Label: cloud opacity >= 0.3.
No real scene was trained on. The checkpoint (epoch {summary['best_epoch']} of {config['epochs']}) was
selected by IoU on the set `{summary['selection']}` (IoU {summary['selection_iou']:.3f}).

## Metrics
Real data: the 5 On Cloud N chips in `../shared/data/oncloudn` (Sentinel-2 L2A, human labels; used
to select the checkpoint, so these numbers are optimistic for that reason):

{_table("This model", report.get("real", {}))}
{_table("ukis-csmask 1.0.0, 4-band L2A model, run with its own code on the same chips", report.get("ukis_real", {}))}
{_table("38-Cloud sample patch (Landsat 8, 8-bit display JPEGs; a smoke test only)", report.get("38cloud_sample", {}))}
Synthetic test scenes (seed {config['seed'] + 2}): IoU {test.get('iou', float('nan')):.3f}, precision
{test.get('precision', float('nan')):.3f}, recall {test.get('recall', float('nan')):.3f}.

Cloud fraction predicted on eo-learn's five real L1C frames (0 and 1 cloudy, 2 to 4 clear):
{', '.join(f'{f:.2f}' for f in report.get('eolearn_cloud_fraction_per_frame', []))}.

## Limits
- Trained on synthetic data: bright surfaces (snow, ice, salt flats, bright roofs) and thin haze are
  the likely errors; with four bands snow and cloud are hard to tell apart.
- Cloud shadows are not a class (they are "clear").
- Edges are computed at 1/2 resolution and upsampled: cloud outlines are smooth, not pixel-exact.
- Not validated on Landsat: the one 38-Cloud patch here is an 8-bit display JPEG (stretched
  brightness, not reflectance), on which the model calls nearly everything cloud; it is a smoke test
  of the reader, not a score.
- Human cloud labels (On Cloud N) outline clouds generously; the synthetic labels imitate that with a
  margin (training/synthetic.py `cloud_label`), so masks include a cloud's thin edge.

## Reproduce
`python -m training.cloud --epochs {config['epochs']} --steps {config['steps']} --batch {config['batch']} \\
--patch {config['patch']} --synthetic-train {config['synthetic_train']} --seed {config['seed']} --install`
(training took {summary['training_seconds'] / 60:.0f} min on the 2-core CPU machine).

## Attribution
- On Cloud N chips: Radiant Earth Foundation (2022), "Sentinel-2 Cloud Cover Segmentation Dataset"
  (DrivenData On Cloud N challenge), doi:10.34911/RDNT.HFQ6M7, CC-BY-4.0; contains modified
  Copernicus Sentinel data 2018-2020. Used for checkpoint selection and evaluation.
- eo-learn reference frames: sentinel-hub/eo-learn, MIT; contains modified Copernicus Sentinel data.
- 38-Cloud sample: SorourMo/38-Cloud-A-Cloud-Segmentation-Dataset, Apache-2.0.
"""
    path.write_text(card)
    return path
