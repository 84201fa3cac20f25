"""SCL under a label, read in memory for rating: the same window, pixels and label placement as cropping the
SAFE product's SCL band to the label (core.labels.crop.crop_scene) gives, without writing the crop.

The label's placement on a tile grid (core.labels.crop.LabelGrid: window, footprint pixels, label warp)
depends on the label and the grid only; a LabelPlacements memo keeps it for the label's other candidates
on the same grid (the acquisitions of one tile), so a label is warped once per tile, not per candidate."""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, ogr

from ..labels.crop import LabelGrid, crop_result, label_on_grid, label_output
from ..labels.crop_window import Window, stack_window
from ..labels.footprint import valid_outline
from ..sentinel2.band_files import kept_product
from ..sentinel2.safe_product import parse_band_list
from ..sentinel2.safe_stack import BandStack, band_stack
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import GeoTransform, window_transform
from ..util.raster_read import open_raster


@dataclass
class SclWindow:
    """SCL on the label's window of the 10 m grid, as the crop's image would hold it (0 outside the
    footprint and where SCL has no data), and the label's pixels there."""
    values: np.ndarray
    label_inside: np.ndarray  # the label's valid pixels, as read back from the crop's label raster
    transform: GeoTransform
    srs_wkt: str
    covered_percent: float
    nodata_percent: float


class LabelPlacements:
    """One label's placements on the tile grids of its candidates (see the module doc); one per label."""

    def __init__(self, label_path: str):
        self.label_path = label_path
        self._label: Optional[gdal.Dataset] = None
        self._outline: Optional[ogr.Geometry] = None
        self._placed: Dict[tuple, Tuple[Window, LabelGrid, np.ndarray]] = {}

    @property
    def label(self) -> gdal.Dataset:
        if self._label is None:
            self._label = open_raster(self.label_path, "label")
        return self._label

    def outline(self) -> ogr.Geometry:
        if self._outline is None:
            self._outline = valid_outline(self.label, self.label_path)
        return self._outline

    def place(self, stack: BandStack, scene_path: str) -> Tuple[Window, LabelGrid, np.ndarray]:
        """(the window under the label on the stack's grid, the label on that window's grid, the crop's
        label values' valid pixels), as core.labels.scene_source and core.labels.crop compute them."""
        key = (tuple(stack.transform), stack.width, stack.height, stack.srs_wkt)
        if key not in self._placed:
            self._placed[key] = self._place(stack, scene_path)
        return self._placed[key]

    def _place(self, stack: BandStack, scene_path: str) -> Tuple[Window, LabelGrid, np.ndarray]:
        label, label_path = self.label, self.label_path
        placed = stack_window(stack, label, label_path, self.outline(), scene_path,
                              bytes_per_pixel=2 * len(stack.bands) + 6)
        window = placed.window
        # core.labels.crop: the label on that window's grid
        grid = label_on_grid(label, label_path, placed.label_srs, placed.label_transform, placed.srs,
                             window_transform(stack.transform, window.col, window.row),
                             (window.width, window.height), scene_path, "near", self.outline())
        values, nodata = label_output(label, label_path, grid)
        return window, grid, values != nodata


def read_scl_window(scl_path: str, other_tiles: Sequence[str], placements: LabelPlacements) -> SclWindow:
    """SCL of a SAFE product (other tiles of its datatake mosaicked in) under the label; see SclWindow."""
    with gdal_errors():
        products = [kept_product(path) for path in [scl_path, *other_tiles]]
        stack = band_stack(products, parse_band_list(products[0], ["SCL"]), resolution=10)
        try:
            window, grid, label_inside = placements.place(stack, scl_path)
            scl = stack.read(stack.bands[0], window.col, window.row, window.width, window.height)
        finally:
            stack.close()
    inner = grid.window
    values = scl[inner.row:inner.row + inner.height, inner.col:inner.col + inner.width]
    valid = values != 0
    values = np.where(grid.inside & valid, values, 0).astype(values.dtype)
    result = crop_result("", "", grid, int((grid.label_valid & ~valid).sum()))
    return SclWindow(values=values, label_inside=label_inside, transform=grid.transform, srs_wkt=grid.srs_wkt,
                     covered_percent=result.covered_percent, nodata_percent=result.nodata_percent)
