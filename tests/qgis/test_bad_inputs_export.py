"""Bad-input table: exportdataset (processing/export_dataset.py, core/dataset).

Each case starts from a private copy of a valid migrated folder (the five pairs of 40 x 40 pixels that
tests/unit/test_export_dataset.py writes with GDAL: matches.csv, images/, labels/, masks/) and breaks one
thing.

Where the expected answers come from:
* the layout migratelabels writes and exportdataset reads (core/migration/match_table.py: matches.csv with
  the columns label, image and label_raster, a pair counted when its status is 'done'; a pair's label
  raster and cloud mask on the grid of its image: same size, same pixels and origin, same CRS, as
  migratelabels cuts them). A pair whose files are missing or off the grid is left out with a warning
  while other pairs remain (pairs.py, export.py); with none left the run fails and names why;
* the parameter definitions (CHIP_SIZE 8..8192, OVERLAP smaller than the chip, MAX_NODATA/MAX_CLOUD/
  MAX_SHADOW 0..100, BLOCK_SIZE at least 1 m, TRAIN_SHARE/VALIDATION_SHARE/TEST_SHARE 0..100 and not all 0)
  and the help text (OUTPUT: a new or empty folder outside the migrated folder, or an earlier export);
* arithmetic on the valid folder: a chip of 64 pixels on a 40-pixel pair is at least
  1 - 40*40/(64*64) = 61 % padding, so with MAX_NODATA 0 no chip is kept;
* the engine's rule that no failed run leaves anything behind: every refusal comes before the dataset
  folder is written (the export is staged beside the target and renamed at the end).
Each message names the file or the parameter and says what to do.
"""
import atexit
import csv
import shutil
import tempfile
from pathlib import Path

import pytest

from labelmigration.tests.support.bad_inputs import Case, ids

pytestmark = pytest.mark.qgis

UNWRITABLE = "/proc/labelmigration-test/dataset"  # /proc takes no new files or folders, not even from root
_VALID = []  # the valid migrated folder, written once per process


def _valid_folder() -> Path:
    if not _VALID:
        from labelmigration.tests.unit.test_export_dataset import make_migrated_folder

        folder = Path(tempfile.mkdtemp(prefix="labelmigration-bad-export-"))
        atexit.register(shutil.rmtree, folder, True)
        _VALID.append(make_migrated_folder(folder / "migrated"))
    return _VALID[0]


def _migrated(ws, change=None) -> str:
    """A private copy of the valid migrated folder in the case's folder, changed by change(folder)."""
    target = ws.path("migrated")
    shutil.copytree(_valid_folder(), target)
    if change:
        change(target)
    return str(target)


def _params(ws, migrated=None, **changes):
    from labelmigration.tests.unit.test_export_dataset import CHIP

    parameters = {"INPUT": migrated or _migrated(ws), "CHIP_SIZE": CHIP, "OVERLAP": 0, "BLOCK_SIZE": 200,
                  "SEED": 3, "OUTPUT": ws.out("dataset")}
    parameters.update(changes)
    return parameters


def _a_file(ws, name="notes.txt"):
    return ws.write(name, "not a migrated folder\n")


def _rewrite_matches(edit):
    """matches.csv with every row passed through edit(row) (a row edit returns None to leave the row out)."""
    def change(folder):
        path = folder / "matches.csv"
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns, rows = reader.fieldnames, list(reader)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(row for row in (edit(dict(row)) for row in rows) if row is not None)
    return change


def _write_matches(text):
    def change(folder):
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / "matches.csv").write_bytes(data)
    return change


def _remove(*names):
    def change(folder):
        for name in names:
            (folder / name).unlink()
    return change


def _label_moved(name, metres):
    """labels/<name>.tif moved east by metres (same size, same CRS): no longer on its image's grid."""
    def change(folder):
        from osgeo import gdal

        dataset = gdal.Open(str(folder / "labels" / f"{name}.tif"), gdal.GA_Update)
        x, dx, rx, y, ry, dy = dataset.GetGeoTransform()
        dataset.SetGeoTransform((x + metres, dx, rx, y, ry, dy))
        dataset = None
    return change


