"""Class configurations for rasterizing vector labels: names, colours and QGIS filter expressions.

Two JSON forms load:

* a list ``[{"name": "Water", "color": "#010101", "filter": "\\"natural\\" = 'water'"}, ...]``;
* skynet-data's form, an object with a ``classes`` list of the same entries, whose filters use
  Mapnik's ``[field]`` syntax (``[natural] = 'water'``); those become QGIS's ``"field"``.

Class indexes follow the order of the list, from 1; 0 is the implicit background. Later classes
paint over earlier ones when rasterizing. Each class's ``color`` is its *encoding* colour, the one
written to the RGB-encoded output (skynet-data uses near-black greys #010101, #020202, ... so that
the red channel is the class index); :func:`display_colours` gives visible colours for QGIS.
"""
import colorsys
import json
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from ..util.errors import LabelMigrationError
from ..util.limits import check_metadata_size
from ..util.paths import unreadable_reason

RGB = Tuple[int, int, int]
BACKGROUND: RGB = (0, 0, 0)
MAX_CLASSES = 255  # the class raster is uint8, 0 being the background

# Colours whose channels are all at most this and nearly equal read as black in QGIS.
_NEAR_BLACK = 32
# The one class palette (matplotlib's tab20): the colour tables written into class rasters (palette_colours,
# display_colours) and the colours QGIS gives label rasters without a colour table (processing/styles.py) both
# come from here, so a class shows in the same colour in every layer.
PALETTE: Tuple[RGB, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
    (227, 119, 194), (188, 189, 34), (23, 190, 207), (127, 127, 127), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (219, 219, 141),
    (158, 218, 229), (199, 199, 199),
)


@dataclass(frozen=True)
class ClassConfig:
    index: int  # the value in the class raster, from 1
    name: str
    color: RGB  # the encoding colour
    filter: str  # a QGIS expression


def parse_colour(value, where: str) -> RGB:
    """(r, g, b) from '#rrggbb', '#rgb' or a list of three 0..255 integers."""
    if isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})", text)
        if match:
            digits = match.group(1)
            if len(digits) == 3:
                digits = "".join(d * 2 for d in digits)
            return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    elif isinstance(value, (list, tuple)) and len(value) == 3 and all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value):
        return tuple(value)
    raise LabelMigrationError(
        f"{where} has the colour {value!r}, which is not a colour: write it as '#rrggbb' (for example '#010101')."
    )


