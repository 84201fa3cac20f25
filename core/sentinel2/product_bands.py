"""Sentinel-2 band files read as a plain raster: what reflectance their DN stand for.

A raster can read a SAFE product's bands without this plugin's SAFE reader: a VRT over the JPEG 2000 files in
``GRANULE/<granule>/IMG_DATA`` (``gdalbuildvrt -separate``), one such file, or GDAL's SENTINEL2 driver's subdataset
of the product (``SENTINEL2_L2A:<path>/MTD_MSIL2A.xml:10m:EPSG_32632``, what QGIS adds to the map when a SAFE zip is
dropped on it). Their DN carry no scale/offset; the product's MTD_MSIL1C.xml / MTD_MSIL2A.xml says what reflectance
they are: (DN + RADIO_ADD_OFFSET or BOA_ADD_OFFSET) / QUANTIFICATION_VALUE, the offset -1000 from processing baseline
04.00 on and 0 before (ESA's Sentinel-2 product specification; DESIGN.md section 4). Read as DN / 10000 instead,
such a product's reflectance comes out 0.1 too bright.

GDAL's SENTINEL2 driver names its bands 'B4, central wavelength 665 nm' with BANDNAME 'B4': product_band_names gives
them as B04. A copy of a subdataset (gdal_translate, QGIS's Save as, a crop) keeps GDAL's metadata
(PROCESSING_BASELINE, the quantification, BANDNAME) but not the product: its offset is that of its processing
baseline, and the log says so. Band files copied out of their product (T32UPC_20230615T101559_B02_10m.jp2) keep only
their band and sensing date: from 25 January 2022 on every product has the offset; before, only the product can
tell (reprocessed Collection 1 products have it), so they are read as stored with a warning in the log.

Used by core.models.input_scaling (what the model reads), core.models.band_selection (band names), core.labels.crop
and core.sentinel2.stack (what their outputs declare).
"""
import logging
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from osgeo import gdal

from ..util.metadata_xml import parse_metadata_xml
from ..util.raster_read import INTEGER_TYPES, band_sources
from .safe_metadata import band_offsets, parse_xml, quantification_value, vsi_exists, xml_text
from .safe_product import SPECTRAL_BANDS

LOG = logging.getLogger(__name__)

SUBDATASET = re.compile(r"^SENTINEL2_L(?:1C|2A):(?P<metadata>.+\.xml):[^:]+:EPSG_\d+$", re.IGNORECASE)
_SAFE_BAND_FILE = re.compile(r"^(?P<safe>.*\.SAFE)/GRANULE/[^/]+/IMG_DATA/(?:R\d{2}m/)?[^/]*_(?P<band>B\d[\dA])"
                             r"(?:_\d{2}m)?\.jp2$", re.IGNORECASE)
_LEVELS = {"Level-1C_User_Product": "L1C", "Level-2A_User_Product": "L2A"}
BASELINE_04_OFFSET = -1000.0  # RADIO_ADD_OFFSET / BOA_ADD_OFFSET of every band from processing baseline 04.00 on
BASELINE_04_START = "20220125"  # every product sensed from this day on has processing baseline 04.00 or later
# a granule's band file copied out of its SAFE product: T32UPC_20230615T101559_B02_10m.jp2 (or converted to GeoTIFF)
_GRANULE_BAND_FILE = re.compile(r"^T\d{2}[A-Z]{3}_(?P<date>\d{8})T\d{6}_(?P<band>B\d[\dA])(?:_\d{2}m)?\.(?:jp2|tiff?)$",
                                re.IGNORECASE)


def product_band_names(dataset: gdal.Dataset) -> Optional[List[str]]:
    """B01 ... B12, B8A per band, from the bands' BANDNAME items ('B4', 'B8A'), of GDAL's SENTINEL2 subdataset or of a
    copy of one that kept GDAL's metadata (gdal_translate, a crop: PROCESSING_BASELINE in the dataset, bands described
    as GDAL describes them, 'B4, central wavelength 665 nm', 'AOT, Aerosol Optical Thickness map ...', or not at all);
    else None."""
    if SUBDATASET.match(dataset.GetDescription() or ""):
        return [_band_name(dataset.GetRasterBand(number).GetMetadataItem("BANDNAME") or "")
                for number in range(1, dataset.RasterCount + 1)]
    if not (dataset.GetMetadataItem("PROCESSING_BASELINE") or "").strip():
        return None
    names = []
    for number in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(number)
        given = (band.GetMetadataItem("BANDNAME") or "").strip()
        description = band.GetDescription().strip()
        if not given or (description and description != given and
                         not description.lower().startswith(f"{given.lower()}, ")):
            return None  # the bands were renamed ('B4, central wavelength 665 nm' is GDAL's own): their names count
        names.append(_band_name(given))
    return names


def band_file_name(path: str) -> Optional[str]:
    """The band (B02, B8A ...) a Sentinel-2 granule band file holds by its name (T32UPC_20230615T101559_B02_10m.jp2,
    in its SAFE's IMG_DATA or copied out of it), else None."""
    match = _GRANULE_BAND_FILE.match(os.path.basename(path.replace("\\", "/")))
    return _band_name(match.group("band")) if match else None


def _band_name(name: str) -> str:
    match = re.fullmatch(r"B(\d{1,2})(A?)", name.strip(), re.IGNORECASE)
    return f"B{int(match.group(1)):02d}{match.group(2).upper()}".replace("B08A", "B8A") if match else name


def _band_locations(dataset: gdal.Dataset, bands: Sequence[int]) -> Optional[List[Tuple[str, str]]]:
    """(product metadata path, band name) per band, where every band is a Sentinel-2 product's band; else None."""
    subdataset = SUBDATASET.match(dataset.GetDescription() or "")
    if subdataset:
        names = product_band_names(dataset)
        metadata = subdataset.group("metadata")
        located = [(metadata, names[number - 1]) for number in bands]
        return located if all(band in SPECTRAL_BANDS for _, band in located) else None
    through_vrt = _subdataset_sources(dataset, bands)
    if through_vrt:
        return through_vrt
    located = []
    for files in band_sources(dataset, bands):
        matches = [_SAFE_BAND_FILE.match(path.replace("\\", "/")) for path in files]
        if not matches or not all(matches) or len({(m.group("safe"), m.group("band").upper()) for m in matches}) > 1:
            return None
        safe, band = matches[0].group("safe"), matches[0].group("band").upper()
        metadata = next((f"{safe}/{name}" for name in ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml")
                         if vsi_exists(f"{safe}/{name}")), None)
        if metadata is None:
            LOG.warning("'%s' lies in a SAFE product without its MTD_MSIL1C.xml or MTD_MSIL2A.xml: its DN are read as "
                        "they are stored, without the product's offset", files[0])
            return None
        located.append((metadata, band))
    return located


def _subdataset_sources(dataset: gdal.Dataset, bands: Sequence[int]) -> Optional[List[Tuple[str, str]]]:
    """(product metadata path, band name) per band of a VRT whose every band reads one band of a SENTINEL2
    subdataset (the nodata views the engine wraps a layer in), else None."""
    driver = dataset.GetDriver()
    if driver is None or driver.ShortName != "VRT":
        return None
    located = []
    for number in bands:
        sources = list((dataset.GetRasterBand(number).GetMetadata("vrt_sources") or {}).values())
        if len(sources) != 1:
            return None
        source = parse_metadata_xml(sources[0])
        filename = next((element.text for element in source.iter("SourceFilename")), None) or ""
        band = next((element.text for element in source.iter("SourceBand")), None) or ""
        match = SUBDATASET.match(filename)
        if not match or not band.strip().isdigit():
            return None
        names = product_band_names(gdal.Open(filename)) or []
        if not 1 <= int(band) <= len(names) or names[int(band) - 1] not in SPECTRAL_BANDS:
            return None
        located.append((match.group("metadata"), names[int(band) - 1]))
    return located


def product_reflectance(dataset: gdal.Dataset, bands: Sequence[int]
                        ) -> Optional[Tuple[List[Tuple[float, float]], str]]:
    """(scale, offset) per band making reflectance of the DN, and why in words, when ``bands`` are a Sentinel-2
    product's band files or GDAL's subdataset of one, integer and without scale/offset of their own; None for any
    other raster (a declared scale/offset wins)."""
    if not all(_untagged_integer(dataset.GetRasterBand(number)) for number in bands):
        return None
    located = _band_locations(dataset, bands)
    if not located:
        return _copied_metadata(dataset, bands) or _granule_band_files(dataset, bands)
    products: Dict[str, Tuple[str, str, float, Dict[str, float]]] = {}
    factors = []
    for metadata, band in located:
        if metadata not in products:
            root = parse_xml(metadata, metadata)
            level = _LEVELS.get(root.tag, "L2A" if "MSIL2A" in os.path.basename(metadata) else "L1C")
            products[metadata] = (level, xml_text(root, "PROCESSING_BASELINE", "") or "unknown",
                                  quantification_value(root, metadata), band_offsets(root, level, metadata))
        level, baseline, quantification, offsets = products[metadata]
        factors.append((1.0 / quantification, offsets.get(band, 0.0) / quantification))
    described = "; ".join(
        f"{os.path.basename(os.path.dirname(metadata))} ({level}, processing baseline {baseline}): reflectance = "
        f"({_with_offsets(offsets, [b for m, b in located if m == metadata])}) / {quantification:g}"
        for metadata, (level, baseline, quantification, offsets) in products.items())
    return factors, (f"the bands are Sentinel-2 product band files without scale/offset; the product's metadata "
                     f"({', '.join(os.path.basename(m) for m in products)}) give {described}")