def _label_resized(name):
    """labels/<name>.tif replaced by one of 20 x 20 pixels at the same corner: not its image's grid."""
    def change(folder):
        from osgeo import gdal

        path = str(folder / "labels" / f"{name}.tif")
        source = gdal.Open(path)
        transform, projection = source.GetGeoTransform(), source.GetProjection()
        source = None
        target = gdal.GetDriverByName("GTiff").Create(path, 20, 20, 1, gdal.GDT_Byte)
        target.SetGeoTransform(transform)
        target.SetProjection(projection)
        target.GetRasterBand(1).Fill(1)
        target = None
    return change


def _every_label_moved(folder):
    for name in PAIR_NAMES:
        _label_moved(name, 55.0)(folder)


def _existing_export_folder(ws):
    """OUTPUT: a folder holding the user's own files (no catalog.json of an earlier export)."""
    return str(Path(ws.write("out/dataset/my_notes.txt", "keep me\n")).parent)


PAIR_NAMES = ("west", "east", "far", "cloudy", "empty")  # tests/unit/test_export_dataset.py's PAIRS
EVERY_IMAGE = [f"images/{name}.tif" for name in PAIR_NAMES]

CASES = [
    # was not refused clearly: said what was wrong, not what to do
    Case("migrated-folder-missing", "exportdataset", lambda ws: _params(ws, str(ws.path("no_such_folder"))),
         message=r"The migrated folder '.*no_such_folder' does not exist: give the output folder of migratelabels "
                 r"\(it holds matches\.csv\)", cli=True),
    # was not refused clearly: a file was said not to exist
    Case("input-is-a-file", "exportdataset", lambda ws: _params(ws, _a_file(ws)),
         message=r"The migrated folder '.*notes\.txt' is a file, not a folder: give the output folder of "
                 r"migratelabels"),
    Case("folder-without-matches", "exportdataset",
         lambda ws: _params(ws, str(Path(_a_file(ws, "empty/readme.txt")).parent)),
         message=r"'.*empty' is not a migrated folder: it has no matches\.csv \(run migratelabels first, or "
                 r"choose its output folder\)", cli=True),
    # was not refused clearly: said what was wrong, not what to do
    Case("matches-not-text", "exportdataset", lambda ws: _params(ws, _migrated(
        ws, _write_matches(b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary"))),
        message=r"Cannot read the match table '.*migrated/matches\.csv': 'utf-8' codec can't decode .* Choose the "
                r"output folder of migratelabels"),
    # was not refused clearly: said what was wrong, not what to do
    Case("matches-not-csv", "exportdataset", lambda ws: _params(ws, _migrated(
        ws, _write_matches("<html><body>not a table</body></html>\n"))),
        message=r"The match table '.*migrated/matches\.csv' lacks the columns image, label, label_raster: it is "
                r"not the matches\.csv migratelabels writes"),
    # was not refused clearly: said what was wrong, not what to do
    Case("matches-lacks-label-raster", "exportdataset", lambda ws: _params(ws, _migrated(
        ws, _write_matches("label,image,status\nwest,images/west.tif,done\n"))),
        message=r"The match table '.*migrated/matches\.csv' lacks the columns label_raster: it is not the "
                r"matches\.csv migratelabels writes\. Choose the output folder of migratelabels"),
    # was not refused clearly: said what was wrong, not what to do
    Case("no-pair-done", "exportdataset", lambda ws: _params(ws, _migrated(
        ws, _rewrite_matches(lambda row: dict(row, status="failed")))),
        message=r"'.*migrated' holds no complete pair: matches\.csv lists none done \(its reason column says "
                r"why\); run migratelabels again"),
    Case("one-image-missing", "exportdataset", lambda ws: _params(ws, _migrated(ws, _remove("images/west.tif"))),
         warning=r"west: left out, its pair \(images/west\.tif, labels/west\.tif\) is missing", may_write=True),
    # was not refused clearly: said matches.csv lists no pair done, though it lists five
    Case("every-image-missing", "exportdataset", lambda ws: _params(ws, _migrated(ws, _remove(*EVERY_IMAGE))),
         message=r"'.*migrated' holds no complete pair: west: left out, its pair \(images/west\.tif, "
                 r"labels/west\.tif\) is missing\..* Run migratelabels again into this folder"),
    Case("label-smaller-than-image", "exportdataset", lambda ws: _params(ws, _migrated(ws, _label_resized("west"))),
         warning=r"west: left out \('.*labels/west\.tif' is not on the grid of its image '.*images/west\.tif'",
         may_write=True),
    # was not refused: a label 55 m (5.5 pixels) off its image was chipped as if on it
    Case("label-moved-off-the-grid", "exportdataset", lambda ws: _params(ws, _migrated(
        ws, _label_moved("west", 55.0))),
        warning=r"west: left out \('.*labels/west\.tif' is not on the grid of its image '.*images/west\.tif'",
        may_write=True),
    # was not refused clearly: said no chip exceeded the thresholds, and not why no pair was chipped
    Case("every-label-off-the-grid", "exportdataset", lambda ws: _params(ws, _migrated(ws, _every_label_moved)),
         message=r"No pair of '.*migrated' could be chipped: west: left out \('.*labels/west\.tif' is not on "
                 r"the grid of its image '.*images/west\.tif' \(run migratelabels again for this label\)\).* "
                 r"Nothing was written"),
    Case("overlap-equal-to-chip", "exportdataset", lambda ws: _params(ws, CHIP_SIZE=16, OVERLAP=16),
         message=r"A chip of 16 pixels cannot overlap by 16 pixels: the overlap must be at least 0 and smaller "
                 r"than the chip", cli=True),
    # was not refused clearly: said what was wrong, not what to do
    Case("no-chip-kept", "exportdataset", lambda ws: _params(ws, CHIP_SIZE=64, MAX_NODATA=0, MAX_CLOUD=0,
                                                             MAX_SHADOW=0),
         message=r"No chip was kept: every chip exceeded the nodata, cloud or shadow thresholds \(dropped: 5 "
                 r"nodata\); raise MAX_NODATA, MAX_CLOUD or MAX_SHADOW\. Nothing was written"),
    Case("output-is-the-migrated-folder", "exportdataset", lambda ws: _params(
        ws, (migrated := _migrated(ws)), OUTPUT=migrated),
        message=r"The output folder OUTPUT \('.*migrated'\) is the input folder INPUT \('.*migrated'\)\. Choose "
                r"an output folder outside the inputs"),
    Case("output-inside-the-migrated-folder", "exportdataset", lambda ws: _params(
        ws, (migrated := _migrated(ws)), OUTPUT=migrated + "/dataset"),
        message=r"The output folder OUTPUT \('.*migrated/dataset'\) is nested with the input folder INPUT",
        cli=True),
    Case("output-is-a-file", "exportdataset", lambda ws: _params(ws, OUTPUT=_a_file(ws)),
         message=r"The output folder OUTPUT \('.*notes\.txt'\) is a file\. Choose a folder"),
    Case("output-holds-other-files", "exportdataset", lambda ws: _params(ws, OUTPUT=_existing_export_folder(ws)),
         message=r"The dataset folder '.*out/dataset' is not empty and holds no earlier export: choose a new or "
                 r"empty folder"),
    # was not refused clearly: only after reading every pair, and without saying what to do
    Case("output-in-unwritable-folder", "exportdataset", lambda ws: _params(ws, OUTPUT=UNWRITABLE),
         message=r"Cannot write the dataset folder '/proc/labelmigration-test/dataset': the folder '/proc' is not "
                 r"writable \(.*\)\. Choose another dataset folder", cli=True),
    Case("shares-all-zero", "exportdataset", lambda ws: _params(ws, TRAIN_SHARE=0, VALIDATION_SHARE=0,
                                                                TEST_SHARE=0),
         message=r"The split shares \[0(\.0)?, 0(\.0)?, 0(\.0)?\] must be three numbers \(train, validation, "
                 r"test\), none negative, not all zero"),
    Case("block-size-0", "exportdataset", lambda ws: _params(ws, BLOCK_SIZE=0),
         message=r"Split block size \(m\) \(BLOCK_SIZE\): 0(\.0)? is below the minimum of 1"),
    Case("chip-size-4", "exportdataset", lambda ws: _params(ws, CHIP_SIZE=4),
         message=r"Chip size \(pixels\) \(CHIP_SIZE\): 4 is below the minimum of 8"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_export_inputs(case, check_bad_input):
    check_bad_input(case)


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_export_inputs_through_qgis_process(case, check_bad_input_cli):
    check_bad_input_cli(case)


def test_the_table_covers_the_algorithm():
    """As for every other algorithm: at least 10 bad inputs, some of them through qgis_process."""
    assert len(CASES) >= 10 and sum(case.cli for case in CASES) >= 2
    assert len(set(ids(CASES))) == len(CASES)
