"""The streaming loop: tiles are read window by window with GDAL, run through the model in batches, and their
predictions blended (Hann weights) into a rolling buffer one tile row high; every row that no later tile can touch
is normalised and written at once. Memory is therefore bounded by one tile row of the output plus a batch of
tiles, whatever the raster's size (core.models.tiling checks that amount against the memory limit)."""
from typing import Dict, Optional, Tuple, Union

import numpy as np

from ..util.progress import Steps
from ..util.raster_read import read_check
from .input_scaling import InputTransform
from .onnx_model import Model, run_heads
from .output_writers import OnlyClass, OutputWriters
from .tiling import EMIT_ROWS, TilePlan, axis_weight, read_valid, tile_valid


class RowBlender:
    """Weighted sums for one tile row of output, rolled down as finished rows are written."""

    def __init__(self, classes: int, rows: int, width: int):
        self.values = np.zeros((classes, rows, width), np.float32)
        self.weights = np.zeros((rows, width), np.float32)
        self.bad: Optional[np.ndarray] = None  # weight of non-finite predictions; made on the first one
        self.top = 0  # raster row of buffer row 0
        self._scratch = np.empty(0, np.float32)  # prediction x weight, reused from tile to tile
        self.valid = np.zeros((rows, width), bool)  # validity from the tiles read (tiling.nodata_rule)

    def add(self, prediction: np.ndarray, x: int, y: int, weight: np.ndarray,
            finite: Union[None, bool, np.ndarray] = None) -> None:
        """Add a (channels, rows, cols) prediction whose window starts at (x, y). ``finite``: True when the caller
        checked that every value is finite, or where they are (rows, cols); None: checked here."""
        rows = min(prediction.shape[1], self.weights.shape[0] - (y - self.top))
        cols = min(prediction.shape[2], self.weights.shape[1] - x)
        r0 = y - self.top
        w = weight[:rows, :cols]
        values = prediction[:, :rows, :cols]
        if finite is not True:
            finite = np.isfinite(values).all(axis=0) if finite is None else finite[:rows, :cols]
        if finite is not True and not finite.all():  # NaN * 0 is NaN: keep them out of the sums, count them apart
            if self.bad is None:
                self.bad = np.zeros_like(self.weights)
            self.bad[r0:r0 + rows, x:x + cols] += np.where(finite, np.float32(0), w)
            values = np.where(finite, values, np.float32(0))
        if self._scratch.size < values.size:
            self._scratch = np.empty(values.size, np.float32)
        weighted = self._scratch[:values.size].reshape(values.shape)
        np.multiply(values, w, out=weighted)
        self.values[:, r0:r0 + rows, x:x + cols] += weighted
        self.weights[r0:r0 + rows, x:x + cols] += w

    def mark_valid(self, valid: np.ndarray, x: int, y: int) -> None:
        """The validity of a predicted window starting at (x, y) (tiling.tile_valid)."""
        rows = min(valid.shape[0], self.weights.shape[0] - (y - self.top))
        cols = min(valid.shape[1], self.weights.shape[1] - x)
        self.valid[y - self.top:y - self.top + rows, x:x + cols] = valid[:rows, :cols]

    def not_finite(self, start: int, stop: int) -> Optional[np.ndarray]:
        """True where a tile that counts (weight above 0) predicted NaN or infinity; None when none did."""
        if self.bad is None:
            return None
        return self.bad[start - self.top:stop - self.top] > 0

    def blended(self, start: int, stop: int) -> np.ndarray:
        """Normalised rows ``start`` to ``stop`` (raster rows, exclusive end) of the buffer."""
        a, b = start - self.top, stop - self.top
        weights = self.weights[a:b]
        return self.values[:, a:b] / np.where(weights > 0, weights, np.float32(1.0))

    def roll(self, until: int) -> None:
        """Drop the finished rows above ``until``; the buffer moves up by as many rows."""
        count = until - self.top
        arrays = [self.values, self.weights[np.newaxis], self.valid[np.newaxis]] + \
            ([] if self.bad is None else [self.bad[np.newaxis]])
        for array in arrays:
            height = array.shape[1]
            for row in range(0, height - count, count):  # non-overlapping chunks: no temporary copy
                stop = min(row + count, height - count)
                array[:, row:stop] = array[:, row + count:stop + count]
            array[:, max(0, height - count):] = 0
        self.top = until


