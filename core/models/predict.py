"""Run an ONNX segmentation model over a raster of any size, tile by tile, without seams: predict_raster.

The parts: core.models.model_info (the model's metadata), core.models.onnx_model (opening and running it),
core.models.band_selection, core.models.tiling, core.models.streaming (the tile loop, bounded memory) and
core.models.output_writers. The model may run on the input resampled to its resolution (Deepness's
``resolution``); its outputs are then warped back onto the input's grid.

Plausibility: input pixels that are NaN count as nodata whatever the raster's nodata metadata
says; so does DN 0, USGS's fill value, of USGS Landsat band files that declare no nodata (core.landsat.fill), and DN 0
of 16-bit bands that declare no nodata when the model reads reflectance (Sentinel-2's nodata; core.sentinel2.dn_fill).
A run fails, leaving no output, when the input has no valid pixel in the bands used, or
when the model returns NaN or infinity for any valid pixel (a broken model, e.g. NaN weights, or
input scaling that does not fit the raster): no statistic is ever computed from NaN. The raster's
size is checked against the pixel limit (core.util.limits) before anything is read.
"""
import os
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from osgeo import gdal

from ..landsat.fill import fill_view
from ..sentinel2 import dn_fill
from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.outputs import atomic_outputs
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_cache_limit, gdal_errors
from ..util.raster_read import open_raster, read_check
from .band_selection import select_bands
from .deepness import filter_small_segments, median_size, model_pixel_size, warp_back, warped_view
from .input_scaling import decide as decide_input_scaling
from .input_scaling import normalise_choice, one_class_note
from .model_info import ModelInfo
from .onnx_model import CLASSES_NODATA, load_model
from .output_writers import OnlyClass, OutputWriters, check_outputs
from .streaming import stream_tiles
from .tiling import EMIT_ROWS, TilePlan, fit_batch, output_margin, read_valid, resolve_tiling


@dataclass
class PredictionResult:
    outputs: Dict[str, str]
    stats: Dict[str, dict]
    width: int
    height: int
    bands: List[int]
    tile_size: Tuple[int, int]
    overlap: int
    tiles: int
    valid_pixels: int
    warnings: List[str] = field(default_factory=list)  # e.g. CUDA failed and the CPU ran the model
    finished: object = None  # what predict_raster's ``finish`` returned
    input_scaling: str = ""  # how the values became the model's input, in words (core.models.input_scaling)


Finish = Callable[[Dict[str, str]], object]


