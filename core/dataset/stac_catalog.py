"""The dataset's STAC catalogue (STAC 1.1.0 with the label extension), written as plain JSON.

    catalog.json          the root catalogue; its child is collection.json
    collection.json       the collection 'chips': extent, splits, classes, how the chips were made
    items/<id>.json       one item per chip: assets image, labels (and cloud_mask), its split and provenance

All links and asset paths are relative: the folder can be moved or served as it is (a self-contained
catalogue, which pystac.Catalog.from_file reads).
"""
import datetime as dt
import json
import os
from typing import Dict, List, Optional, Sequence

from .records import Chip, ring_box

STAC_VERSION = "1.1.0"
LABEL_EXTENSION = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
JSON = "application/json"
PREFIX = "labelmigration:"
COLLECTION_ID = "chips"


def write_catalog(folder: str, chips: Sequence[Chip], score_columns: Sequence[str], settings: Dict[str, object],
                  classes: List[Dict[str, object]], exported: dt.datetime) -> str:
    """Write the catalogue into folder; returns the path of catalog.json."""
    os.makedirs(os.path.join(folder, "items"), exist_ok=True)
    times = []
    for chip in chips:
        item = chip_item(chip, score_columns, classes, exported)
        times.append(item["properties"]["datetime"])
        _write(os.path.join(folder, "items", f"{chip.id}.json"), item)
    boxes = [ring_box(chip.ring) for chip in chips]
    bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    splits = sorted({chip.split for chip in chips})
    collection = {
        "type": "Collection", "stac_version": STAC_VERSION, "stac_extensions": [], "id": COLLECTION_ID,
        "title": "Label Migration chips",
        "description": "Image and label chips cut from label/Sentinel-2 pairs migrated by Label Migration, with "
                       "spatially blocked train/validation/test splits.",
        "license": "other",
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [[min(times), max(times)]]}},
        "summaries": {PREFIX + "split": splits},
        PREFIX + "classes": classes,
        PREFIX + "settings": settings,
        PREFIX + "split_counts": {name: sum(chip.split == name for chip in chips) for name in splits},
        "links": [_link("root", "./catalog.json"), _link("parent", "./catalog.json")]
                 + [_link("item", f"./items/{chip.id}.json") for chip in chips],
    }
    _write(os.path.join(folder, "collection.json"), collection)
    catalog = {
        "type": "Catalog", "stac_version": STAC_VERSION, "stac_extensions": [], "id": "labelmigration-dataset",
        "title": "Label Migration dataset",
        "description": "A machine-learning dataset exported from a Label Migration output folder (exportdataset).",
        "links": [_link("root", "./catalog.json"), _link("child", "./collection.json", "Chips")],
    }
    path = os.path.join(folder, "catalog.json")
    _write(path, catalog)
    return path


def chip_item(chip: Chip, score_columns: Sequence[str], classes: List[Dict[str, object]],
              exported: dt.datetime) -> Dict[str, object]:
    values = sorted(chip.class_pixels)
    properties: Dict[str, object] = {
        "datetime": _datetime(chip.pair.row.get("datetime"), exported),
        "label:properties": None,
        "label:classes": [{"name": None, "classes": [int(v) for v in values]}],
        "label:description": f"Label raster of '{chip.pair.label}' on the scene's grid; pixel values are classes "
                             f"(names in the collection's {PREFIX}classes).",
        "label:type": "raster",
        "label:tasks": ["segmentation"],
        PREFIX + "split": chip.split,
        PREFIX + "class_pixels": {str(v): int(chip.class_pixels[v]) for v in values},
        PREFIX + "crs": chip.crs,
        PREFIX + "pair_window": [chip.xoff, chip.yoff, chip.size, chip.size],
        PREFIX + "bounds": list(chip.place.bounds),
    }
    properties.update({PREFIX + key: value for key, value in chip.provenance(score_columns).items()})
    assets = {
        "image": _asset(chip.image, "Image chip", ["data"]),
        "labels": _asset(chip.label, "Label chip", ["labels", "labels-raster"]),
    }
    if chip.mask:
        assets["cloud_mask"] = _asset(chip.mask, "Cloud mask chip (0 clear, 1 cloud, 2 shadow, 255 nodata)",
                                      ["cloud", "cloud-shadow", "data-mask"])
    return {
        "type": "Feature", "stac_version": STAC_VERSION, "stac_extensions": [LABEL_EXTENSION], "id": chip.id,
        "geometry": {"type": "Polygon", "coordinates": [[list(point) for point in chip.ring]]},
        "bbox": list(ring_box(chip.ring)), "properties": properties,
        "links": [_link("root", "../catalog.json"), _link("parent", "../collection.json"),
                  _link("collection", "../collection.json")],
        "assets": assets, "collection": COLLECTION_ID,
    }


def _asset(path: str, title: str, roles: List[str]) -> Dict[str, object]:
    return {"href": "../" + path, "type": COG, "title": title, "roles": roles}


def _link(rel: str, href: str, title: Optional[str] = None) -> Dict[str, str]:
    link = {"rel": rel, "href": href, "type": JSON}
    if title:
        link["title"] = title
    return link


def _datetime(text: Optional[str], fallback: dt.datetime) -> str:
    """matches.csv's scene time as RFC 3339 (UTC); the export time when it has none."""
    try:
        moment = dt.datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        moment = fallback
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: str, document: Dict[str, object]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