def stream_tiles(model: Model, plan: TilePlan, scaling: InputTransform, paths: Dict[str, str], steps: Steps,
                 input_path: str, class_colours: Optional[Dict[int, Tuple[int, int, int]]] = None,
                 only_class: OnlyClass = None) -> OutputWriters:
    blender, writers, done = None, None, 0
    inputs = None  # the batch's model input, filled tile by tile in place
    for index, y in enumerate(plan.rows):
        row_weight = axis_weight(y, plan.out[0], plan.height)
        for start in range(0, len(plan.cols), plan.batch):
            xs, valid = plan.cols[start:start + plan.batch], []
            with read_check(input_path, "input raster"):
                for offset, x in enumerate(xs):
                    pixels = plan.read(x, y)
                    if inputs is None:
                        inputs = np.zeros((plan.batch,) + pixels.shape, model.input_type)
                    scaling.apply(pixels, out=inputs[offset])
                    if plan.nodata_rule is not None:  # the predicted window's validity, from the values read
                        (m0, m1), (o0, o1) = plan.margin, plan.out
                        valid.append(tile_valid(pixels[:, m0:m0 + o0, m1:m1 + o1], plan.nodata_rule))
            if len(xs) < plan.batch:  # a model with a fixed batch size takes full batches only (zeros after)
                inputs[len(xs):] = 0
            heads = run_heads(model, inputs if model.batch or len(xs) == plan.batch else inputs[:len(xs)])
            prediction = heads[0] if len(heads) == 1 else np.concatenate(heads, axis=1)
            if blender is None:
                channels = [head.shape[1] for head in heads]
                writers = OutputWriters(paths, plan.source, prediction.shape[1], model.info, class_colours,
                                        only_class, channels,
                                        [model.class_names_of(i, c) for i, c in enumerate(channels)],
                                        model.head_labels)
                blender = RowBlender(writers.blended_channels, min(plan.out[0], plan.height), plan.width)
                blender.top = y
            # every channel checked (also those reduce drops): a non-finite one makes the pixel not finite
            finite = True if np.isfinite(prediction).all() else np.isfinite(prediction).all(axis=1)
            blended = writers.reduce(prediction)
            for offset, x in enumerate(xs):
                weight = row_weight[:, np.newaxis] * plan.col_weights[start + offset][np.newaxis, :]
                blender.add(blended[offset], x, y, weight, finite if finite is True else finite[offset])
                if valid:
                    blender.mark_valid(valid[offset], x, y)
            done += len(xs)
            steps.report(done / plan.tile_count)
        until = plan.rows[index + 1] if index + 1 < len(plan.rows) else plan.height
        _emit(blender, writers, plan, until, input_path)
    return writers


def _emit(blender: RowBlender, writers: OutputWriters, plan: TilePlan, until: int, input_path: str) -> None:
    """Write the rows no later tile touches, in strips of EMIT_ROWS to keep temporaries small."""
    for row in range(blender.top, until, EMIT_ROWS):
        stop = min(until, row + EMIT_ROWS)
        if plan.nodata_rule is not None:
            valid = blender.valid[row - blender.top:stop - blender.top].copy()
        else:
            with read_check(input_path, "input raster"):
                valid = read_valid(plan.source, plan.bands, 0, row, plan.width, stop - row)
        writers.write(row, blender.blended(row, stop), valid, blender.not_finite(row, stop))
    blender.roll(until)
