"""USGS Landsat Collection 2 Level-1 band files: their DN as top-of-atmosphere reflectance.

A C2 Level-1 product (LC08_L1TP_..., LE07_L1GT_..., LT05_L1GS_..., collection 02) stores each band as a GeoTIFF
of DN named ``<product id>_B<n>.TIF``, without scale/offset tags. Its metadata file beside them
(``<product id>_MTL.txt``, also published as ``_MTL.json`` and ``_MTL.xml``; USGS LSDS-1822 for Landsat 8-9,
the Landsat 4-7 Collection 2 Level-1 DFCBs for the others) gives per reflective band REFLECTANCE_MULT_BAND_n and
REFLECTANCE_ADD_BAND_n (group LEVEL1_RADIOMETRIC_RESCALING) and the scene's SUN_ELEVATION (IMAGE_ATTRIBUTES):
top-of-atmosphere reflectance = (REFLECTANCE_MULT_BAND_n x DN + REFLECTANCE_ADD_BAND_n) / sin(SUN_ELEVATION).

toa_reflectance turns the files behind each raster band into that (scale, offset) per band; dataset_toa_reflectance
finds those files with GDAL (a band's own file, or the file a VRT band reads). Files named as such a product whose
factors cannot be known are an error that says what to do, never a guess.
"""
import json
import logging
import math
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from osgeo import gdal

from ..util.metadata_xml import parse_metadata_xml
from ..util.raster_read import band_sources
from ..util.errors import LabelMigrationError
from .names import ProductId, product_id

LOG = logging.getLogger(__name__)

SENSOR = "USGS Landsat Collection 2 Level-1"
# the band number after the product id: _B4.TIF, _B6_VCID_1.TIF (Landsat 7's thermal band), ..._B10
_BAND_FILE = re.compile(r"^_B([1-9]\d?)(?:_VCID_[12])?(?:\.[A-Za-z0-9]+)*$", re.IGNORECASE)
# a band description naming the Landsat band alone; zero-padded names (B02, B8A) are Sentinel-2's, not Landsat's.
# Collection 1 products made by USGS ESPA name their files <product id>_sr_band<n>.tif (toa_, bt_ likewise), in the
# sensor's numbering; their angle files (sensor_azimuth_band4) are not bands of the image.
_BAND_DESCRIPTION = re.compile(r"^(?:.*_)?(?:B|(?:sr|toa|bt)_band)([1-9]\d?)(?:_VCID_[12])?(?:\.(?:TIF|img))?$",
                               re.IGNORECASE)
MTL_SUFFIXES = ("_MTL.txt", "_MTL.json", "_MTL.xml")
_RESCALING, _ATTRIBUTES = "LEVEL1_RADIOMETRIC_RESCALING", "IMAGE_ATTRIBUTES"
_ADVICE = "or choose INPUT_SCALING explicitly ('raw DN' reads the values as they are stored)"


class UnknownLandsatBand(LabelMigrationError):
    """A file named as a Level-1 product, but not which band it holds: a stack someone made, whose values may
    already be something else than the product's DN."""


def _level1(name: str) -> Optional[ProductId]:
    """The C2 Level-1 product id in a file name (with its tier, as the MTL is named), or None."""
    found = product_id(name)
    return found if found and found.level.startswith("L1") and found.collection == "02" and \
        found.full != found.prefix else None


def band_number(name: str, description: str = "") -> Optional[int]:
    """The Landsat band number of a product's band file (``..._B4.TIF``), else of its band description (B4,
    ..._B4), else None."""
    found = _level1(name)
    matched = _BAND_FILE.match(found.rest) if found else None
    matched = matched or _BAND_DESCRIPTION.match(str(description or "").strip())
    return int(matched.group(1)) if matched else None


