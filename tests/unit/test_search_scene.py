"""The scene record (core/search/scene.py): one schema for the match table, the scene layer and the rows read back."""
import datetime as dt
import json

import pytest

from labelmigration.core.search.scene import CSV_COLUMNS, LAYER_FIELDS, TABLE_COLUMNS, Match, Scene
from labelmigration.core.util.errors import LabelMigrationError

UTC = dt.timezone.utc


def full_scene(**changes):
    values = dict(id="i1", title="S2A_MSIL2A_20200817T103031_N0214_R108_T32UPU_20200817T131500.SAFE",
                  backend="cdse-odata", datetime=dt.datetime(2020, 8, 17, 10, 30, 31, tzinfo=UTC), cloud_cover=1.5,
                  tile="32UPU", product_type="S2MSI2A", footprint_wkt="POLYGON((9 49,11 49,11 51,9 51,9 49))",
                  url="https://h.example/p", assets={"B04": "https://h.example/B04.tif"},
                  checksums={"MD5": "ab" * 16}, size=123, quicklook="https://h.example/q.jpg", online=False)
    values.update(changes)
    return Scene(**values)


def test_dict_round_trip_is_json():
    scene = full_scene(collection="SENTINEL-2")
    data = json.loads(json.dumps(scene.to_dict()))
    assert Scene.from_dict(data) == scene


def test_row_round_trip_of_scene_and_match():
    scene = full_scene()
    row = {name: str(value) for name, value in scene.to_row().items()}  # as a CSV reader gives it back
    back = Scene.from_row({**row, "footprint_wkt": scene.footprint_wkt})
    assert back == scene
    match = Match("a", dt.date(2020, 8, 15), scene, 2.0, 87.5, rank=1)
    csv_row = {name: str(value) for name, value in match.to_row().items()}
    assert tuple(csv_row) == CSV_COLUMNS
    again = Match.from_row(csv_row)
    assert (again.label, again.label_date, again.offset_days, again.coverage_pct, again.rank) == \
        ("a", dt.date(2020, 8, 15), 2.0, 87.5, 1)
    assert again.scene.id == scene.id and again.scene.online is False and again.scene.cloud_cover == 1.5


def test_layer_values_follow_the_field_list():
    match = Match("a", None, full_scene(cloud_cover=None, size=None, checksums={}), None, None, rank=2)
    values = match.layer_values()
    assert set(values) >= {name for name, _type in LAYER_FIELDS} and set(TABLE_COLUMNS) <= set(values)
    assert values["cloud_cover"] is None and values["size"] is None and values["checksums"] == ""
    assert values["datetime"] == match.scene.datetime and values["online"] is False
    assert json.loads(values["assets"]) == {"B04": "https://h.example/B04.tif"}
    assert {kind for _name, kind in LAYER_FIELDS} <= {"string", "int", "long", "double", "bool", "datetime"}


def test_malformed_rows_name_the_scene():
    row = full_scene().to_row()
    with pytest.raises(LabelMigrationError, match="checksums field of the scene .* not valid JSON"):
        Scene.from_row({**row, "checksums": "{md5"})
    with pytest.raises(LabelMigrationError, match="size that is not a number"):
        Scene.from_row({**row, "size": "-3"})
    with pytest.raises(LabelMigrationError, match="cloud_cover of the scene .* not a number"):
        Scene.from_row({**row, "cloud_cover": "cloudy"})
    with pytest.raises(LabelMigrationError, match="no acquisition time"):
        Scene.from_row({**row, "datetime": "NULL"})
