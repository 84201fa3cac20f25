"""Opening Sentinel-2 SAFE products (L1C and L2A, compact naming).

A product is read where it lies: a .SAFE folder, a zip (through /vsizip/, never extracted) or its
MTD_MSIL1C.xml / MTD_MSIL2A.xml. safe_metadata.py reads its metadata files, safe_product.py holds
what was read, safe_stack.py puts its bands on one grid.
"""
import os
import re
from typing import Dict

from osgeo import gdal

from ..util.errors import LabelMigrationError
from ..util.paths import unreadable_reason
from .safe_metadata import (band_offsets, image_file_path, parse_xml, quantification_value, tile_grid, vsi_exists,
                            xml_text)
from .safe_product import NATIVE_RESOLUTION, SafeProduct

PRODUCT_XML = {"MTD_MSIL1C.xml": "L1C", "MTD_MSIL2A.xml": "L2A"}
_BAND_IN_NAME = re.compile(r"_(B\d[\dA]|SCL|TCI|AOT|WVP)(?:_(\d{2})m)?$")


def is_safe_product(path: str) -> bool:
    """Whether path looks like a SAFE product (folder, zip or product MTD xml) rather than a raster."""
    if not path:
        return False
    name = os.path.basename(path.rstrip("/"))
    if name in PRODUCT_XML or name.upper().endswith(".SAFE"):
        return True
    if name.lower().endswith(".zip"):
        entries = gdal.ReadDir("/vsizip/" + os.path.abspath(path)) or []
        return any(entry.upper().endswith(".SAFE") or entry in PRODUCT_XML for entry in entries)
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, xml)) for xml in PRODUCT_XML)


def _locate_metadata(path: str) -> str:
    """The GDAL path of the product's MTD_MSIL*.xml, or a clear error."""
    name = os.path.basename(path.rstrip("/"))
    if name.lower().endswith(".xml"):
        if name not in PRODUCT_XML:
            kind = "a tile metadata file" if name.startswith("MTD_TL") else "not a Sentinel-2 product metadata file"
            raise LabelMigrationError(
                f"'{path}' is {kind}; give the product's MTD_MSIL1C.xml or MTD_MSIL2A.xml, its .SAFE folder or its zip."
            )
        if not os.path.exists(path) and not path.startswith("/vsi"):
            raise LabelMigrationError(f"The product metadata '{path}' does not exist.")
        return path
    if name.lower().endswith(".zip"):
        if not os.path.isfile(path):
            raise LabelMigrationError(f"The product '{path}' does not exist.")
        archive = "/vsizip/" + os.path.abspath(path)
        entries = gdal.ReadDir(archive) or []
        folders = [entry for entry in entries if entry.upper().endswith(".SAFE")]
        candidates = [f"{archive}/{folder}/{xml}" for folder in folders for xml in PRODUCT_XML]
        candidates += [f"{archive}/{xml}" for xml in PRODUCT_XML]
        found = [candidate for candidate in candidates if vsi_exists(candidate)]
        if not found:
            raise LabelMigrationError(
                f"The zip '{path}' is not a Sentinel-2 SAFE product: it holds no .SAFE folder with an "
                f"MTD_MSIL1C.xml or MTD_MSIL2A.xml."
            )
        return found[0]
    if os.path.isdir(path):
        for xml in PRODUCT_XML:
            if os.path.exists(os.path.join(path, xml)):
                return os.path.join(path, xml)
        raise LabelMigrationError(
            f"The folder '{path}' is not a Sentinel-2 SAFE product: it has no MTD_MSIL1C.xml or MTD_MSIL2A.xml."
        )
    raise LabelMigrationError(f"The product '{path}' does not exist.")


def _check_readable(path: str) -> None:
    """The real reason a product cannot be read (missing, empty, permission denied, a broken link)."""
    if not path:
        raise LabelMigrationError("No Sentinel-2 product was given.")
    problem = unreadable_reason(path, folder=os.path.isdir(path))
    if problem:
        raise LabelMigrationError(f"The product {problem}.")


def open_safe(path: str) -> SafeProduct:
    """Read a product's metadata: level, baseline, offsets, tile grid and band files."""
    _check_readable(path)
    metadata_path = _locate_metadata(path)
    root_folder = os.path.dirname(metadata_path)
    root = parse_xml(metadata_path, path)
    expected_level = PRODUCT_XML[os.path.basename(metadata_path)]
    kind = root.tag
    level = {"Level-1C_User_Product": "L1C", "Level-2A_User_Product": "L2A"}.get(kind)
    if level is None:
        raise LabelMigrationError(
            f"'{metadata_path}' is a '{kind}' document, not a Sentinel-2 L1C or L2A product description."
        )
    if level != expected_level:
        raise LabelMigrationError(
            f"'{metadata_path}' describes an {level} product but is named like an {expected_level} one.")
    quantification = quantification_value(root, metadata_path)
    band_files: Dict[str, Dict[int, str]] = {}
    granules = set()
    for element in root.iter("IMAGE_FILE"):
        relative = image_file_path(element.text, metadata_path)
        granules.add("/".join(relative.split("/")[:2]))
        match = _BAND_IN_NAME.search(relative)
        if not match:
            continue
        band = match.group(1)
        resolution = int(match.group(2)) if match.group(2) else NATIVE_RESOLUTION.get(band, 10)
        band_files.setdefault(band, {})[resolution] = f"{root_folder}/{relative}.jp2"
    if not band_files or len(granules) != 1:
        raise LabelMigrationError(
            f"The product metadata '{metadata_path}' lists {len(granules)} granules; one tile per product is supported."
        )
    granule = granules.pop()
    first_file = os.path.basename(next(iter(next(iter(band_files.values())).values())))
    return SafeProduct(
        source=path, root=root_folder, metadata_path=metadata_path, level=level,
        product_type=xml_text(root, "PRODUCT_TYPE", ""), baseline=xml_text(root, "PROCESSING_BASELINE", ""),
        quantification=quantification, offsets=band_offsets(root, level, metadata_path),
        sensing_start=xml_text(root, "DATATAKE_SENSING_START", xml_text(root, "PRODUCT_START_TIME", "")),
        orbit=xml_text(root, "SENSING_ORBIT_NUMBER", ""), spacecraft=xml_text(root, "SPACECRAFT_NAME", ""),
        tile=first_file.split("_", 1)[0].lstrip("T"),
        grid=tile_grid(f"{root_folder}/{granule}/MTD_TL.xml", path),
        band_files=band_files,
    )