def qgis_filter(expression: str) -> str:
    """The expression with Mapnik's [field] references written as QGIS's "field"; quoted strings are kept."""
    out, i, n = [], 0, len(expression)
    while i < n:
        char = expression[i]
        if char == "'":  # a string literal; '' is an escaped quote
            end = i + 1
            while end < n:
                if expression[end] == "'":
                    if end + 1 < n and expression[end + 1] == "'":
                        end += 2
                        continue
                    break
                end += 1
            out.append(expression[i:end + 1])
            i = end + 1
        elif char == '"':  # already a QGIS field reference
            end = expression.find('"', i + 1)
            end = n - 1 if end < 0 else end
            out.append(expression[i:end + 1])
            i = end + 1
        elif char == "[":
            end = expression.find("]", i + 1)
            if end < 0:
                out.append(expression[i:])
                break
            name = expression[i + 1:end].strip()
            out.append('"' + name.replace('"', '""') + '"')
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _load_json(text_or_path) -> Union[list, dict]:
    if isinstance(text_or_path, (list, dict)):
        return text_or_path
    if isinstance(text_or_path, os.PathLike):
        text_or_path = os.fspath(text_or_path)
    if not isinstance(text_or_path, str) or not text_or_path.strip():
        raise LabelMigrationError("No class configuration was given.")
    text, source = text_or_path, "The class configuration"
    if not text.lstrip().startswith(("[", "{")):
        text, source = _read_config_file(text)
    else:
        check_metadata_size(len(text.encode("utf-8", "surrogatepass")), source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise LabelMigrationError(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from error
    except RecursionError:  # Python up to 3.12 stops there; 3.13 parses any depth (checked below)
        data = _TOO_DEEP
    if data is _TOO_DEEP or _nesting(data) > MAX_NESTING:
        raise LabelMigrationError(
            f"{source} is not valid JSON for a class configuration: it is nested too deeply. A class "
            f"configuration is a list of {{name, color, filter}} objects.") from None
    return data


def _nesting(data) -> int:
    """How deeply lists and objects nest in parsed JSON (without recursion: any depth is measured)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


MAX_NESTING = 32  # a class configuration nests 3 deep; far deeper JSON is damage or an attack
_TOO_DEEP = object()


def _read_config_file(path: str) -> Tuple[str, str]:
    """(text, how to name it) of a class configuration file, refusing missing, unreadable or huge files."""
    if len(path) > 4096 or "\n" in path:
        raise LabelMigrationError(
            "The class configuration is neither JSON (a list or object starting with '[' or '{') nor the path "
            "of an existing file.")
    problem = unreadable_reason(path) or (None if os.path.isfile(path) else
                                          f"'{path}' is a folder" if os.path.isdir(path) else f"'{path}' is not a file")
    if problem:
        raise LabelMigrationError(f"The class configuration is neither JSON nor a file that can be read: {problem}.")
    source = f"The class configuration file '{path}'"
    check_metadata_size(os.path.getsize(path), source)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read(), source
    except (OSError, UnicodeDecodeError) as error:
        raise LabelMigrationError(f"{source} cannot be read as UTF-8 text: {error}.") from error


def load_class_config(text_or_path) -> List[ClassConfig]:
    """Classes from JSON text, a JSON file, or already parsed JSON; see the module docstring."""
    data = _load_json(text_or_path)
    if isinstance(data, dict):
        if "classes" not in data:
            raise LabelMigrationError(
                "The class configuration is a JSON object without a 'classes' list; expected a list of "
                "{name, color, filter} entries or an object with such a 'classes' list."
            )
        data = data["classes"]
    if not isinstance(data, list) or not data:
        raise LabelMigrationError("The class configuration must hold a non-empty list of {name, color, filter} "
                                  "entries.")
    if len(data) > MAX_CLASSES:
        raise LabelMigrationError(f"The class configuration has {len(data)} classes; at most {MAX_CLASSES} fit a "
                                  "class raster.")
    classes: List[ClassConfig] = []
    names: Dict[str, int] = {}
    colours: Dict[RGB, int] = {}
    for index, entry in enumerate(data, start=1):
        where = f"Class {index}"
        if not isinstance(entry, dict):
            raise LabelMigrationError(f"{where} of the class configuration is not a {{name, color, filter}} object.")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise LabelMigrationError(f"{where} of the class configuration has no name.")
        name = name.strip()
        where = f"Class {index} ('{name}')"
        if name.lower() in names:
            raise LabelMigrationError(
                f"{where} has the same name as class {names[name.lower()]}; class names must be unique."
            )
        if "color" not in entry and "colour" not in entry:
            raise LabelMigrationError(f"{where} has no color.")
        colour = parse_colour(entry.get("color", entry.get("colour")), where)
        if colour == BACKGROUND:
            raise LabelMigrationError(f"{where} has the colour #000000, which is reserved for the background.")
        if colour in colours:
            raise LabelMigrationError(
                f"{where} has the same colour as class {colours[colour]}; each class needs its own colour."
            )
        expression = entry.get("filter")
        if not isinstance(expression, str) or not expression.strip():
            raise LabelMigrationError(f"{where} has no filter expression.")
        names[name.lower()] = index
        colours[colour] = index
        classes.append(ClassConfig(index, name, colour, qgis_filter(expression.strip())))
    return classes


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


def color_table(config: Sequence[ClassConfig], display: bool = False) -> Dict[int, RGB]:
    """{index: (r, g, b)} for a GDAL colour table (see rasters.color_table_from), background 0 black.

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
