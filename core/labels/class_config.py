"""Class configurations for rasterizing vector labels: names, colours and QGIS filter expressions.

Two JSON forms load:

* a list ``[{"name": "Water", "color": "#010101", "filter": "\\"natural\\" = 'water'"}, ...]``;
* skynet-data's form, an object with a ``classes`` list of the same entries, whose filters use
  Mapnik's ``[field]`` syntax (``[natural] = 'water'``); those become QGIS's ``"field"``.

Class indexes follow the order of the list, from 1; 0 is the implicit background. Later classes
paint over earlier ones when rasterizing. Each class's ``color`` is its *encoding* colour, the one
written to the RGB-encoded output (skynet-data uses near-black greys #010101, #020202, ... so that
the red channel is the class index); class_colours.display_colours gives visible colours for QGIS.
"""
import json
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Tuple, Union

from ..util.errors import LabelMigrationError
from ..util.limits import check_metadata_size
from ..util.paths import unreadable_reason

RGB = Tuple[int, int, int]
BACKGROUND: RGB = (0, 0, 0)
MAX_CLASSES = 255  # the class raster is uint8, 0 being the background


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
