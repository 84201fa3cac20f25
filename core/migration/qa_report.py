"""The QA report of a label migration: one self-contained HTML page with thumbnails and histograms.

``OUTPUT_FOLDER/report.html`` opens offline in any browser: no scripts, inline CSS and SVG, and
PNG thumbnails under ``OUTPUT_FOLDER/report/`` referenced by relative links, so the folder can be
moved. Each run writes its thumbnails into a fresh ``report/run-*`` folder and publishes the page
last, by an atomic rename; only then are the previous run's thumbnails removed. A failed or
cancelled run therefore leaves the previous report whole and removes what it had written.
"""
import os
import shutil
import uuid
from datetime import datetime
from typing import Optional, Sequence
from urllib.parse import quote

from osgeo import gdal

from ..util.errors import Cancelled, LabelMigrationError
from .match_table import is_finished
from ..util.outputs import atomic_output
from ..util.paths import path_inside, safe_file_name
from ..util.progress import Steps
from .qa_page import render_page, text_of
from .quicklook import write_quicklook
from ..util.gdal_settings import gdal_errors

REPORT_NAME = "report.html"
THUMBNAIL_FOLDER = "report"
THUMBNAIL_SIZE = 256
_RUN_PREFIX = "run-"


def write_report(output_folder: str, rows: Sequence[dict], title: str = "Label migration report",
                 progress=None, is_cancelled=None) -> str:
    """Write OUTPUT_FOLDER/report.html (thumbnails under OUTPUT_FOLDER/report/); return its path.

    ``rows`` are matches.csv rows as dicts; image and label_raster paths are relative to
    output_folder. A pair whose thumbnail cannot be made is shown with the reason instead.
    """
    steps = Steps(progress, is_cancelled)
    steps.check()
    if not os.path.isdir(output_folder):
        raise LabelMigrationError(f"The output folder '{output_folder}' does not exist.")
    rows = [dict(row) for row in rows]
    report_path = os.path.join(output_folder, REPORT_NAME)
    thumbnail_root = os.path.join(output_folder, THUMBNAIL_FOLDER)
    created_root = not os.path.isdir(thumbnail_root)
    try:
        os.makedirs(thumbnail_root, exist_ok=True)
        # a new, unique folder per run; os.mkdir's default mode under the user's umask, as for the report
        # itself (mkdtemp's 0700 would hide the thumbnails from a web server)
        run_folder = os.path.join(thumbnail_root, _RUN_PREFIX + uuid.uuid4().hex)
        os.mkdir(run_folder)
    except OSError as error:
        raise LabelMigrationError(
            f"Cannot write the report in '{output_folder}': {error.strerror}.") from error
    try:
        pairs = [row for row in rows if is_finished(row)]
        thumbnails = []
        for number, row in enumerate(pairs, start=1):
            thumbnails.append(_thumbnail(output_folder, run_folder, number, row))
            steps.report(0.95 * number / len(pairs))
        page = render_page(title, rows, pairs, thumbnails, datetime.now().astimezone())
        steps.report(1.0)  # the last chance to cancel: nothing may raise once the page is published
        with atomic_output(report_path) as temporary:
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(page)
    except BaseException:
        shutil.rmtree(run_folder, ignore_errors=True)
        if created_root:
            _remove_if_empty(thumbnail_root)
        raise
    if os.listdir(run_folder):
        _remove_old_runs(thumbnail_root, keep=os.path.basename(run_folder))
    else:  # no pair, no thumbnail: no folder for them either (the page links none of the old ones)
        _remove_old_runs(thumbnail_root, keep=None)
        _remove_if_empty(thumbnail_root)
    return report_path


# --- thumbnails ---------------------------------------------------------------------------------

def _thumbnail(output_folder: str, run_folder: str, number: int, row: dict) -> dict:
    """Write one pair's PNG; returns its relative link and size, or the reason it is missing."""
    image, label = text_of(row.get("image")), text_of(row.get("label_raster"))
    if not image:
        return {"error": "no image path in the row"}
    png = path_inside(run_folder, safe_file_name(f"{number:04d}-{text_of(row.get('label'))}", max_length=60) + ".png")
    try:
        with gdal_errors():
            write_quicklook(_resolve(output_folder, image), png,
                            _resolve(output_folder, label) if label else None, max_size=THUMBNAIL_SIZE)
            written = gdal.Open(png)
            size = (written.RasterXSize, written.RasterYSize)
            written = None
    except Cancelled:
        raise
    except (LabelMigrationError, RuntimeError) as error:
        return {"error": str(error).strip() or type(error).__name__}
    return {"src": _relative_link(output_folder, png), "width": size[0], "height": size[1]}


def _resolve(output_folder: str, path: str) -> str:
    if path.startswith("/vsi") or os.path.isabs(path):
        return path
    return os.path.join(output_folder, path)


def _relative_link(output_folder: str, path: str) -> str:
    relative = os.path.relpath(path, output_folder)
    return quote(relative.replace(os.sep, "/"), safe="/")


def _remove_old_runs(thumbnail_root: str, keep: Optional[str]) -> None:
    for name in os.listdir(thumbnail_root):
        path = os.path.join(thumbnail_root, name)
        if name != keep and name.startswith(_RUN_PREFIX) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass
