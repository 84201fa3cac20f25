"""Checks every algorithm runs on its parameters before it writes anything.

* The paths of the inputs and outputs, read from the parameter definitions, go through the core's
  path guard (core.util.paths.check_paths): no output onto an input or onto another output, no output
  folder nested with an input folder.
* A value QGIS finds unacceptable gets a message that names the parameter and what is wrong with the
  value (a missing or unreadable file, a number out of range, an unknown CRS), instead of QGIS's
  "Incorrect parameter value for X".
"""
import os
import re
from typing import Dict, Iterable, List, Optional, Tuple

from osgeo import gdal
from qgis.core import (Qgis, QgsCoordinateReferenceSystem, QgsMapLayer, QgsProcessingFeatureSourceDefinition,
                       QgsProcessingOutputLayerDefinition, QgsProcessingParameterDefinition, QgsProcessing,
                       QgsProcessingParameterFile, QgsProcessingParameterNumber, QgsProcessingUtils, QgsProperty)

from ..core.util.errors import LabelMigrationError
from ..core.util.paths import unreadable_reason
from ..core.util.gdal_settings import gdal_errors
from ..core.util.raster_read import open_raster

Named = Tuple[str, str]
INPUT_LAYER_TYPES = ("raster", "vector", "source", "multilayer", "mesh", "pointcloud")
FOLDER_DESTINATION = "folderDestination"
FILE_DESTINATIONS = ("rasterDestination", "vectorDestination", "fileDestination", "sink")
_OGR_URI = re.compile(r"""^ogr:dbname='?([^']+?)'?(?:\s+table=.*)?$""")
# QGIS's provider://source form of a layer (qgis_process INPUT=gdal://SENTINEL2_L2A:...): the source after it
_PROVIDER_URI = re.compile(r"^(?:gdal|ogr)://(.+)$", re.IGNORECASE)


class ParameterPaths:
    """The local paths an algorithm's parameters name, by role, as (parameter name, path) pairs."""

    def __init__(self):
        self.inputs: List[Named] = []
        self.input_folders: List[Named] = []
        self.outputs: List[Named] = []
        self.output_folders: List[Named] = []


def parameter_paths(definitions: Iterable[QgsProcessingParameterDefinition], parameters: Dict,
                    context) -> ParameterPaths:
    paths = ParameterPaths()
    for definition in definitions:
        name, kind = definition.name(), definition.type()
        value = parameters.get(name)
        if value is None or value == "":
            continue
        if kind == FOLDER_DESTINATION:
            paths.output_folders += [(name, path) for path in _output_paths(value)]
        elif kind in FILE_DESTINATIONS:
            paths.outputs += [(name, path) for path in _output_paths(value)]
        elif kind == "file":
            target = paths.input_folders if _is_folder_parameter(definition) else paths.inputs
            target += [(name, path) for path in _input_paths(value, context)]
        elif kind in INPUT_LAYER_TYPES:
            paths.inputs += [(name, path) for path in _input_paths(value, context)]
    return paths


def _is_folder_parameter(definition) -> bool:
    return definition.behavior() == QgsProcessingParameterFile.Behavior.Folder


def _static(value):
    if isinstance(value, QgsProperty):
        return value.staticValue() if value.propertyType() == QgsProperty.Type.StaticProperty else None
    return value


def _output_paths(value) -> List[str]:
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink
    value = _static(value)
    text = "" if value is None else str(value).strip()
    if not text or text == "TEMPORARY_OUTPUT" or text.startswith("memory:"):
        return []
    match = _OGR_URI.match(text)
    return [match.group(1) if match else text]


def _input_paths(value, context) -> List[str]:
    if isinstance(value, (list, tuple)):
        return [path for item in value for path in _input_paths(item, context)]
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        value = value.source
    value = _static(value)
    if value is None:
        return []
    if isinstance(value, QgsMapLayer):
        return [value.source()]
    text = str(value).strip()
    if not text:
        return []
    layer = QgsProcessingUtils.mapLayerFromString(text, context, False)
    if layer is not None:
        return [layer.source()]
    provider = _PROVIDER_URI.match(text)
    return [provider.group(1) if provider else text]


