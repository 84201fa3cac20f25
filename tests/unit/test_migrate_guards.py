"""migrate_labels against hostile and clumsy input (issue 13), without QGIS.

Expected answers: the issue's report. "An OData product named with an absolute path wrote where it
pointed through migratelabels" -> every name from outside (a label's file name, a catalogue's product
title) becomes a file name through core.util.paths.safe_file_name and lands inside the output folder; two
names that sanitise alike never share a file. "A SAFE product with quantification abc aborts the whole
local-archive search and fails every label" -> the scan leaves that product out, names it and says why.
"Empty images/, labels/ and masks/ folders after a failed migration" and "an output folder created even
when the input check fails" -> nothing is written before the checks pass, and the pair folders appear
with the first pair. The rest (date patterns that backtrack for ever, a huge label, a garbage
matches.csv ...) are the issue's "everything a hostile tester would try".
"""
import datetime as dt
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from labelmigration.core.util import limits
from labelmigration.core.util.dates import compile_date_pattern
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.migration.labels import find_labels, read_dates_csv
from labelmigration.core.migration.match_table import read_matches
from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.pair_files import download_name, pair_paths, pair_stem
from labelmigration.core.migration.run import migrate_labels, no_pairs_message, prepare_tasks
from labelmigration.core.util.paths import path_inside
from labelmigration.core.search.local import LocalArchiveBackend
from labelmigration.tests.support.catalogue_answers import Served, odata_product
from labelmigration.tests.support.fault_server import fault_server
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.replay_server import replay_server
from labelmigration.tests.support.safe_products import make_safe_product

SIZE = 120
ULX, ULY = 699960.0, 5400000.0
USER, PASSWORD = "alice", "s3cret-pw"
SENSING = dt.datetime(2020, 8, 15, 10, 25, 59)


def write_label(path):
    """A 12 x 8 label of 10 m pixels inside the generator's tile (clear SCL block (10, 5))."""
    array = np.ones((8, 12), dtype=np.uint8)
    return write_raster(path, array, crs="EPSG:32632", transform=from_origin(ULX + 5 * 140 + 10, ULY - 1000 - 10, 10, 10))


def local(archive, **changes):
    values = dict(backend="local", url=str(archive), days_before=5, days_after=5, max_cloud=30.0, product="L2A",
                  workers=1, write_report=False, cloud_masks=False)
    values.update(changes)
    return MigrationOptions(**values)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    make_safe_product(folder, "L2A", size_10m=SIZE, sensing=SENSING, cloud_cover=1.0, zipped=True)
    return folder


def tree(folder: Path):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


# -- names from outside ---------------------------------------------------------------------------------

@pytest.mark.parametrize("title", ["/tmp/victim/S2B_MSIL2A_20200815T102559_N0509_R108_T32UPU_20200815T130012",
                                   "../../victim", "..", "C:\\Windows\\evil", "a\x00b", "CON", "x" * 400])
def test_product_titles_become_names_inside_the_downloads_folder(title, tmp_path):
    name = download_name(title)
    assert name.endswith(".zip") and "/" not in name and "\\" not in name and not name.startswith(".")
    assert len(name) <= 150 and "\x00" not in name
    target = path_inside(str(tmp_path), "downloads", name)
    assert os.path.dirname(target) == str(tmp_path / "downloads")


def test_a_genuine_title_keeps_its_name_and_titles_that_sanitise_alike_do_not_collide():
    genuine = "S2B_MSIL2A_20200815T102559_N0509_R108_T32UPU_20200815T130012"
    assert download_name(genuine + ".SAFE") == download_name(genuine) == genuine + ".zip"
    assert download_name("a/b") != download_name("a_b") != download_name("a:b")
    assert download_name("a/b") == download_name("a/b")  # the same title finds its download again


def test_label_names_become_file_names_without_collisions(tmp_path):
    assert pair_stem("field_20200815") == "field_20200815"
    odd, plain = pair_stem("f:ield_20200815"), pair_stem("f_ield_20200815")
    assert plain == "f_ield_20200815" and re.fullmatch(r"f_ield_20200815-[0-9a-f]{8}", odd)
    image, label = pair_paths(str(tmp_path), "..")
    assert os.path.dirname(image) == str(tmp_path / "images") and os.path.dirname(label) == str(tmp_path / "labels")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "images").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(LabelMigrationError, match="would land outside the folder"):
        pair_paths(str(tmp_path / "out"), "field")


