"""Bad-input table for migratelabels (processing/migrate_labels.py, core/migration/, core/search/local.py).

Expected answers: the issue's report (issue 13) of what a hostile or clumsy user got before, and the
shape of the answer it asks for:

* "migratelabels exits 0 when every label failed (0 pairs)" -> the run fails. A run whose labels fail
  only in their search legitimately writes matches.csv, footprints.gpkg and report.html (they say why),
  which the table's ``message`` cases forbid, so that case is a plain test below checking exactly what
  is left on disk, through processing.run and qgis_process. A run in which no label can even start (no
  label has a date, no label can be read) fails before it writes anything: those are table cases.
* "Empty images/, labels/ and masks/ folders after a failed migration; an output folder created even
  when the input check fails" -> every failing case below leaves nothing at all (the engine compares
  the whole tree before and after).
* "quantification abc ... aborts the local-archive search and fails every label of a migration" -> the
  product is left out with a warning naming it and the reason, and the label migrates from the other one.
* "DAYS_BEFORE=1e9" (a traceback in searchscenes) -> the parameters have a maximum (3650 days).
* The rest (malformed, binary and huge dates CSVs, invalid and catastrophic date patterns, a cloud model
  that is no ONNX file, unknown bands, an unreachable Dask scheduler, WORKERS huge, a 1,000,000 x
  1,000,000 label, a garbage matches.csv, output folders nested with the archive or holding inputs) are
  the issue's "everything a hostile tester would try": each gets one message naming the parameter or
  file and the problem, before anything is written (or, where the run can go on, a warning).
"""
import csv
import datetime as dt
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from labelmigration.tests.support.bad_inputs import QGIS_PROCESS, Case, changes, cli_arguments, ids, snapshot
from labelmigration.tests.support.environment import user_environment
from labelmigration.tests.support.loopback import closed_port_url

pytestmark = pytest.mark.qgis

HUGE_VRT = """<VRTDataset rasterXSize="1000000" rasterYSize="1000000">
  <SRS>EPSG:32632</SRS>
  <GeoTransform>700260, 10, 0, 5399700, 0, -10</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1"/>
</VRTDataset>
"""


def _labels_copy(ws, name="labels"):
    target = ws.path(name)
    shutil.copytree(ws["labels"], target)
    return str(target)


def _archive_copy(ws):
    target = ws.path("archive")
    shutil.copytree(ws["archive"], target)
    return str(target)


def _label_named(ws, name, folder="labels"):
    """A folder holding the library's label under another file name."""
    target = ws.path(folder)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(ws["labels"]) / "field_20200815.tif", target / name)
    return str(target)


def _run(ws, **parameters):
    """A run that would succeed (the library's label over the library's archive), changed by parameters."""
    values = {"LABELS": ws["labels"], "BACKEND": 3, "URL": ws["archive"], "CLOUD_MASKS": False,
              "OUTPUT_FOLDER": ws.out("migrated")}
    values.update(parameters)
    return {key: value for key, value in values.items() if value is not None}


def _archive_with_unreadable_product(ws):
    """The library's archive plus a product of the next day whose quantification is 'abc'."""
    from labelmigration.tests.support.safe_products import make_safe_product

    archive = _archive_copy(ws)
    broken = make_safe_product(archive, "L2A", size_10m=120, sensing=dt.datetime(2020, 8, 16, 10, 25, 59))
    metadata = Path(broken.path) / "MTD_MSIL2A.xml"
    text = metadata.read_text()
    metadata.write_text(re.sub(r"(<BOA_QUANTIFICATION_VALUE[^>]*>)[^<]*", r"\1abc", text))
    assert "abc</BOA_QUANTIFICATION_VALUE>" in metadata.read_text()
    return archive


def _output_with(ws, name, data):
    folder = ws.path("migrated")
    folder.mkdir(exist_ok=True)
    if data is None:
        (folder / name).mkdir()
    else:
        (folder / name).write_bytes(data)
    return str(folder)


def _images_linked_outside(ws):
    """An output folder whose images/ is a link to a folder outside it (pairs would land there)."""
    out, elsewhere = ws.path("migrated"), ws.path("elsewhere")
    out.mkdir()
    elsewhere.mkdir()
    (out / "images").symlink_to(elsewhere, target_is_directory=True)
    return str(out)