def predict_raster(input_path: str, model_path: str, outputs: Dict[str, str],
                   bands: Optional[Sequence[Union[str, int]]] = None, tile_size: Optional[int] = None,
                   overlap: Optional[float] = None, batch_size: int = 4, threshold: Optional[float] = None,
                   class_colours: Optional[Dict[int, Tuple[int, int, int]]] = None,
                   model_info: Optional[ModelInfo] = None, only_class: OnlyClass = None,
                   resolution: Optional[float] = None, small_segment: Optional[int] = None,
                   extra_outputs: Optional[Dict[str, str]] = None, finish: Optional[Finish] = None,
                   progress: Optional[ProgressCallback] = None,
                   is_cancelled: Optional[CancelCheck] = None,
                   input_scaling: Optional[str] = "auto", input_name: Optional[str] = None) -> PredictionResult:
    """Predict every pixel of ``input_path`` with the model and write the requested outputs.

    ``outputs`` maps roles to GeoTIFF paths: 'probability' (float32, one band per model output
    channel, NaN where the input is nodata) and/or 'classes' (uint8, 255 where nodata).
    ``overlap`` is a fraction of the tile (below 1) or pixels; it defaults to the model's tiles_overlap.
    ``threshold`` replaces the model's seg_thresh for the 'classes' output; ``class_colours``
    ({class: (r, g, b)}) becomes its colour table. ``model_info`` replaces the model file's metadata.
    ``only_class`` reduces a multi-class model to one class: 'probability' is that class's band alone
    and 'classes' is 1 where it wins the argmax (where its probability reaches the threshold when
    one is given), else 0. Several classes (``(cloud, shadow)``) mark 1, 2, ... (see only_class_mask);
    'probability' is then the first one's. A callable is called with the open model (its output
    channels known) and returns one of these (core.models.cloud_classes.CloudPicker decides a cloud model's).
    A model with several output heads gives 'classes' one band per head and 'probability' the channels of
    every head one after the other (band descriptions name them).
    ``resolution`` (cm per pixel; None: no resampling) runs the model on the input resampled to that
    resolution (a warped VRT, read window by window) and brings the outputs back onto the input's grid, as
    Deepness runs a model at its ``resolution``. ``small_segment`` (None: the model's seg_small_segment; 0:
    none) median-filters the class raster as Deepness does (see core.models.deepness).
    ``extra_outputs`` ({role: path}) are files ``finish`` writes from the finished rasters (a table
    of counts, ...). ``finish`` gets {role: temporary path} of every output, the rasters complete and
    closed, before anything is published; what it returns is the result's ``finished``. The rasters
    and the extra outputs appear together, or, when anything fails, none of them.
    ``input_scaling`` ('auto', 'dn', 'reflectance' or '8bit') says what the raster's values are;
    core.models.input_scaling turns them into the model's input and explains how (the result's
    ``input_scaling``), warning when that input is implausible for the model.
    ``input_name`` is how messages name the input (default: ``input_path``), for a caller whose input is a
    temporary file the user never saw.
    """
    steps = Steps(progress, is_cancelled)
    shown = input_name or input_path
    extra_outputs = dict(extra_outputs or {})
    check_outputs(outputs, extra_outputs, input_path)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise LabelMigrationError(f"The threshold (THRESHOLD) must be between 0 and 1, not {threshold}.")
    model = load_model(model_path, model_info)
    if threshold is not None:
        model.info = replace(model.info, seg_thresh=float(threshold))
    model.info.check_numbers(model_path)
    with gdal_errors(), gdal_cache_limit(64 << 20), ExitStack() as views:
        source = open_raster(input_path, "input raster")
        limits.check_pixels(source.RasterXSize, source.RasterYSize, f"The input raster '{shown}'")
        band_notes: List[str] = []
        chosen = select_bands(source, model, bands, shown, band_notes)
        source, fill_note = views.enter_context(fill_view(source, chosen, shown))  # USGS Landsat fill DN 0
        source, dn_note = views.enter_context(dn_fill.fill_view(  # Sentinel-2 DN 0, when the Landsat rule did not apply
            source, chosen, shown, model.info.reflectance_scale is not None, normalise_choice(input_scaling)))
        grid, grid_warnings = _model_grid(source, resolution, shown)
        limits.check_pixels(grid.RasterXSize, grid.RasterYSize, f"The input raster '{shown}' at the model's "
                                                                f"resolution")
        tile, overlap_px = resolve_tiling(model, tile_size, overlap)
        margin, classes = output_margin(model, tile, len(chosen), overlap_px)
        if callable(only_class):  # decided from the open model, now that its output channels are known
            only_class = only_class(model)
        batch = fit_batch(tile, max(1, int(batch_size)), len(chosen), classes, grid.RasterXSize,
                          grid.RasterYSize, model.fixed_size is not None, model_path, model.batch)
        decision = decide_input_scaling(source, chosen, model.info, input_scaling)
        scaling = decision.transform
        roles = list(outputs) + list(extra_outputs)
        targets = {**outputs, **extra_outputs}
        with atomic_outputs(*[targets[role] for role in roles]) as temporaries:
            paths = dict(zip(roles, temporaries))
            plan = TilePlan(grid, chosen, tile, overlap_px, batch, margin)
            writers = None
            on_grid = {role: (paths[role] + ".model-grid.tif" if grid is not source else paths[role])
                       for role in outputs}
            try:
                try:
                    writers = stream_tiles(model, plan, scaling, on_grid, steps, shown, class_colours, only_class)
                finally:
                    if writers is not None:
                        writers.close()
                    plan.source = None
                _check_plausible(writers, model_path, shown, chosen)
                size = median_size(model.info.seg_small_segment if small_segment is None else small_segment)
                _post_process(writers, on_grid, {role: paths[role] for role in outputs}, source, chosen, size,
                              shown)
            finally:
                for role, path in on_grid.items():
                    if path != paths[role] and os.path.exists(path):
                        os.remove(path)
                if grid is not source:
                    grid = None
                    gdal.Unlink(_grid_path(source))
            finished = finish(paths) if finish is not None else None
    return PredictionResult(outputs=dict(outputs), stats={r: writers.stats()[r] for r in outputs},
                            width=source.RasterXSize, height=source.RasterYSize, bands=chosen, tile_size=tile,
                            overlap=overlap_px, tiles=plan.tile_count, valid_pixels=writers.valid,
                            warnings=list(model.warnings) + band_notes + grid_warnings + decision.warnings
                            + [note for note in (fill_note, dn_note)
                               if note and writers.valid < source.RasterXSize * source.RasterYSize]
                            + one_class_note(decision, writers.stats()["classes"]["counts"])
                            + _output_warnings(writers, model_path),
                            finished=finished, input_scaling=decision.why)


