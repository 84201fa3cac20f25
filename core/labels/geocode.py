"""Geocode a label image (PNG/JPEG/plain TIFF) onto the grid of its georeferenced reference."""
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
from osgeo import gdal

from ..util.dates import date_from_metadata, date_from_name, first_date
from ..util.errors import LabelMigrationError
from ..util.outputs import atomic_output, check_output_path
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import has_geotransform, require_georeferenced
from ..util.raster_read import (VALIDITY_BAND_NAME, check_raster_size, open_raster, read_check, row_strips,
                                strip_height_for, valid_mask)
from ..util.raster_write import LABEL_BAND_NAME, color_table_from, create_gtiff

MAX_CLASS_COLOURS = 255  # index 0..254 for colours; keeps uint8 labels


@dataclass
class GeocodeResult:
    output: str
    width: int
    height: int
    classes: Dict[int, str] = field(default_factory=dict)  # index -> '#rrggbb' of colour-coded labels
    resized: bool = False
    warnings: List[str] = field(default_factory=list)


def _colour_hex(packed: int) -> str:
    return f"#{packed:06x}"


def _pack_rgb(block: np.ndarray) -> np.ndarray:
    """(3, rows, cols) uint8 -> (rows, cols) uint32 0xRRGGBB."""
    rgb = block.astype(np.uint32)
    return (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]