def test_labels_whose_files_would_coincide_are_told_apart(tmp_path):
    for name in ("Field_20200815.tif", "field_20200815.tif", "f:ield_20200815.tif", "f_ield_20200815.tif"):
        write_label(tmp_path / name)
    found = {item.name: item for item in find_labels(str(tmp_path))}
    assert found["Field_20200815"].problem is None
    assert "'Field_20200815' and 'field_20200815' would be written to the same files" in found["field_20200815"].problem
    assert found["f:ield_20200815"].problem is None and found["f_ield_20200815"].problem is None
    assert found["f:ield_20200815"].stem != found["f_ield_20200815"].stem


def test_odata_product_named_with_an_absolute_path_downloads_inside_the_output_folder(tmp_path):
    """The issue's report: the product's Name was an absolute path, and the download went there."""
    product = make_safe_product(tmp_path / "products", "L2A", size_10m=SIZE, sensing=SENSING, cloud_cover=1.0,
                                zipped=True)
    served = Served(product)
    victim = tmp_path / "victim"
    victim.mkdir()
    entry = odata_product(served)
    entry["Name"] = str(victim / served.name) + ".SAFE"
    (tmp_path / "labels").mkdir()
    label = write_label(tmp_path / "labels" / "field_20200815.tif")
    out = tmp_path / "out"
    with replay_server() as catalogue, fault_server(user=USER, password=PASSWORD) as files:
        catalogue.add_json("/odata/v1/Products", {"value": [entry]})
        files.add_file(served.odata_path, served.data, protected=True)
        options = MigrationOptions(backend="cdse-odata", url=catalogue.url + "/odata/v1",
                                   download_url=files.url + "/odata/v1", token_url=files.url + "/token",
                                   credentials=(USER, PASSWORD), days_before=5, days_after=5, product="L2A",
                                   workers=1, write_report=False, cloud_masks=False)
        result = migrate_labels([str(label)], options, str(out))
    assert list(victim.iterdir()) == []  # nothing where the name pointed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels", "out", "products", "victim"]
    downloads = list((out / "downloads").iterdir())
    assert len(downloads) == 1 and downloads[0].name == download_name(entry["Name"])
    assert downloads[0].read_bytes() == served.data
    assert result.rows[0]["status"] == "done", result.rows[0]


# -- nothing written before the checks pass; no empty folders ------------------------------------------

def test_a_run_that_cannot_start_writes_nothing(archive, tmp_path):
    (tmp_path / "labels").mkdir()
    write_label(tmp_path / "labels" / "field.tif")
    out = tmp_path / "out"
    with pytest.raises(LabelMigrationError, match=r"No label can be migrated, so nothing was written\. field: No date"):
        migrate_labels(str(tmp_path / "labels"), local(archive), str(out))
    with pytest.raises(LabelMigrationError, match=r"The local archive \(URL\) '.*nowhere' does not exist"):
        migrate_labels(str(tmp_path / "labels"), local(tmp_path / "nowhere", date="2020-08-15"), str(out))
    assert not out.exists()


def test_a_run_without_pairs_leaves_only_its_explanation(archive, tmp_path):
    label = write_label(tmp_path / "field_20100815.tif")  # the archive has nothing from 2010
    out = tmp_path / "out"
    result = migrate_labels([str(label)], local(archive, write_report=True), str(out))
    assert (result.pairs, result.rows[0]["status"]) == (0, "no scene")
    assert tree(out) == ["footprints.gpkg", "matches.csv", "report.html"]
    message = no_pairs_message(result)
    assert message.startswith("No label was migrated: 0 labels failed and 1 label found no scene (first: "
                              "'field_20100815': No L2A scene from 5 days before to 5 days after 2010-08-15")
    assert message.endswith(f"The reasons for every label are in '{out / 'matches.csv'}' and the report "
                            f"'{out / 'report.html'}'.")