def _grid_path(source: gdal.Dataset) -> str:
    return f"/vsimem/labelmigration-model-grid-{id(source)}.vrt"


def _model_grid(source: gdal.Dataset, resolution: Optional[float], input_path: str) -> Tuple[gdal.Dataset, List[str]]:
    """The raster the model runs on: ``source`` itself, or a warped VRT of it at ``resolution`` cm/px."""
    if resolution is None:
        return source, []
    if not np.isfinite(resolution) or resolution <= 0:
        raise LabelMigrationError(f"The model resolution must be a positive number of cm per pixel, not {resolution}.")
    pixel, why_not = model_pixel_size(source, resolution)
    if why_not:
        return source, [f"The input raster '{input_path}' was not resampled to the model's resolution of "
                        f"{resolution:g} cm/px: {why_not}. The model ran on the raster's own pixels."]
    if pixel is None:
        return source, []
    return warped_view(source, pixel, _grid_path(source)), []


def _post_process(writers: OutputWriters, on_grid: Dict[str, str], paths: Dict[str, str], source: gdal.Dataset,
                  bands: List[int], size: int, input_path: str) -> None:
    """Deepness's small-segment median filter on the class raster (at the model's resolution), then, when the
    model ran on a resampled grid, the outputs warped back onto the input's grid with the input's nodata."""
    resampled = any(on_grid[role] != paths[role] for role in on_grid)
    if "classes" in on_grid and size > 1:
        dataset = gdal.Open(on_grid["classes"], gdal.GA_Update)
        writers.recount(filter_small_segments(dataset, size, CLASSES_NODATA))
        dataset = None
    if not resampled:
        return
    for role, path in on_grid.items():
        warp_back(path, paths[role], source, "near" if role == "classes" else "bilinear")
    datasets = {role: gdal.Open(paths[role], gdal.GA_Update) for role in paths}
    counts = [np.zeros(256, np.int64) for _ in writers.heads]
    valid_total = 0
    for row in range(0, source.RasterYSize, EMIT_ROWS):
        rows = min(EMIT_ROWS, source.RasterYSize - row)
        with read_check(input_path, "input raster"):
            valid = read_valid(source, bands, 0, row, source.RasterXSize, rows)
        for role, dataset in datasets.items():
            for number in range(1, dataset.RasterCount + 1):
                band = dataset.GetRasterBand(number)
                values = band.ReadAsArray(0, row, source.RasterXSize, rows)
                if role == "classes":
                    kept = valid & (values != CLASSES_NODATA)
                    counts[number - 1] += np.bincount(values[kept].ravel().astype(np.int64), minlength=256)[:256]
                    band.WriteArray(np.where(valid, values, CLASSES_NODATA).astype(np.uint8), 0, row)
                else:
                    band.WriteArray(np.where(valid, values, np.float32(np.nan)).astype(np.float32), 0, row)
        valid_total += int(valid.sum())
    for dataset in datasets.values():
        dataset.FlushCache()
    datasets.clear()
    if "classes" in paths:
        writers.recount(counts)
    writers.valid = valid_total


def _check_plausible(writers: OutputWriters, model_path: str, input_path: str, bands: List[int]) -> None:
    """Refuse a run whose numbers would be meaningless: no valid input pixel, or NaN predictions."""
    seen = writers.valid + writers.not_finite
    if seen == 0:
        raise LabelMigrationError(
            f"The input raster '{input_path}' has no valid pixel in the bands used ({', '.join(map(str, bands))}): "
            f"every pixel is nodata or NaN, so there is nothing to predict. No output was written.")
    if writers.not_finite:
        share = 100.0 * writers.not_finite / seen
        raise LabelMigrationError(
            f"The model '{model_path}' produced NaN (not a number) or infinity for {share:.3g} % of the valid "
            f"pixels ({writers.not_finite:,} of {seen:,}) of '{input_path}', so no result computed from it can be "
            f"trusted; no output was written. The model is broken (for example NaN weights) or its input scaling "
            f"(reflectance_scale, standardization) does not fit this raster.")


def _output_warnings(writers: OutputWriters, model_path: str) -> List[str]:
    if not writers.outside_unit:
        return []
    share = 100.0 * writers.outside_unit / max(1, writers.valid)
    return [f"The model '{model_path}' returned values outside 0..1 for {share:.3g} % of the valid pixels: it "
            f"returns logits or scores, not probabilities, so the threshold means little. Set output_activation "
            f"('sigmoid' or 'softmax') in the model's metadata."]