class _LabelSource:
    """Reads a label image strip by strip, as class values plus a validity mask from its alpha."""

    def __init__(self, path: str, dataset: gdal.Dataset):
        self.path = path
        self.dataset = dataset
        interpretations = [dataset.GetRasterBand(i + 1).GetColorInterpretation() for i in range(dataset.RasterCount)]
        self.alpha_band = next(
            (i + 1 for i, kind in enumerate(interpretations) if kind == gdal.GCI_AlphaBand), None
        )
        if self.alpha_band is None and dataset.RasterCount in (2, 4):
            self.alpha_band = dataset.RasterCount  # LA / RGBA PNGs
        self.value_bands = [i + 1 for i in range(dataset.RasterCount) if i + 1 != self.alpha_band]
        if len(self.value_bands) not in (1, 3):
            raise LabelMigrationError(
                f"The label '{path}' has {dataset.RasterCount} bands; a label image has one band of class "
                f"values or three bands (RGB) of class colours, optionally with an alpha band."
            )
        for index in self.value_bands:
            if dataset.GetRasterBand(index).DataType != gdal.GDT_Byte:
                kind = gdal.GetDataTypeName(dataset.GetRasterBand(index).DataType)
                raise LabelMigrationError(
                    f"The label '{path}' holds {kind} values; labels must be 8-bit class values (0-255)."
                )
        self.colour_coded = False
        self.palette: Dict[int, int] = {}  # packed colour -> class index

    def read(self, row: int, rows: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        width = self.dataset.RasterXSize
        with read_check(self.path, "label"):
            values = np.stack(
                [self.dataset.GetRasterBand(i).ReadAsArray(0, row, width, rows) for i in self.value_bands]
            )
            alpha = (
                self.dataset.GetRasterBand(self.alpha_band).ReadAsArray(0, row, width, rows) != 0
                if self.alpha_band else None
            )
        return values, alpha

    def scan_colours(self, steps: Steps) -> None:
        """First pass over an RGB label: decide between grey values and colour classes."""
        if len(self.value_bands) == 1:
            return
        colours = set()
        height = self.dataset.RasterYSize
        strip = strip_height_for(self.dataset, self.dataset.RasterXSize * 4)
        for row, rows in row_strips(height, strip):
            values, alpha = self.read(row, rows)
            packed = _pack_rgb(values)
            colours.update(np.unique(packed if alpha is None else packed[alpha]).tolist())
            if len(colours) > MAX_CLASS_COLOURS:
                raise LabelMigrationError(
                    f"The label '{self.path}' has more than {MAX_CLASS_COLOURS} distinct colours, so it is "
                    f"not a colour-coded class label (a photo, or a label saved as lossy JPEG?). "
                    f"Save labels as PNG with one colour per class."
                )
            steps.report((row + rows) / height)
        greys = all((c >> 16) == ((c >> 8) & 0xFF) == (c & 0xFF) for c in colours)
        if greys:
            return  # '#050505' is class 5: the grey value is the class
        self.colour_coded = True
        ordered = sorted(colours)
        if 0 in colours:  # black is background
            ordered.remove(0)
            self.palette[0] = 0
        for index, colour in enumerate(ordered, start=1):
            self.palette[colour] = index

    def classes(self, row: int, rows: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        values, alpha = self.read(row, rows)
        if len(self.value_bands) == 1:
            return values[0], alpha
        if not self.colour_coded:
            return values[0], alpha
        packed = _pack_rgb(values)
        colours = np.array(sorted(self.palette), dtype=np.uint32)
        indices = np.array([self.palette[c] for c in colours.tolist()], dtype=np.uint8)
        position = np.searchsorted(colours, packed)
        position = np.clip(position, 0, len(colours) - 1)
        known = colours[position] == packed
        classes = np.where(known, indices[position], 0).astype(np.uint8)
        if alpha is not None:
            alpha = alpha & known
        return classes, alpha


def _resized_view(dataset: gdal.Dataset, width: int, height: int) -> gdal.Dataset:
    """A virtual nearest-neighbour resampling of the label to width x height."""
    return gdal.Translate("", dataset, format="VRT", width=width, height=height, resampleAlg="near")


def _label_date(label_path: str, reference_path: str, reference: gdal.Dataset):
    return first_date((date_from_name(label_path), date_from_name(reference_path),
                       date_from_metadata(reference.GetMetadata() or {})))


def geocode_mask(label_path: str, reference_path: str, output: str, validity_band: bool = True,
                 resize: bool = False, progress: Optional[ProgressCallback] = None,
                 is_cancelled: Optional[CancelCheck] = None) -> GeocodeResult:
    """Write label_path as a GeoTIFF on reference_path's grid.

    Band 1 holds the label's class values unchanged (RGB colour codes become class indices with
    a colour table); band 2, when validity_band is set, is 1 where the reference has data (and
    the label's alpha, if any, is opaque) and 0 elsewhere.
    """
    steps = Steps(progress, is_cancelled)
    check_output_path(output, [label_path, reference_path])
    with gdal_errors():
        reference = open_raster(reference_path, "reference raster")
        srs, transform = require_georeferenced(reference, reference_path, "reference raster")
        # the output has the reference's size and every label pixel is read: both within the limit
        check_raster_size(reference, reference_path, "reference raster", "crop it (and the label) first")
        label_dataset = open_raster(label_path, "label")
        check_raster_size(label_dataset, label_path, "label", "crop it (and the reference) first")
        result = GeocodeResult(output=output, width=reference.RasterXSize, height=reference.RasterYSize)
        if has_geotransform(label_dataset) or label_dataset.GetProjection():
            result.warnings.append(
                f"The label '{label_path}' has georeferencing of its own; it is replaced by the reference's."
            )
        size = (label_dataset.RasterXSize, label_dataset.RasterYSize)
        target_size = (reference.RasterXSize, reference.RasterYSize)
        if size != target_size:
            if not resize:
                raise LabelMigrationError(
                    f"The label '{label_path}' is {size[0]} x {size[1]} pixels but the reference "
                    f"'{reference_path}' is {target_size[0]} x {target_size[1]}. Use the label's own reference "
                    f"image, or allow resizing (nearest neighbour) if the label was drawn on a rescaled copy."
                )
            if abs(size[0] / size[1] - target_size[0] / target_size[1]) > 0.01 * target_size[0] / target_size[1]:
                result.warnings.append(
                    f"The label's aspect ratio ({size[0]}x{size[1]}) differs from the reference's "
                    f"({target_size[0]}x{target_size[1]}); the label is stretched to fit."
                )
            label_dataset = _resized_view(label_dataset, *target_size)
            result.resized = True
        source = _LabelSource(label_path, label_dataset)
        source.scan_colours(steps.sub(0.0, 0.3))
        with atomic_output(output) as temporary:
            _write(temporary, source, reference, reference_path, srs.ExportToWkt(), transform,
                   validity_band, _label_date(label_path, reference_path, reference), result,
                   steps.sub(0.3 if source.colour_coded else 0.0, 1.0))
    return result


def _write(path, source: _LabelSource, reference, reference_path, srs_wkt, transform, validity_band,
           label_date, result: GeocodeResult, steps: Steps) -> None:
    width, height = reference.RasterXSize, reference.RasterYSize
    out = create_gtiff(path, width, height, 2 if validity_band else 1, gdal.GDT_Byte, srs_wkt, transform)
    label_band = out.GetRasterBand(1)
    label_band.SetDescription(LABEL_BAND_NAME)
    if source.colour_coded:
        colours = {index: ((c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF) for c, index in source.palette.items()}
        label_band.SetColorTable(color_table_from(colours))
        label_band.SetColorInterpretation(gdal.GCI_PaletteIndex)
        result.classes = {index: _colour_hex(c) for c, index in sorted(source.palette.items(), key=lambda kv: kv[1])}
    else:
        table = source.dataset.GetRasterBand(source.value_bands[0]).GetColorTable()
        if table is not None and len(source.value_bands) == 1:
            label_band.SetColorTable(table)
            label_band.SetColorInterpretation(gdal.GCI_PaletteIndex)
    metadata = {"LABEL_SOURCE": os.path.basename(source.path), "REFERENCE": os.path.basename(reference_path)}
    if result.classes:
        metadata["LABEL_CLASS_COLOURS"] = json.dumps(result.classes)
    if label_date:
        metadata["LABEL_DATE"] = label_date.isoformat()
    out.SetMetadata(metadata)
    if validity_band:
        out.GetRasterBand(2).SetDescription(VALIDITY_BAND_NAME)
    strip = strip_height_for(reference, width * 8)
    any_valid = False
    for row, rows in row_strips(height, strip):
        classes, alpha = source.classes(row, rows)
        label_band.WriteArray(classes, 0, row)
        if validity_band:
            with read_check(reference_path, "reference raster"):
                valid = valid_mask(reference, 0, row, width, rows)
            if alpha is not None:
                valid &= alpha
            any_valid = any_valid or bool(valid.any())
            out.GetRasterBand(2).WriteArray(valid.astype(np.uint8), 0, row)
        steps.report((row + rows) / height)
    if validity_band and not any_valid:
        raise LabelMigrationError(
            f"No pixel of the label '{source.path}' would be valid: the reference raster '{reference_path}' holds "
            f"only nodata{' where the label is not transparent' if source.alpha_band else ''}. Use the image the "
            f"label was drawn on, or turn the validity band off.")
    out.FlushCache()
    out = None