def parse_mtl(text: str, kind: str = "txt") -> Dict[str, Dict[str, str]]:
    """group name -> {key: value as text} of an MTL file: ``txt`` (GROUP = NAME ... KEY = VALUE ... END_GROUP =
    NAME), ``json`` (the same groups as nested objects) or ``xml`` (the same groups as nested elements)."""
    groups: Dict[str, Dict[str, str]] = {}
    if kind == "json":
        def walk(name, node):
            for key, value in node.items():
                if isinstance(value, dict):
                    walk(key, value)
                else:
                    groups.setdefault(name, {})[key] = str(value)
        walk("", json.loads(text))
    elif kind == "xml":
        for element in parse_metadata_xml(text).iter():
            for child in element:
                if not child.children:  # a value (tags come without their namespace)
                    groups.setdefault(element.tag, {})[child.tag] = (child.text or "").strip()
    else:
        stack = [""]
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            key, value = key.strip(), value.strip().strip('"')
            if not sep:
                continue
            if key == "GROUP":
                stack.append(value)
            elif key == "END_GROUP" and len(stack) > 1:
                stack.pop()
            else:
                groups.setdefault(stack[-1], {})[key] = value
    return groups


def find_mtl(band_file: str, product: str) -> Optional[str]:
    """The product's MTL file in the band file's folder (txt, else json, else xml; the name's case aside)."""
    folder = os.path.dirname(os.path.abspath(band_file)) if band_file else os.getcwd()
    try:
        names = {name.lower(): name for name in os.listdir(folder)}
    except OSError:
        return None
    for suffix in MTL_SUFFIXES:
        name = names.get((product + suffix).lower())
        if name:
            return os.path.join(folder, name)
    return None


def read_mtl(path: str) -> Dict[str, Dict[str, str]]:
    kind = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_mtl(handle.read(), kind if kind in ("json", "xml") else "txt")
    except (OSError, ValueError) as error:  # MetadataXmlError is a ValueError
        raise LabelMigrationError(f"The Landsat metadata file '{path}' cannot be read ({error}). Put the product's "
                                  f"_MTL.txt as USGS delivers it beside the band files, {_ADVICE}.") from error


def _number(groups: Dict[str, Dict[str, str]], group: str, key: str, path: str) -> Optional[float]:
    text = groups.get(group, {}).get(key)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise LabelMigrationError(f"The Landsat metadata file '{path}' gives {key} = '{text}', not a number. Put the "
                                  f"product's _MTL.txt as USGS delivers it beside the band files, {_ADVICE}.")
    return value


def band_factors(mtl: str, groups: Dict[str, Dict[str, str]], band: int) -> Tuple[float, float, float]:
    """(REFLECTANCE_MULT_BAND_n, REFLECTANCE_ADD_BAND_n, SUN_ELEVATION) of band n from a parsed MTL."""
    mult = _number(groups, _RESCALING, f"REFLECTANCE_MULT_BAND_{band}", mtl)
    add = _number(groups, _RESCALING, f"REFLECTANCE_ADD_BAND_{band}", mtl)
    if mult is None or add is None or mult == 0:
        raise LabelMigrationError(
            f"The Landsat metadata file '{mtl}' gives no reflectance factors (REFLECTANCE_MULT_BAND_{band}, "
            f"REFLECTANCE_ADD_BAND_{band}) for band {band}: a thermal band holds radiance, not reflectance. Leave the "
            f"band out (BANDS, or a stack of the reflective bands only), {_ADVICE}.")
    elevation = _number(groups, _ATTRIBUTES, "SUN_ELEVATION", mtl)
    if elevation is None or not 0 < elevation <= 90:
        raise LabelMigrationError(
            f"The Landsat metadata file '{mtl}' gives the sun elevation {elevation} (SUN_ELEVATION), so its DN do not "
            f"make top-of-atmosphere reflectance (the sun must be above the horizon). Use a daytime scene, {_ADVICE}.")
    return mult, add, elevation