def test_pair_folders_appear_with_the_first_pair(archive, tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    write_label(labels / "field_20200815.tif")
    (labels / "broken_20200815.tif").write_bytes(b"II*\x00 not a tiff")
    result = migrate_labels(str(labels), local(archive), str(tmp_path / "out"))
    assert (result.pairs, result.failed) == (1, 1)
    assert no_pairs_message(result) is None
    assert tree(tmp_path / "out") == ["footprints.gpkg", "images", "images/field_20200815.tif", "labels",
                                      "labels/field_20200815.tif", "matches.csv"]


# -- the local archive scan -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "nan", ""])
def test_an_unreadable_product_is_left_out_of_the_scan_with_its_reason(archive, tmp_path, value):
    folder = tmp_path / "archive"
    folder.mkdir()
    for zipped in archive.iterdir():
        os.link(zipped, folder / zipped.name)
    broken = make_safe_product(folder, "L2A", size_10m=SIZE, sensing=SENSING + dt.timedelta(days=1))
    metadata = Path(broken.path) / "MTD_MSIL2A.xml"
    metadata.write_text(re.sub(r"(<BOA_QUANTIFICATION_VALUE[^>]*>)[^<]*", rf"\g<1>{value}", metadata.read_text()))
    backend = LocalArchiveBackend(str(folder))
    scenes = backend.index()
    assert [scene.datetime.day for scene in scenes] == [15]
    assert len(backend.skipped) == 1 and backend.skipped[0].startswith(f"{broken.path}: ")
    assert "quantification" in backend.skipped[0].lower()
    label = write_label(tmp_path / "field_20200816.tif")
    result = migrate_labels([str(label)], local(folder), str(tmp_path / "out"))
    assert result.rows[0]["status"] == "done"
    assert [w for w in result.warnings if w.startswith("The local archive has a product that cannot be read, "
                                                       f"left out: {broken.path}: ")]


def test_a_later_run_sees_products_added_to_the_archive(tmp_path):
    folder = tmp_path / "archive"
    label = write_label(tmp_path / "field_20200815.tif")
    make_safe_product(folder, "L2A", size_10m=SIZE, sensing=SENSING - dt.timedelta(days=20), cloud_cover=1.0)
    first = migrate_labels([str(label)], local(folder), str(tmp_path / "first"))
    assert first.rows[0]["status"] == "no scene"
    make_safe_product(folder, "L2A", size_10m=SIZE, sensing=SENSING, cloud_cover=1.0)
    second = migrate_labels([str(label)], local(folder), str(tmp_path / "second"))
    assert second.rows[0]["status"] == "done"


# -- dates, patterns, options -----------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", [r"(\d+)+x", r"(a|ab)*c", r"(.*)*", r"\d*\d*\d*\d*x", r"(x{20}){20}", "a" * 301])
def test_date_patterns_that_can_backtrack_for_ever_are_refused(pattern):
    with pytest.raises(LabelMigrationError, match="date pattern"):
        compile_date_pattern(pattern)


@pytest.mark.parametrize("pattern", [r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})", r".*_(\d{8})_.*",
                                     r"(?:\d{2}[-_]?){3}", r"d(\d{4}_\d{2})(\d{2})", r"(\d{2})\.(\d{2})\.(\d{4})"])
def test_ordinary_date_patterns_pass(pattern):
    assert compile_date_pattern(pattern).pattern == pattern


def test_a_pattern_finding_an_impossible_date_leaves_the_label_without_one():
    from labelmigration.core.migration.labels import date_from_pattern

    pattern = compile_date_pattern(r"(?P<year>\d+)-(?P<month>\d+)-(?P<day>\d+)")
    assert date_from_pattern("x_" + "9" * 40 + "-01-01.tif", pattern) is None
    assert date_from_pattern("x_2020-13-01.tif", pattern) is None
    assert date_from_pattern("x_2020-08-15.tif", pattern) == dt.date(2020, 8, 15)


