"""The CDSE STAC scene of the e2e tests and of tools/cdse_stac_servers.py: items made from the CDSE v1 item
template of tests/data/cdse_stac/ (SOURCE.md), their JP2 band files on the tile's real UTM 13N grid, and labels
inside single JPEG 2000 tiles. The pixels and the other items' ids, dates and cloud covers are synthetic."""
from __future__ import annotations

import copy
import os
import re
import uuid
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from .georef import write_label

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "cdse_stac" / "sentinel-2-l2a-item.json"
L2A, L1C = "cdse-sentinel-2-l2a", "cdse-sentinel-2-l1c"  # their own ids beside the shared fixtures' collections
USER, PASSWORD = "labeller@example.org", "Pw-" + os.urandom(8).hex()
LIFETIME = 61.0
EPSG, LEFT, TOP = 32613, 499980.0, 7000020.0  # the template's proj:code and proj:transform
SIZE, BLOCK = 2048, 256  # 10 m pixels per side of each band JP2 (SCL: SIZE at 20 m), JPEG 2000 tile size
BANDS = ("B02", "B03", "B04", "B08")
LABEL_PX = 100
# the labels' top-left 10 m pixels: each inside one JPEG 2000 tile, on the 20 m SCL grid
LABEL_PIXELS = [(BLOCK * col + 50, BLOCK * row + 50) for row in (1, 3) for col in (1, 3, 5)]
SCL_CLEAR = np.array([4, 5, 6, 7, 11], dtype=np.uint8)
SCL_UNUSABLE = (3, 8, 9, 10)
# (id suffix, datetime, cloud, level, area shift in degrees of longitude): the search window is 02-15 .. 02-25
ITEMS = [
    ("S2A_MSIL2A_20220217T183431_N0510_R027_T13VEK_20240516T022440", "2022-02-17T18:34:31.024000Z", 41.21, 0),
    ("S2B_MSIL2A_20220220T183459_N0510_R027_T13VEK_20240516T040101", "2022-02-20T18:34:59.024000Z", 5.0, 0),
    ("S2A_MSIL2A_20220222T182431_N0510_R127_T13VEK_20240516T050202", "2022-02-22T18:24:31.024000Z", 80.0, 0),
    ("S2B_MSIL2A_20220224T183359_N0510_R027_T13VEK_20240516T060303", "2022-02-24T18:33:59.024000Z", 12.0, 0),
    ("S2A_MSIL2A_20220320T183431_N0510_R027_T13VEK_20240516T070404", "2022-03-20T18:34:31.024000Z", 3.0, 0),
    ("S2B_MSIL2A_20220219T172459_N0510_R026_T16VEK_20240516T080505", "2022-02-19T17:24:59.024000Z", 10.0, 18),
]
MIGRATED = ITEMS[1][0]


def cdse_item(template: dict, item_id: str, moment: str, cloud: float, shift: float, level: str,
              assets_url: str) -> dict:
    """An item of the template with this id, time, cloud cover and level, its HTTPS alternates on assets_url
    (the zipper's OData path kept) and its footprint moved ``shift`` degrees of longitude east."""
    item = copy.deepcopy(template)
    old_id, old_product = item["id"], template["assets"]["B02_10m"]["alternate"]["https"]["href"].split("/")[5]
    item["id"] = item_id if level == "L2A" else item_id.replace("MSIL2A", "MSIL1C")
    item["collection"] = L2A if level == "L2A" else L1C
    properties = item["properties"]
    properties.update({"datetime": moment, "start_datetime": moment, "end_datetime": moment, "eo:cloud_cover": cloud})
    if level == "L1C":
        properties.update({"product:type": "S2MSI1C", "processing:level": "L1"})
        del item["assets"]["SCL_20m"]
    if shift:
        properties["grid:code"] = "MGRS-" + re.search(r"_T(\d{2}[A-Z]{3})_", item_id).group(1)
        item["geometry"]["coordinates"] = [[[x + shift, y] for x, y in item["geometry"]["coordinates"][0]]]
        item["bbox"] = [item["bbox"][0] + shift, item["bbox"][1], item["bbox"][2] + shift, item["bbox"][3]]
    product = f"Products({uuid.uuid5(uuid.NAMESPACE_URL, item['id'])})"
    sensing = old_id.split("_")[2], item["id"].split("_")[2]
    for asset in item["assets"].values():
        https = (asset.get("alternate") or {}).get("https")
        if https:  # the zipper's OData path, on the loopback download service
            https["href"] = (https["href"].replace(old_id, item["id"]).replace(old_product, product)
                             .replace(*sensing).replace("https://zipper.dataspace.copernicus.eu", assets_url))
            asset["href"] = asset["href"].replace(old_id, item["id"]).replace(*sensing)
    return item


def cdse_collection(collection_id: str, items: list[dict]) -> dict:
    times = sorted(item["properties"]["datetime"] for item in items)
    return {"type": "Collection", "stac_version": "1.1.0", "id": collection_id, "license": "proprietary",
            "description": "CDSE STAC v1 items (e2e copy: the real structure, JP2s on loopback)",
            "links": [], "stac_extensions": [],
            "extent": {"spatial": {"bbox": [item["bbox"] for item in items]},
                       "temporal": {"interval": [[times[0], times[-1]]]}}}


def utm_srs(epsg: int) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def write_jp2(path: Path, data: np.ndarray, pixel: float) -> None:
    kind = gdal.GDT_UInt16 if data.dtype == np.uint16 else gdal.GDT_Byte
    source = gdal.GetDriverByName("MEM").Create("", data.shape[1], data.shape[0], 1, kind)
    source.SetGeoTransform([LEFT, pixel, 0, TOP, 0, -pixel])
    source.SetProjection(utm_srs(EPSG).ExportToWkt())
    source.GetRasterBand(1).WriteArray(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), source, options=[
        "REVERSIBLE=YES", "QUALITY=100", f"BLOCKXSIZE={BLOCK}", f"BLOCKYSIZE={BLOCK}"])


def served_file(root: Path, href: str) -> Path:
    product, name = re.search(r"Products\(([0-9a-f-]+)\)/.*Nodes\(([^()/]+)\)/\$value$", href).groups()
    return root / product / name


def write_labels(folder: Path) -> dict:
    """Six labels (values 0-4) named field<n>_20220220, each inside one JPEG 2000 tile: {name: (col, row, values)}."""
    values = {}
    for number, (col, row) in enumerate(LABEL_PIXELS):
        data = ((np.arange(LABEL_PX * LABEL_PX).reshape(LABEL_PX, LABEL_PX) + number) % 5).astype(np.uint8)
        name = f"field{number}_20220220"
        write_label(folder / f"{name}.tif", data, LEFT + col * 10, TOP - row * 10, EPSG)
        values[name] = (col, row, data)
    return values