def _untagged_integer(band: gdal.Band) -> bool:
    return band.DataType in INTEGER_TYPES and band.GetScale() in (None, 1.0) and band.GetOffset() in (None, 0.0)


def _copied_metadata(dataset: gdal.Dataset, bands: Sequence[int]) -> Optional[Tuple[List[Tuple[float, float]], str]]:
    """For a copy of a SENTINEL2 subdataset that kept GDAL's metadata but not the product (gdal_translate, a crop):
    the quantification it copied and the offset of its PROCESSING_BASELINE, -1000 from 04.00 on (the value of every
    band of every product since; the copy does not carry the list itself), else None."""
    names = product_band_names(dataset)
    baseline = (dataset.GetMetadataItem("PROCESSING_BASELINE") or "").strip()
    quantification = next((dataset.GetMetadataItem(key) for key in ("BOA_QUANTIFICATION_VALUE", "QUANTIFICATION_VALUE")
                           if dataset.GetMetadataItem(key)), None)
    if not names or not quantification or any(names[number - 1] not in SPECTRAL_BANDS for number in bands):
        return None
    try:
        baseline_number, divisor = float(baseline), float(quantification)
    except ValueError:
        return None
    if divisor <= 0:
        return None
    offset = BASELINE_04_OFFSET if baseline_number >= 4.0 else 0.0
    return [(1.0 / divisor, offset / divisor)] * len(bands), (
        f"the bands are Sentinel-2 DN copied from a product with GDAL's metadata but without scale/offset "
        f"(PROCESSING_BASELINE {baseline}, quantification {divisor:g}): reflectance = (DN "
        f"{'-' if offset < 0 else '+'} {abs(offset):g}) / {divisor:g}, the offset of processing baseline "
        f"{'04.00 and later' if offset else 'before 04.00'}")


def _granule_band_files(dataset: gdal.Dataset, bands: Sequence[int]
                        ) -> Optional[Tuple[List[Tuple[float, float]], str]]:
    """For band files copied out of their SAFE product (named as in IMG_DATA, without its metadata): sensed from 25
    January 2022 on, the offset of processing baseline 04.00 (every such product has it); sensed before, the files
    cannot say (reprocessed Collection 1 products, baseline 05.00 on, have the offset, the first processing did not):
    the log says so and None reads the values as stored."""
    names = []
    for files in band_sources(dataset, bands):
        matches = [_GRANULE_BAND_FILE.match(os.path.basename(path.replace("\\", "/"))) for path in files]
        if not matches or not all(matches) or any(m.group("band").upper() not in SPECTRAL_BANDS for m in matches):
            return None
        names.extend(m.group(0) for m in matches)
    dates = sorted(_GRANULE_BAND_FILE.match(name).group("date") for name in names)
    if dates[0] < BASELINE_04_START:
        LOG.warning("'%s' is a Sentinel-2 band file sensed on %s, before processing baseline 04.00 came in (25 January "
                    "2022), without its product's metadata: read as DN / 10000 as first processed. If it comes from a "
                    "reprocessed Collection 1 product (processing baseline 05.00 or later) its DN hold an offset of "
                    "-1000: give the product itself, or set INPUT_SCALING.", names[0], _day(dates[0]))
        return None
    factors = [(1e-4, BASELINE_04_OFFSET * 1e-4)] * len(bands)
    return factors, (f"'{names[0]}' is a Sentinel-2 band file sensed on {_day(dates[-1])}, without its product's "
                     f"metadata; every product sensed from 25 January 2022 on has processing baseline 04.00 or later: "
                     f"reflectance = (DN - 1000) / 10000, that baseline's offset and quantification")


def _day(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}"


def _with_offsets(offsets: Dict[str, float], bands: Sequence[str]) -> str:
    """'DN - 1000', 'DN + 0' or 'DN + the band's offset (B02 -1000, ...)'."""
    values = sorted({offsets.get(band, 0.0) for band in bands})
    if len(values) == 1:
        return f"DN {'-' if values[0] < 0 else '+'} {abs(values[0]):g}"
    return "DN + the band's offset (" + ", ".join(f"{band} {offsets.get(band, 0.0):g}" for band in bands) + ")"