def test_dates_csv_that_is_binary_huge_or_ambiguous_is_refused(tmp_path):
    table = tmp_path / "dates.csv"
    table.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(LabelMigrationError, match="is not a text file"):
        read_dates_csv(str(table))
    table.write_text("label,date\n" + "a,2020-08-15\n" * 1000)
    with limits.using(limits.with_values(max_metadata_mb=0.001)):
        with pytest.raises(LabelMigrationError, match="more than the limit"):
            read_dates_csv(str(table))
    table.write_text("label,date\na.tif,2020-08-15\na,2020-08-16\n")
    with pytest.raises(LabelMigrationError, match="Line 3 .* dates the label 'a' 2020-08-16, an earlier line 2020-08-15"):
        read_dates_csv(str(table))


@pytest.mark.parametrize("data", [bytes(range(128, 256)) * 10, b"\x00\x01\x02", b"scene,status\nx,done\n",
                                  b"label\n" + b"x" * 200_000 + b"\n"])
def test_a_garbage_matches_csv_is_replaced_with_a_warning(data, tmp_path):
    path = tmp_path / "matches.csv"
    path.write_bytes(data)
    warnings = []
    assert read_matches(str(path), warnings.append) == {}
    assert len(warnings) == 1 and "cannot be read" in warnings[0] and "it is replaced" in warnings[0]


@pytest.mark.parametrize("changes, message", [
    (dict(days_before=1e9), r"0 to 3650 days before"),
    (dict(days_after=float("nan")), r"0 to 3650 days after"),
    (dict(workers=10 ** 6), r"workers must be within 0\.\.256"),
    (dict(bands=["B02", "B99"]), r"Unknown band 'B99'"),
    (dict(bands=["B2", "B02"]), r"The band list names B02 more than once"),
    (dict(executor="tcp:// 10.0.0.1"), r"executor .* is not understood"),
    (dict(backend="stac", url="javascript:alert(1)"), r"URL 'javascript:alert\(1\)' is not an http"),
    (dict(backend="cdse-odata", url=None, download_url="/etc"), r"download URL '/etc' is not an http"),
])
def test_options_that_cannot_work_are_refused_before_anything_is_written(archive, tmp_path, changes, message):
    label = write_label(tmp_path / "field_20200815.tif")
    with pytest.raises(LabelMigrationError, match=message):
        prepare_tasks([str(label)], local(archive, **changes), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_stac_bands_may_be_asset_keys_but_not_anything(archive, tmp_path):
    from labelmigration.core.migration.checks import check_bands

    assert check_bands(["visual", "B8"], "stac") == ["VISUAL", "B08"]
    with pytest.raises(LabelMigrationError, match="Unknown band"):
        check_bands(["visual"], "local")
    with pytest.raises(LabelMigrationError, match="Unknown band"):
        check_bands(["../../x"], "stac")


def test_a_label_of_a_million_by_a_million_pixels_is_refused_from_its_header(archive, tmp_path):
    huge = tmp_path / "huge_20200815.vrt"
    huge.write_text('<VRTDataset rasterXSize="1000000" rasterYSize="1000000"><SRS>EPSG:32632</SRS>'
                    '<GeoTransform>700260, 10, 0, 5399700, 0, -10</GeoTransform>'
                    '<VRTRasterBand dataType="Byte" band="1"/></VRTDataset>')
    normal = write_label(tmp_path / "field_20200815.tif")
    started = time.monotonic()
    result = migrate_labels([str(huge), str(normal)], local(archive), str(tmp_path / "out"))
    assert time.monotonic() - started < 30
    rows = {row["label"]: row for row in result.rows}
    assert rows["field_20200815"]["status"] == "done"
    assert rows["huge_20200815"]["status"] == "failed"
    assert "1,000,000 x 1,000,000 pixels" in rows["huge_20200815"]["reason"]


def test_an_output_folder_holding_labels_or_in_the_way_is_refused(archive, tmp_path):
    out = tmp_path / "out"
    (out / "labels").mkdir(parents=True)
    label = write_label(out / "labels" / "field_20200815.tif")
    with pytest.raises(LabelMigrationError, match="lies in '.*out/labels', where the run writes"):
        prepare_tasks([str(label)], local(archive), str(out))
    other = write_label(tmp_path / "field_20200815.tif")
    (out / "report.html").mkdir()
    with pytest.raises(LabelMigrationError, match="report.html' is a folder, where the run writes a file"):
        prepare_tasks([str(other)], local(archive), str(out))
