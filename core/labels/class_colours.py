"""Colours of class rasters: the one class palette, visible colours for QGIS, colour tables, and the
RGB encoding of class rasters (each class painted with its configuration's encoding colour)."""
import colorsys
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np

from ..util.errors import LabelMigrationError
from .class_config import BACKGROUND, RGB, ClassConfig, parse_colour

# Colours whose channels are all at most this and nearly equal read as black in QGIS.
_NEAR_BLACK = 32
# The one class palette (matplotlib's tab20): the colour tables written into class rasters (palette_colours,
# display_colours) and the colours QGIS gives label rasters without a colour table (qgis_common/styles.py) both
# come from here, so a class shows in the same colour in every layer.
PALETTE: Tuple[RGB, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
    (227, 119, 194), (188, 189, 34), (23, 190, 207), (127, 127, 127), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (219, 219, 141),
    (158, 218, 229), (199, 199, 199),
)


def _near_black(colour: RGB) -> bool:
    return max(colour) <= _NEAR_BLACK and max(colour) - min(colour) <= 2


def display_colours(config: Sequence[ClassConfig]) -> Dict[int, RGB]:
    """{index: colour} for showing the class raster: each class's own colour, except near-black greys
    (such as skynet-data's #010101..#060606), which get distinct palette colours; 0 stays black."""
    taken = {c.color for c in config if not _near_black(c.color)}
    colours: Dict[int, RGB] = {0: BACKGROUND}
    palette = [colour for colour in PALETTE if colour not in taken]
    extra = 0
    for entry in config:
        if not _near_black(entry.color):
            colours[entry.index] = entry.color
            continue
        if palette:
            colour = palette.pop(0)
        else:  # more classes than the palette: spread hues evenly
            extra += 1
            while True:
                r, g, b = colorsys.hsv_to_rgb((extra * 0.618033988749895) % 1.0, 0.75, 0.9)
                colour = (int(r * 255), int(g * 255), int(b * 255))
                if colour not in taken:
                    break
                extra += 1
        taken.add(colour)
        colours[entry.index] = colour
    return colours


def palette_colour(index: int) -> RGB:
    """The palette's colour of class ``index`` (from 1; the palette repeats after its last colour)."""
    return PALETTE[(index - 1) % len(PALETTE)]


def palette_colours(count: int) -> Dict[int, RGB]:
    """Distinct colours for classes 1..count (class 0 black), for class rasters without a config."""
    colours: Dict[int, RGB] = {0: BACKGROUND}
    for index in range(1, count + 1):
        colours[index] = palette_colour(index)
    return colours


def model_colours(count: int, class_colors: Mapping[int, str]) -> Dict[int, RGB]:
    """Classes 0..count in the model's own colours (its class_colors metadata, '#rrggbb'), the palette's for
    classes it gives none."""
    colours = palette_colours(max([count, *class_colors]) if class_colors else count)
    colours.update({index: parse_colour(colour, f"The model's class {index}")
                    for index, colour in class_colors.items()})
    return colours


def color_table(config: Sequence[ClassConfig], display: bool = False) -> Dict[int, RGB]:
    """{index: (r, g, b)} for a GDAL colour table (see raster_write.color_table_from), background 0 black.

    display=False gives the encoding colours; display=True the visible ones of display_colours.
    """
    if display:
        return display_colours(config)
    colours = {0: BACKGROUND}
    colours.update({entry.index: entry.color for entry in config})
    return colours


def _lookup(config: Sequence[ClassConfig]) -> np.ndarray:
    table = np.zeros((256, 3), dtype=np.uint8)
    for entry in config:
        table[entry.index] = entry.color
    return table


def encode_rgb(classes_array: np.ndarray, config: Sequence[ClassConfig]) -> np.ndarray:
    """(3, rows, cols) uint8: each pixel painted with its class's encoding colour, background black."""
    values = np.asarray(classes_array)
    known = {0} | {entry.index for entry in config}
    if values.size:
        if values.min() < 0 or values.max() > 255 or not np.isin(np.unique(values), list(known)).all():
            unknown = sorted(set(np.unique(values).tolist()) - known)
            raise LabelMigrationError("The class raster holds values that are not classes of the configuration: "
                                      f"{unknown[:10]}.")
    return np.moveaxis(_lookup(config)[values.astype(np.intp)], -1, 0)


def decode_rgb(rgb: np.ndarray, config: Sequence[ClassConfig]) -> np.ndarray:
    """The class raster (rows, cols) uint8 back from an RGB-encoded (3, rows, cols) array.

    Colours that belong to no class raise an error.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[0] != 3:
        raise LabelMigrationError("An RGB-encoded class raster needs three bands.")
    code = (rgb[0].astype(np.int64) << 16) | (rgb[1].astype(np.int64) << 8) | rgb[2].astype(np.int64)
    codes = np.array([0] + [(r << 16) | (g << 8) | b for r, g, b in (e.color for e in config)], dtype=np.int64)
    indexes = np.array([0] + [e.index for e in config], dtype=np.uint8)
    order = np.argsort(codes)
    position = np.searchsorted(codes[order], code)
    position = np.clip(position, 0, len(codes) - 1)
    found = codes[order][position] == code
    if not found.all():
        raise LabelMigrationError("The RGB-encoded raster holds colours that belong to no class of the configuration.")
    return indexes[order][position]
