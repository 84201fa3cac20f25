"""core.migration.match_table: the one home of matches.csv's columns; migrate, the QA report and the algorithm
read it."""
import csv
import re
from pathlib import Path

from osgeo import ogr

from labelmigration.core.migration import footprints, match_table, pair, qa_page, rows, run
from labelmigration.core.migration.match_table import (ALREADY_DONE, COLUMNS, NUMERIC_COLUMNS, PATH_COLUMNS,
                                                       is_finished, read_matches, write_matches)

ROOT = Path(__file__).resolve().parents[2]
# The header of matches.csv as the plugin wrote it before the schema moved here (core/migrate.py MATCH_COLUMNS
# and core/migration/qa_report.py COLUMNS, identical copies) and as migratelabels' help documents it: scripts read these
# names, so a change is a change of the public output.
EXPECTED_COLUMNS = ("label", "scene", "datetime", "offset_days", "scene_cloud_pct", "footprint_cloud_pct",
                    "footprint_shadow_pct", "nodata_pct", "coverage_pct", "status", "reason", "image", "label_raster",
                    # issue 19, appended so that readers of the older header keep every column where it was
                    "shift_x_m", "shift_y_m", "shift_confidence", "label_moved_m", "change_score")
# footprints.gpkg's fields as core/migrate.py _FOOTPRINT_FIELDS listed them by hand before (order and types; now
# core/migration/footprints.py FOOTPRINT_FIELDS)
EXPECTED_FOOTPRINT_FIELDS = (
    ("label", ogr.OFTString), ("status", ogr.OFTString), ("reason", ogr.OFTString), ("scene", ogr.OFTString),
    ("tile", ogr.OFTString), ("datetime", ogr.OFTString), ("offset_days", ogr.OFTReal),
    ("scene_cloud_pct", ogr.OFTReal), ("footprint_cloud_pct", ogr.OFTReal), ("footprint_shadow_pct", ogr.OFTReal),
    ("nodata_pct", ogr.OFTReal), ("coverage_pct", ogr.OFTReal), ("image", ogr.OFTString),
    ("label_raster", ogr.OFTString), ("shift_x_m", ogr.OFTReal), ("shift_y_m", ogr.OFTReal),
    ("shift_confidence", ogr.OFTReal), ("label_moved_m", ogr.OFTReal), ("change_score", ogr.OFTReal))


def test_the_schema_is_the_documented_one():
    assert COLUMNS == EXPECTED_COLUMNS
    assert set(NUMERIC_COLUMNS) <= set(COLUMNS) and set(PATH_COLUMNS) <= set(COLUMNS)
    assert COLUMNS.index("footprint_shadow_pct") == COLUMNS.index("footprint_cloud_pct") + 1


def test_migrate_and_the_report_use_this_schema_not_a_copy():
    assert rows.COLUMNS is match_table.COLUMNS and pair.COLUMNS is match_table.COLUMNS
    assert qa_page.COLUMNS is match_table.COLUMNS
    assert qa_page.STATUSES is match_table.STATUSES and pair.ALREADY_DONE is match_table.ALREADY_DONE
    assert run.read_matches is read_matches and run.write_matches is write_matches


def test_no_other_module_spells_out_the_columns():
    # a second literal copy of the column list (any two neighbouring columns quoted in a row) would drift
    pattern = re.compile(r'"footprint_shadow_pct",\s*"nodata_pct"|"nodata_pct",\s*"coverage_pct",\s*"status"')
    sources = [p for folder in ("core", "processing", "ui") for p in (ROOT / folder).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if p.name != "match_table.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert sources and offenders == []


def test_footprints_gpkg_fields_follow_the_schema():
    assert footprints.FOOTPRINT_FIELDS == EXPECTED_FOOTPRINT_FIELDS


def test_write_and_read_back(tmp_path):
    path = tmp_path / "matches.csv"
    rows = [{"label": "a", "status": "done", "coverage_pct": "100", "extra": "left out"},
            {"label": "b", "status": "skipped", "reason": ALREADY_DONE}]
    assert write_matches(str(path), rows) == str(path)
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == EXPECTED_COLUMNS
    read = read_matches(str(path))
    assert list(read) == ["a", "b"]
    assert read["a"]["coverage_pct"] == "100" and read["a"]["scene"] == "" and "extra" not in read["a"]
    assert [is_finished(row) for row in read.values()] == [True, True]


def test_is_finished():
    assert is_finished({"status": "done"})
    assert is_finished({"status": "Skipped", "reason": "already done "})
    assert not is_finished({"status": "skipped", "reason": "no date"})
    assert not is_finished({"status": "failed"}) and not is_finished({})


def test_missing_and_unreadable_tables(tmp_path):
    assert read_matches(str(tmp_path / "none.csv")) == {}
    path = tmp_path / "matches.csv"
    path.write_text("scene,status\nx,done\n", encoding="utf-8")
    warnings = []
    assert read_matches(str(path), warnings.append) == {}
    assert len(warnings) == 1 and "it has no column 'label'" in warnings[0]