CASES = [
    # -- labels and their dates ---------------------------------------------------------------------------
    Case("label-folder-without-labels", "migratelabels", lambda ws: _run(
        ws, LABELS=(ws.path("empty").mkdir() or str(ws.path("empty")))),
        message=r"No label rasters \(.*\) were found in '.*empty'", cli=True),
    Case("labels-without-dates", "migratelabels", lambda ws: _run(ws, LABELS=_label_named(ws, "field.tif")),
         message=r"No label can be migrated, so nothing was written\. field: No date in the file name 'field\.tif'; "
                 r"give DATE or a dates CSV"),
    Case("label-that-is-no-raster", "migratelabels", lambda ws: _run(
        ws, LABELS=None, LABEL_FILES=[ws.write("junk_20200815.tif", b"II*\x00 not a tiff")]),
        message=r"No label can be migrated, so nothing was written\. junk_20200815: The label '.*junk_20200815\.tif' "
                r"cannot be read as an image"),
    Case("label-of-a-million-by-a-million-pixels", "migratelabels", lambda ws: _run(
        ws, LABELS=None, LABEL_FILES=[ws.write("huge_20200815.vrt", HUGE_VRT)]),
        message=r"The label '.*huge_20200815\.vrt' is 1,000,000 x 1,000,000 pixels .* more than the limit", seconds=20),
    Case("dates-csv-malformed", "migratelabels", lambda ws: _run(
        ws, DATES_CSV=ws.write("dates.csv", "label,date\nfield_20200815,someday\n")),
        message=r"Line 2 of the dates CSV '.*dates\.csv' is not 'label,date' with a date such as 2020-08-12"),
    Case("dates-csv-binary", "migratelabels", lambda ws: _run(
        ws, DATES_CSV=ws.write("dates.csv", b"\x89PNG\r\n\x1a\n\xff\xfe\xfa" * 200)),
        message=r"The dates CSV '.*dates\.csv' is not a text file \(UTF-8\)"),
    Case("dates-csv-with-nul-bytes", "migratelabels", lambda ws: _run(
        ws, DATES_CSV=ws.write("dates.csv", b"label,date\nfield\x00,2020-08-15\n")),
        message=r"The dates CSV '.*dates\.csv' is not a text file \(UTF-8\)"),
    Case("dates-csv-huge", "migratelabels", lambda ws: _run(
        ws, DATES_CSV=ws.write("dates.csv", "label,date\n" + "field_20200815,2020-08-15\n" * 2000)),
        env={"LABELMIGRATION_MAX_METADATA_MB": "0.01"},
        message=r"The dates CSV '.*dates\.csv' is [\d.]+ MB, more than the limit"),
    Case("dates-csv-dating-a-label-twice", "migratelabels", lambda ws: _run(
        ws, DATES_CSV=ws.write("dates.csv", "label,date\nfield_20200815,2020-08-15\nfield_20200815,2021-01-01\n")),
        message=r"Line 3 of the dates CSV .* dates the label 'field_20200815' 2021-01-01, an earlier line 2020-08-15"),
    Case("date-pattern-invalid", "migratelabels", lambda ws: _run(ws, DATE_PATTERN="(?P<year>\\d{4}"),
         message=r"The date pattern '\(\?P<year>\\d\{4\}' is not a valid regular expression"),
    Case("date-pattern-catastrophic", "migratelabels", lambda ws: _run(ws, DATE_PATTERN=r"(\d+)+x"),
         message=r"The date pattern '\(\\d\+\)\+x' repeats a part that itself repeats", seconds=15, cli=True),
    # -- numbers, model, bands, executor ------------------------------------------------------------------
    Case("days-before-huge", "migratelabels", lambda ws: _run(ws, DAYS_BEFORE=1e9),
         message=r"Days before \(DAYS_BEFORE\): 1000000000(\.0)? is above the maximum of 3650", cli=True),
    Case("min-shift-confidence-above-one", "migratelabels", lambda ws: _run(ws, COREGISTER=1, MIN_SHIFT_CONFIDENCE=1.5),
         message=r"\(MIN_SHIFT_CONFIDENCE\): 1\.5 is above the maximum of 1\."),
    Case("workers-huge", "migratelabels", lambda ws: _run(ws, WORKERS=10 ** 9),
         message=r"WORKERS\): 1000000000 is above the maximum of 256"),
    Case("cloud-model-not-onnx", "migratelabels", lambda ws: _run(
        ws, CLOUD_MODEL=ws.write("cloud.onnx", "this is no model\n" * 10)),
        message=r"The model file '.*cloud\.onnx' is not an ONNX model onnxruntime can load"),
    Case("bands-unknown", "migratelabels", lambda ws: _run(ws, BANDS="B02,B99,NIR"),
         message=r"Unknown bands 'B99', 'NIR': give Sentinel-2 band names such as B02, B03, B04, B08"),
    Case("bands-repeated", "migratelabels", lambda ws: _run(ws, BANDS="B02,B03,B02"),
         message=r"The band list names B02 more than once"),
    Case("executor-not-an-address", "migratelabels", lambda ws: _run(ws, EXECUTOR="dask please"),
         message=r"The executor 'dask please' is not understood"),
    Case("executor-unreachable", "migratelabels", lambda ws: _run(
        ws, EXECUTOR=closed_port_url().replace("http://", "tcp://")), env={"LABELMIGRATION_CONNECT_TIMEOUT_S": "2"},
        message=r"Cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:\d+' within 2 s", seconds=25),
    # -- backend and URL ----------------------------------------------------------------------------------
    Case("local-archive-missing", "migratelabels", lambda ws: _run(ws, URL=str(ws.path("nowhere"))),
         message=r"The local archive \(URL\) '.*nowhere' does not exist"),
    Case("stac-url-not-http", "migratelabels", lambda ws: _run(ws, BACKEND=1, URL="ftp://example.org/stac"),
         message=r"The URL 'ftp://example\.org/stac' is not an http:// or https:// address"),
    Case("token-url-not-http", "migratelabels", lambda ws: _run(
        ws, BACKEND=0, URL="http://127.0.0.1:9/odata/v1", TOKEN_URL="file:///etc/passwd"),
        message=r"The token URL 'file:///etc/passwd' is not an http:// or https:// address"),
    # -- the output folder --------------------------------------------------------------------------------
    Case("output-folder-inside-archive", "migratelabels", lambda ws: _run(
        ws, URL=(archive := _archive_copy(ws)), OUTPUT_FOLDER=archive + "/migrated"),
        message=r"The output folder OUTPUT_FOLDER .* is nested with the input folder URL", cli=True),
    Case("archive-inside-output-folder", "migratelabels", lambda ws: _run(
        ws, URL=_archive_copy(ws), OUTPUT_FOLDER=str(ws.folder)),
        message=r"The output folder OUTPUT_FOLDER .* is nested with the input folder URL"),
    Case("archive-as-file-url-inside-output-folder", "migratelabels", lambda ws: _run(
        ws, URL="file://" + _archive_copy(ws), OUTPUT_FOLDER=str(ws.folder)),
        message=r"The output folder OUTPUT_FOLDER .* is nested with the input folder URL"),
    Case("label-file-inside-output-images", "migratelabels", lambda ws: _run(
        ws, LABELS=None, LABEL_FILES=[_label_named(ws, "field_20200815.tif", "migrated/images") + "/field_20200815.tif"],
        OUTPUT_FOLDER=str(ws.path("migrated"))),
        message=r"The input LABEL_FILES \('.*migrated/images/field_20200815\.tif'\) lies inside the output folder "
                r"OUTPUT_FOLDER"),
    Case("dates-csv-is-the-old-matches-csv", "migratelabels", lambda ws: _run(
        ws, DATES_CSV=_output_with(ws, "matches.csv", b"label,date\nfield_20200815,2020-08-15\n") + "/matches.csv",
        OUTPUT_FOLDER=str(ws.path("migrated"))),
        message=r"The input DATES_CSV .* lies inside the output folder OUTPUT_FOLDER"),
    Case("output-folder-is-a-file", "migratelabels", lambda ws: _run(ws, OUTPUT_FOLDER=ws.write("file.txt", "x")),
         message=r"The output folder OUTPUT_FOLDER .* is a file"),
    Case("matches-csv-is-a-folder", "migratelabels", lambda ws: _run(
        ws, OUTPUT_FOLDER=_output_with(ws, "matches.csv", None)),
        message=r"'.*migrated/matches\.csv' is a folder, where the run writes a file"),
    Case("images-is-a-file", "migratelabels", lambda ws: _run(ws, OUTPUT_FOLDER=_output_with(ws, "images", b"x")),
         message=r"'.*migrated/images' is a file, where the run writes a folder"),
    Case("images-is-a-link-outside", "migratelabels", lambda ws: _run(ws, OUTPUT_FOLDER=_images_linked_outside(ws)),
         message=r"Refused to write 'images': it would land outside the folder '.*migrated'"),
    # -- runs that go on, and say what they left out --------------------------------------------------------
    Case("archive-with-an-unreadable-product", "migratelabels", lambda ws: _run(
        ws, URL=_archive_with_unreadable_product(ws)), may_write=True, seconds=60,
        warning=r"The local archive has a product that cannot be read, left out: .*S2B_MSIL2A_20200816T102559_.*\.SAFE: "
                r".*QUANTIFICATION.*'abc'"),
    Case("earlier-matches-csv-is-garbage", "migratelabels", lambda ws: _run(
        ws, OUTPUT_FOLDER=_output_with(ws, "matches.csv", bytes(range(128, 256)) * 50)), may_write=True,
        warning=r"The earlier run's matches\.csv '.*matches\.csv' cannot be read \(.*\); it is replaced"),
    Case("labels-differing-only-in-case", "migratelabels", lambda ws: _run(
        ws, LABELS=(_label_named(ws, "Field_20200815.tif") and _label_named(ws, "field_20200815.tif"))),
        may_write=True, warning=r"field_20200815: The labels 'Field_20200815' and 'field_20200815' would be written to "
                                r"the same files"),
    Case("label-name-that-is-no-file-name", "migratelabels", lambda ws: _run(
        ws, LABELS=_label_named(ws, "f:ield<1>_20200815.tif")), may_write=True,
        warning=r"The label 'f:ield<1>_20200815' cannot be a file name as it is: its pair is "
                r"images/f_ield_1__20200815-[0-9a-f]{8}\.tif"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_migration_inputs(case, check_bad_input):
    check_bad_input(case)


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_migration_inputs_through_qgis_process(case, check_bad_input_cli):
    check_bad_input_cli(case)


# -- a migration in which every label failed --------------------------------------------------------------
def _labels_without_scenes(folder: Path, library) -> Path:
    """The library's label, dated 2010: the archive (2020) has no scene for it."""
    labels = folder / "labels"
    labels.mkdir()
    shutil.copy(Path(library["labels"]) / "field_20200815.tif", labels / "field_20100815.tif")
    return labels


def _check_what_is_left(out: Path, message: str) -> None:
    """The run failed, saying why and where; it left exactly matches.csv, footprints.gpkg and report.html
    (no empty images/, labels/ or masks/ folder, no .work, no thumbnail folder)."""
    assert re.search(r"No label was migrated: 0 labels failed and 1 label found no scene \(first: 'field_20100815': "
                     r"No L2A scene from 10 days before to 10 days after 2010-08-15", message), message
    assert f"The reasons for every label are in '{out / 'matches.csv'}' and the report '{out / 'report.html'}'" \
        in message, message
    assert sorted(os.listdir(out)) == ["footprints.gpkg", "matches.csv", "report.html"]
    with open(out / "matches.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["label"], row["status"]) for row in rows] == [("field_20100815", "no scene")]


def test_every_label_failing_fails_the_run_and_keeps_the_reasons(provider, bad_input_library, tmp_path):
    """Before: exit code 0 with 0 pairs. Now: the run fails; its explanation stays on disk."""
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    labels = _labels_without_scenes(tmp_path, bad_input_library)
    inputs = snapshot(labels, Path(bad_input_library["folder"]))
    out = tmp_path / "level1" / "migrated"
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("labelmigration:migratelabels", {
            "LABELS": str(labels), "BACKEND": 3, "URL": bad_input_library["archive"], "CLOUD_MASKS": False,
            "OUTPUT_FOLDER": str(out)}, feedback=QgsProcessingFeedback())
    assert "Traceback" not in str(raised.value)
    _check_what_is_left(out, str(raised.value))
    assert changes(inputs, snapshot(labels, Path(bad_input_library["folder"]))) == []


@pytest.mark.cli
def test_every_label_failing_exits_1_through_qgis_process(cli_home, bad_input_library, tmp_path):
    labels = _labels_without_scenes(tmp_path, bad_input_library)
    out = tmp_path / "migrated"
    started = time.monotonic()
    result = subprocess.run(
        [QGIS_PROCESS, "run", "labelmigration:migratelabels", "--", *cli_arguments({
            "LABELS": str(labels), "BACKEND": 3, "URL": bad_input_library["archive"], "CLOUD_MASKS": False,
            "OUTPUT_FOLDER": str(out)})],
        env=user_environment(HOME=str(cli_home), QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True,
        timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and time.monotonic() - started < 90
    _check_what_is_left(out, " ".join(output.split()))
