"""footprints.gpkg: the labels' footprints with their matches.csv fields (layer 'footprints') and the
chosen scenes' footprints with the labels each was chosen for (layer 'scenes')."""
import os
from typing import Dict, List, Optional, Sequence

from osgeo import ogr

from ..labels.footprint import WGS84
from ..util.outputs import atomic_output
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import srs_from_user
from .match_table import COLUMNS, NUMERIC_COLUMNS
from .pair import LabelOutcome

FOOTPRINTS_NAME = "footprints.gpkg"
# layer 'footprints': the match table's columns, the label's identity and the scene's tile first
_FOOTPRINT_LEADING = ("label", "status", "reason", "scene", "tile")
_FOOTPRINT_NAMES = _FOOTPRINT_LEADING + tuple(c for c in COLUMNS if c not in _FOOTPRINT_LEADING)
FOOTPRINT_FIELDS = tuple((name, ogr.OFTReal if name in NUMERIC_COLUMNS else ogr.OFTString)
                         for name in _FOOTPRINT_NAMES)


def write_footprints(path: str, outcomes: Sequence[LabelOutcome]) -> str:
    """The label footprints (EPSG:4326) with the chosen scene's fields, labels without one too (layer
    'footprints'), and the chosen scenes' footprints with the labels each was chosen for (layer 'scenes')."""
    previous = read_scenes_layer(path)
    with gdal_errors(), atomic_output(path) as temporary:
        source = ogr.GetDriverByName("GPKG").CreateDataSource(temporary)
        layer = source.CreateLayer("footprints", srs=srs_from_user(WGS84), geom_type=ogr.wkbMultiPolygon)
        for name, kind in FOOTPRINT_FIELDS:
            layer.CreateField(ogr.FieldDefn(name, kind))
        layer.StartTransaction()
        for outcome in outcomes:
            row = outcome.row
            feature = ogr.Feature(layer.GetLayerDefn())
            for name, kind in FOOTPRINT_FIELDS:
                value = outcome.tile if name == "tile" else row.get(name, "")
                if value != "":
                    feature.SetField(name, float(value) if kind == ogr.OFTReal else value)
            if outcome.footprint_wkt:
                feature.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(outcome.footprint_wkt)))
            layer.CreateFeature(feature)
        layer.CommitTransaction()
        _write_scenes_layer(source, outcomes, previous)
        source = None
    return path


# layer 'scenes': one feature per chosen scene (core.migration.pair makes the record of each)
SCENE_FIELDS = (("scene", ogr.OFTString), ("datetime", ogr.OFTString), ("tile", ogr.OFTString),
                ("product", ogr.OFTString), ("scene_cloud_pct", ogr.OFTReal), ("backend", ogr.OFTString),
                ("labels", ogr.OFTString), ("label_count", ogr.OFTInteger))


def chosen_scenes(outcomes: Sequence[LabelOutcome], previous: Optional[Dict[str, dict]] = None) -> List[dict]:
    """One record per chosen scene (fields of SCENE_FIELDS and footprint_wkt), in the order first chosen.

    Pairs skipped as already done take their scene's record from the earlier run's scenes layer."""
    scenes: Dict[str, dict] = {}
    for outcome in outcomes:
        row = outcome.row
        if row["status"] not in ("done", "skipped") or not row.get("scene"):
            continue
        record = outcome.scene or (previous or {}).get(row["scene"]) or {"scene": row["scene"]}
        entry = scenes.setdefault(row["scene"], dict(record, labels=[]))
        entry["labels"].append(row["label"])
    for entry in scenes.values():
        entry["label_count"] = len(entry["labels"])
        entry["labels"] = ",".join(entry["labels"])
    return list(scenes.values())


def read_scenes_layer(path: str) -> Dict[str, dict]:
    """{scene title: record} from an earlier run's footprints.gpkg 'scenes' layer (empty when none)."""
    if not os.path.isfile(path):
        return {}
    records = {}
    with gdal_errors():
        try:
            source = ogr.Open(path)
            layer = source.GetLayerByName("scenes") if source is not None else None
            for feature in layer or []:
                record = {name: feature.GetField(name) for name, _ in SCENE_FIELDS
                          if name not in ("labels", "label_count")}
                geometry = feature.GetGeometryRef()
                record["footprint_wkt"] = geometry.ExportToWkt() if geometry is not None else ""
                records[record["scene"]] = record
        except RuntimeError:
            return {}
    return records


def _write_scenes_layer(source, outcomes: Sequence[LabelOutcome], previous: Dict[str, dict]) -> None:
    layer = source.CreateLayer("scenes", srs=srs_from_user(WGS84), geom_type=ogr.wkbMultiPolygon)
    for name, kind in SCENE_FIELDS:
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.StartTransaction()
    for record in chosen_scenes(outcomes, previous):
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, _kind in SCENE_FIELDS:
            if record.get(name) not in (None, ""):
                feature.SetField(name, record[name])
        if record.get("footprint_wkt"):
            feature.SetGeometry(ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkt(record["footprint_wkt"])))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