def toa_reflectance(sources: Sequence[Sequence[str]], descriptions: Sequence[str] = ()
                    ) -> Optional[Tuple[List[Tuple[float, float]], str]]:
    """Per raster band (scale, offset) making top-of-atmosphere reflectance of C2 Level-1 DN, and why in words; None
    when no band comes from a file named as such a product. sources: per band, the files it is read from (the
    dataset's own file for a plain GeoTIFF); descriptions: per band, its description (B<n> gives the band number
    where the file name does not, as in a stack). An error when a band's factors cannot be known."""
    descriptions = list(descriptions) + [""] * (len(sources) - len(descriptions))
    named = [[path for path in files if _level1(path)] for files in sources]
    if not any(named):
        return None
    factors, mtls, elevations = [], {}, set()
    for index, (files, description) in enumerate(zip(named, descriptions), start=1):
        if not files:
            others = ", ".join(f"'{os.path.basename(path)}'" for path in sources[index - 1]) or "an unnamed source"
            raise LabelMigrationError(
                f"Some bands of the input raster come from USGS Landsat Collection 2 Level-1 files, but band {index} "
                f"comes from {others}, which is not one. Stack only the product's band files (..._B2.TIF ...), "
                f"{_ADVICE}.")
        band_values = set()
        for path in files:
            product = _level1(path).full
            number = band_number(path, description)
            if number is None:
                raise UnknownLandsatBand(
                    f"Band {index} of the input raster comes from '{os.path.basename(path)}', a USGS Landsat "
                    f"Collection 2 Level-1 product, but neither its file name (..._B<n>.TIF) nor its description "
                    f"says which Landsat band it is, so its reflectance factors are unknown. Build the raster from "
                    f"the product's band files as USGS names them, name each band B<n> (the Landsat band number), "
                    f"{_ADVICE}.")
            key = (os.path.dirname(os.path.abspath(path)), product)
            if key not in mtls:
                mtl = find_mtl(path, product)
                if mtl is None:
                    raise LabelMigrationError(
                        f"'{os.path.basename(path)}' is a USGS Landsat Collection 2 Level-1 band file, whose DN become "
                        f"top-of-atmosphere reflectance only with the factors of the product's metadata file, but no "
                        f"{product}_MTL.txt (nor _MTL.json, _MTL.xml) lies beside it in '{key[0]}'. Put the "
                        f"product's _MTL.txt beside the band files, {_ADVICE}.")
                mtls[key] = (mtl, read_mtl(mtl))
            mtl, groups = mtls[key]
            mult, add, elevation = band_factors(mtl, groups, number)
            radians = math.radians(elevation)
            band_values.add((mult / math.sin(radians), add / math.sin(radians)))
            elevations.add((os.path.basename(mtl), elevation))
        if len(band_values) > 1:
            raise LabelMigrationError(
                f"Band {index} of the input raster is a mosaic of USGS Landsat Collection 2 Level-1 scenes whose "
                f"reflectance factors or sun elevations differ, so no one scale makes its reflectance. Convert each "
                f"scene to reflectance first, {_ADVICE}.")
        factors.append(band_values.pop())
    sun = ", ".join(f"{elevation:g}° in {name}" for name, elevation in sorted(elevations))
    first = next(path for files in named for path in files)
    return factors, (f"'{os.path.basename(first)}' is a {SENSOR} file of DN without scale/offset: top-of-atmosphere "
                     f"reflectance = (REFLECTANCE_MULT_BAND_n x DN + REFLECTANCE_ADD_BAND_n) / sin(SUN_ELEVATION), "
                     f"with the factors of its MTL file and the sun elevation {sun} (USGS Collection 2 Level-1 "
                     f"DFCBs, e.g. LSDS-1822)")


def dataset_toa_reflectance(dataset: gdal.Dataset, bands: Sequence[int], strict: bool = True
                            ) -> Optional[Tuple[List[Tuple[float, float]], str]]:
    """toa_reflectance of ``bands`` of an open dataset. Not strict (INPUT_SCALING 'raw DN' asked for): where the
    factors cannot be known, the log says so and None reads the values as stored. A raster named as a product but
    not as its band files (a stack without B<n> band names) is read as stored either way, with a warning in the
    log: its values may already be reflectance or Sentinel-2-like DN."""
    descriptions = [dataset.GetRasterBand(number).GetDescription() for number in bands]
    try:
        return toa_reflectance(band_sources(dataset, bands), descriptions)
    except UnknownLandsatBand as error:  # not USGS's own band files: their values are not known to be its DN
        LOG.warning("The values are read as stored: %s", error)
    except LabelMigrationError as error:
        if strict:
            raise
        LOG.warning("The values are read as stored, as INPUT_SCALING 'raw DN' asks: %s", error)
        return None