def explain_unacceptable(definition: QgsProcessingParameterDefinition, value, context) -> Optional[str]:
    """Why QGIS refuses value for definition, in words (None when no better reason is found)."""
    label = f"{definition.description()} ({definition.name()})"
    kind = definition.type()
    if value is None or value == "" or value == []:
        return f"{label} is required."
    if kind in INPUT_LAYER_TYPES or kind == "file":
        folder = kind == "file" and _is_folder_parameter(definition)
        for path in _input_paths(value, context):
            problem = unreadable_reason(path, folder=folder)
            if problem:
                return f"{label}: {problem}."
            if kind in ("raster", "vector", "source") or (kind == "multilayer" and _layer_type(definition)):
                problem = _gdal_problem(path, "raster" if kind == "raster" or _layer_type(definition) == "raster"
                                        else "vector")
                if problem:
                    return f"{label}: {problem}."
        if kind == "file" and definition.extension() and isinstance(value, str) \
                and not value.lower().endswith("." + definition.extension().lower()):
            return f"{label}: '{value}' is not a .{definition.extension()} file."
        if kind == "raster" and isinstance(_static(value), str):  # GDAL opens it (checked above), QGIS did not
            return (f"{label}: this QGIS ({Qgis.QGIS_VERSION}) does not load '{_static(value)}' from text, though GDAL "
                    f"opens it (QGIS 3.22 loads no GDAL subdataset name such as SENTINEL2_L2A:...; 3.40 and later "
                    f"do). Add the layer to the map and choose it, or give a VRT of it (gdalbuildvrt).")
        return None
    if kind == "number":
        return _number_problem(definition, value, label)
    if kind == "enum":
        options = definition.options()
        listed = ", ".join(f"{index} = {option}" for index, option in enumerate(options))
        return f"{label}: {value!r} is not one of the choices ({listed})."
    if kind == "crs":
        return f"{label}: {value!r} is not a coordinate reference system QGIS knows."
    return None


def _layer_type(definition) -> Optional[str]:
    """'raster' or 'vector' for a multiple-layer parameter of that kind, else None (files)."""
    layer_type = definition.layerType()
    if layer_type == QgsProcessing.SourceType.TypeRaster:
        return "raster"
    if layer_type == QgsProcessing.SourceType.TypeFile:
        return None
    return "vector"


def _gdal_problem(path: str, kind: str) -> Optional[str]:
    """Why GDAL cannot use path as a raster or vector input, in words; remote sources are not opened."""
    if path.startswith(("/vsicurl", "/vsis3", "/vsigs", "/vsiaz", "http:", "https:")):
        return None
    with gdal_errors():
        if kind == "raster":
            try:
                open_raster(path, "raster")
            except LabelMigrationError as error:
                return str(error).rstrip(".")
            return None
        if "|" in path or not os.path.exists(path):
            return None
        try:
            if gdal.OpenEx(path, gdal.OF_VECTOR | gdal.OF_READONLY) is None:
                return f"GDAL cannot open '{path}' as a vector layer"
        except RuntimeError as error:
            return f"'{path}' is not a vector layer GDAL can read ({str(error).strip().rstrip('.')})"
    return None


def _number_problem(definition, value, label: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{label}: {value!r} is not a number."
    if number != number:
        return f"{label}: {value!r} is not a number."
    minimum, maximum = definition.minimum(), definition.maximum()
    if number < minimum:
        return f"{label}: {value} is below the minimum of {minimum:g}."
    if number > maximum:
        return f"{label}: {value} is above the maximum of {maximum:g}."
    if _is_integer_parameter(definition) and number != int(number):
        return f"{label}: {value} is not a whole number."
    return f"{label}: {value!r} is not an acceptable number."


def _is_integer_parameter(definition) -> bool:
    return definition.dataType() == QgsProcessingParameterNumber.Type.Integer


def invalid_crs(definitions: Iterable[QgsProcessingParameterDefinition], parameters: Dict, context,
                algorithm) -> Optional[str]:
    """A message for the first CRS parameter whose value QGIS cannot turn into a valid CRS."""
    for definition in definitions:
        if definition.type() != "crs" or parameters.get(definition.name()) in (None, ""):
            continue
        crs = algorithm.parameterAsCrs(parameters, definition.name(), context)
        if not isinstance(crs, QgsCoordinateReferenceSystem) or not crs.isValid():
            return explain_unacceptable(definition, parameters.get(definition.name()), context)
    return None
