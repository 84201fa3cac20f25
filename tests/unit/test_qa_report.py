"""write_report: the migration's QA page, checked by parsing it and by a headless Chromium screenshot."""
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from osgeo import gdal

from labelmigration.core.util.errors import Cancelled
from labelmigration.core.migration.qa_page import histogram_bins
from labelmigration.core.migration.qa_report import write_report
from labelmigration.tests.support.range_server import range_server
from labelmigration.tests.support.rasters import from_origin, write_raster

ODD_LABEL = "<script>x</script>&"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASS_COLOURS = {0: (0, 0, 0, 0), 1: (230, 60, 40, 255), 2: (40, 200, 90, 255)}


def _scene(rows: int, cols: int, seed: int) -> np.ndarray:
    """Smooth fields with some texture: blue/green/red/nir reflectance in 0..0.5."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    base = np.stack([0.05 + 0.05 * x, 0.08 + 0.10 * y, 0.06 + 0.12 * (x * y), 0.30 + 0.15 * x])
    fields = ((np.floor(x * 4) + np.floor(y * 3)) % 3)[np.newaxis] * 0.04
    return (base + fields + rng.normal(0, 0.01, base.shape)).clip(0, 0.5).astype(np.float32)


def _label(rows: int, cols: int) -> np.ndarray:
    label = np.zeros((rows, cols), np.uint8)
    label[rows // 6:rows // 2, cols // 8:cols // 2] = 1
    label[rows // 2 + 2:rows - rows // 8, cols // 2:cols - cols // 10] = 2
    return label


def _pair(folder: Path, stem: str, rows: int, cols: int, seed: int, dn: bool) -> dict:
    transform = from_origin(690_000 + seed * 5_000, 5_340_000, 10, 10)
    image = _scene(rows, cols, seed)
    if dn:  # uint16 DN with blue/green/red/nir names and a nodata strip
        data = (image * 10_000 + 1_000).astype(np.uint16)
        data[:, :, :3] = 0
        descriptions, nodata = ("blue", "green", "red", "nir"), 0
    else:
        data, descriptions, nodata = image, ("B02", "B03", "B04", "B08"), None
    (folder / "images").mkdir(exist_ok=True)
    (folder / "labels").mkdir(exist_ok=True)
    write_raster(folder / "images" / f"{stem}.tif", data, "EPSG:32632", transform, nodata=nodata,
                 descriptions=descriptions)
    write_raster(folder / "labels" / f"{stem}.tif", _label(rows, cols), "EPSG:32632", transform,
                 colormap=CLASS_COLOURS)
    return {"image": f"images/{stem}.tif", "label_raster": f"labels/{stem}.tif"}


def _row(label, status, reason="", scene="", when="", offset="", scene_cloud="", footprint_cloud="",
         nodata="", coverage="", pair=None) -> dict:
    row = dict(label=label, scene=scene, datetime=when, offset_days=offset, scene_cloud_pct=scene_cloud,
               footprint_cloud_pct=footprint_cloud, nodata_pct=nodata, coverage_pct=coverage,
               status=status, reason=reason, image="", label_raster="")
    row.update(pair or {})
    return row


S2 = "S2B_MSIL2A_20210603T102559_N0300_R108_T32UPU_20210603T140202"


@pytest.fixture
def migration(tmp_path):
    """An output folder with four pairs on disk and rows of every status, as matches.csv has them."""
    folder = tmp_path / "migration"
    folder.mkdir()
    rows = [
        _row("field_001", "done", "", S2, "2021-06-03T10:25:59Z", 3, 12.5, 0.0, 0.0, 100,
             _pair(folder, "field_001", 48, 64, 1, dn=False)),
        _row("field_002", "done", "", S2.replace("0603", "0610"), "2021-06-10T10:25:59Z", -4, 31.0, 8.4, 4.7, 100,
             _pair(folder, "field_002", 200, 300, 2, dn=True)),
        _row(ODD_LABEL, "done", "", S2, "2021-06-03T10:25:59Z", 0, 55.0, 42.0, 0.0, 98.5,
             _pair(folder, "odd name &", 40, 40, 3, dn=False)),
        # an earlier run wrote this pair; values come as strings, as read back from the CSV
        _row("field_004", "skipped", "already done", S2, "2021-05-29T10:25:59Z", "12", "5", "1.5", "0", "100",
             _pair(folder, "field_004", 64, 48, 4, dn=False)),
        _row("field_005", "failed", "Download failed: HTTP 503 from the archive <retry later>", S2,
             "2021-06-03T10:25:59Z", 3, 20.0),
        _row("field_006", "skipped", "The label has no labelled pixel."),
        _row("field_007", "no scene", "No scene within ±30 days under 20 % cloud."),
    ]
    return folder, rows


class _ReportParser(HTMLParser):
    """Collects what the tests check: images, histogram bars, table rows, all text, script tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images, self.histograms, self.tables, self.text, self.tags = [], {}, {}, [], []
        self._svg = self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "svg" and "histogram" in attrs.get("class", ""):
            self._svg = attrs["data-name"]
            self.histograms[self._svg] = {"total": int(attrs["data-total"]), "bars": []}
        elif tag == "rect" and self._svg:
            self.histograms[self._svg]["bars"].append(int(attrs["data-count"]))
        elif tag == "table":
            self._table = attrs.get("class")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None
        elif tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(path) -> _ReportParser:
    parser = _ReportParser()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    parser.close()
    return parser


def _table_dicts(rows):
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row)) for row in body]


def _png_size(path):
    dataset = gdal.Open(str(path))
    return dataset.RasterXSize, dataset.RasterYSize, dataset.GetDriver().ShortName


def _leftovers(folder: Path):
    return [p for p in folder.rglob("*") if p.name.startswith(".") or ".part" in p.name]


def _snapshot(folder: Path):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_report_content(migration):
    folder, rows = migration
    fractions = []
    path = write_report(str(folder), rows, title="June migration", progress=fractions.append)
    assert path == str(folder / "report.html")
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    page = _parse(path)
    text = "".join(page.text)

    # four finished pairs (three done, one resumed), each with its PNG, all relative links
    thumbnails = [image for image in page.images if image["src"].endswith(".png")]
    assert len(thumbnails) == 4
    expected_sizes = [(256, 192), (256, 171), (240, 240), (192, 256)]  # small pairs are enlarged
    for image, expected in zip(thumbnails, expected_sizes):
        assert not os.path.isabs(image["src"]) and image["src"].startswith("report/")
        png = folder / unquote(image["src"])
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert _png_size(png) == (*expected, "PNG")
        assert (int(image["width"]), int(image["height"])) == expected
    assert [image["alt"] for image in thumbnails] == ["field_001", "field_002", ODD_LABEL, "field_004"]

    # the label outline is drawn in yellow over the true-colour image
    outlined = gdal.Open(str(folder / unquote(thumbnails[0]["src"]))).ReadAsArray()
    assert ((outlined[0] == 255) & (outlined[1] == 230) & (outlined[2] == 0)).sum() > 100

    # summary counts and captions
    assert "June migration" in text
    counts = {}
    for item in _summary_items(path):
        counts[item[0]] = item[1]
    assert counts == {"Labels": 7, "Pairs written": 4, "done": 3, "skipped (already done)": 1,
                      "skipped": 1, "failed": 1, "no scene": 1}
    assert "2021-06-10" in text and "offset -4 d" in text and "footprint cloud 8.4 %" in text
    assert "nodata 4.7 %" in text

    # histograms count exactly the finished pairs that have a value
    offsets = page.histograms["offset_days"]
    assert offsets["total"] == sum(offsets["bars"]) == 4
    assert page.histograms["footprint_cloud_pct"]["bars"] == [3, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert page.histograms["scene_cloud_pct"]["total"] == sum(page.histograms["scene_cloud_pct"]["bars"]) == 4
    assert "Offset from the label date (days)" in text
    assert "Cloud and cloud shadow over the label footprint (%)" in text  # qa_report: shadow counts too

    # failed, skipped and no-scene labels are listed with their reasons; resumed pairs are not
    problems = _table_dicts(page.tables["problems"])
    assert [(p["label"], p["status"]) for p in problems] == [
        ("field_005", "failed"), ("field_006", "skipped"), ("field_007", "no scene")]
    assert problems[0]["reason"] == "Download failed: HTTP 503 from the archive <retry later>"
    assert problems[2]["reason"] == "No scene within ±30 days under 20 % cloud."

    # the full table has every row, and links to the pair's files relative to the report
    matches = _table_dicts(page.tables["matches"])
    assert [m["label"] for m in matches] == [row["label"] for row in rows]
    assert matches[2]["image"] == "images/odd name &.tif"
    html_text = Path(path).read_text(encoding="utf-8")
    assert 'href="images/odd%20name%20%26.tif"' in html_text
    assert (folder / "images" / "odd name &.tif").exists()


def _summary_items(path):
    class Counts(HTMLParser):
        def __init__(self):
            super().__init__()
            self.items, self._current = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "li" and "count" in (dict(attrs).get("class") or ""):
                self._current = []

        def handle_endtag(self, tag):
            if tag == "li" and self._current is not None:
                number, name = self._current[0], "".join(self._current[1:])
                self.items.append((name, int(number)))
                self._current = None

        def handle_data(self, data):
            if self._current is not None:
                self._current.append(data)

    parser = Counts()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser.items


def test_label_text_is_escaped(migration):
    folder, rows = migration
    path = write_report(str(folder), rows, title="Report of <i>June</i> & more")
    raw = Path(path).read_text(encoding="utf-8")
    page = _parse(path)
    assert "script" not in page.tags and "i" not in page.tags
    assert "<script>" not in raw and "<i>" not in raw and "<retry later>" not in raw
    text = "".join(page.text)
    assert ODD_LABEL in text and "Report of <i>June</i> & more" in text
    # the odd label's thumbnail name is made safe for any file system (core.util.paths.safe_file_name: none of the
    # characters Windows refuses), and its link is URL-quoted
    odd = [image["src"] for image in page.images if image["alt"] == ODD_LABEL]
    assert len(odd) == 1 and (folder / unquote(odd[0])).is_file()
    name = unquote(odd[0]).rsplit("/", 1)[-1]
    assert not set('<>:"/\\|?*') & set(name) and "&" not in odd[0] and name.endswith("_script_&.png")


def test_unreadable_pair_is_reported_not_fatal(migration):
    folder, rows = migration
    rows[1]["image"] = "images/gone.tif"
    page = _parse(write_report(str(folder), rows))
    assert len([image for image in page.images if image["src"].endswith(".png")]) == 3
    assert "No thumbnail: The image '" in "".join(page.text) and "gone.tif' does not exist." in "".join(page.text)


def test_outputs_are_atomic(migration):
    folder, rows = migration
    first = write_report(str(folder), rows)
    assert _leftovers(folder) == []
    runs = list((folder / "report").iterdir())
    assert len(runs) == 1

    # a second run replaces the page and removes the first run's thumbnails
    rows[0]["reason"] = "second run"
    write_report(str(folder), rows)
    assert "second run" in Path(first).read_text(encoding="utf-8")
    assert len(list((folder / "report").iterdir())) == 1 and not runs[0].exists()
    assert _leftovers(folder) == []

    # a cancelled run after two thumbnails leaves the previous report exactly as it was
    before = _snapshot(folder)
    calls = []

    def cancel_after_two():
        calls.append(1)
        return len(calls) >= 3  # call 1 is before any thumbnail, then one call after each

    with pytest.raises(Cancelled):
        write_report(str(folder), rows, title="never published", is_cancelled=cancel_after_two)
    assert _snapshot(folder) == before
    assert _leftovers(folder) == []


def test_a_report_without_pairs_leaves_no_thumbnail_folder(migration):
    """Issue 13: a failed migration left empty folders; a report of labels that all failed has no
    thumbnails, so it leaves no report/ folder either (and drops an earlier run's thumbnails, which the
    new page no longer shows)."""
    folder, rows = migration
    write_report(str(folder), rows)
    assert any((folder / "report").iterdir())
    failed = [_row(row["label"], "failed", "no scene could be read") for row in rows]
    path = write_report(str(folder), failed)
    assert Path(path).is_file() and not (folder / "report").exists()
    assert "no scene could be read" in Path(path).read_text(encoding="utf-8")


def test_cancel_before_any_report_leaves_nothing(migration):
    folder, rows = migration
    inputs = _snapshot(folder)
    with pytest.raises(Cancelled):
        write_report(str(folder), rows, is_cancelled=lambda: True)
    assert _snapshot(folder) == inputs and not (folder / "report").exists()


def test_inputs_are_not_modified(migration):
    folder, rows = migration
    inputs = _snapshot(folder)
    write_report(str(folder), rows)
    after = _snapshot(folder)
    assert {name: after[name] for name in inputs} == inputs


def test_histogram_bins():
    edges, counts = histogram_bins([-4, 0, 3, 12])
    assert edges[0] <= -4 and edges[-1] > 12 and sum(counts) == 4 and edges[1] - edges[0] == 1
    edges, counts = histogram_bins(list(range(-60, 61)))
    assert len(counts) <= 20 and sum(counts) == 121
    edges, counts = histogram_bins([0, 9.99, 10, 100, 120], edges=range(0, 101, 10))
    assert counts == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert histogram_bins([5.0, 5.0]) == ([5.0, 6.0], [2])


def _big_pair(folder: Path, name: str, overviews: bool, size: int = 2048):
    """A 4-band uint16 image of random values (incompressible) and its label, optionally with overviews."""
    rng = np.random.default_rng(7)
    options = ["TILED=YES", "COMPRESS=DEFLATE", "PHOTOMETRIC=MINISBLACK"]
    image = gdal.GetDriverByName("GTiff").Create(str(folder / f"{name}.tif"), size, size, 4, gdal.GDT_UInt16, options)
    image.SetGeoTransform([600_000, 10, 0, 5_000_000, 0, -10])
    for index, description in enumerate(("B02", "B03", "B04", "B08"), start=1):
        band = image.GetRasterBand(index)
        band.WriteArray(rng.integers(1, 10_000, (size, size), dtype=np.uint16))
        band.SetNoDataValue(0)
        band.SetDescription(description)
    label = gdal.GetDriverByName("GTiff").Create(str(folder / f"{name}_label.tif"), size, size, 1, gdal.GDT_Byte,
                                                 options[:2])
    label.SetGeoTransform(image.GetGeoTransform())
    label.GetRasterBand(1).WriteArray(_label(size, size))
    if overviews:
        image.BuildOverviews("AVERAGE", [2, 4, 8])
        label.BuildOverviews("NEAREST", [2, 4, 8])
    image = label = None
    return sum(os.path.getsize(folder / f"{name}{suffix}.tif") for suffix in ("", "_label"))


@pytest.mark.slow
def test_thumbnail_reads_overviews_not_the_full_raster(tmp_path):
    """Served over HTTP ranges, so the bytes GDAL actually fetched are counted by the server."""
    data, output = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    output.mkdir()
    sizes = {name: _big_pair(data, name, overviews) for name, overviews in (("ovr", True), ("plain", False))}
    previous = gdal.GetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN")
    gdal.SetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    fetched = {}
    try:
        with range_server(data) as server:
            for name in sizes:
                gdal.VSICurlClearCache()
                before = server.bytes_sent
                row = _row(name, "done", pair={"image": f"/vsicurl/{server.url}/{name}.tif",
                                               "label_raster": f"/vsicurl/{server.url}/{name}_label.tif"})
                page = _parse(write_report(str(output), [row]))
                fetched[name] = server.bytes_sent - before
                png = [image for image in page.images if image["src"].endswith(".png")]
                assert len(png) == 1 and _png_size(output / unquote(png[0]["src"])) == (256, 256, "PNG")
    finally:
        gdal.SetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", previous)
        gdal.VSICurlClearCache()
    # with overviews the 256 px thumbnail reads the 1/8 level: a few percent of the files
    assert fetched["ovr"] < 0.05 * sizes["ovr"]
    # control: without overviews GDAL decodes every block to subsample, so the check can tell them apart
    assert fetched["plain"] > 0.9 * sizes["plain"]


@pytest.mark.slow
def test_report_renders_in_headless_chromium(migration, repo_root):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium is not installed (tools/install_debian_packages.sh installs it)")
    folder, rows = migration
    path = write_report(str(folder), rows, title="Label migration report: test pairs")
    screenshot = repo_root / "test-output" / "qa_report.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    if screenshot.exists():
        screenshot.unlink()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        command = [chromium, "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={screenshot}",
                   "--window-size=1200,1600", Path(path).as_uri()]
        if os.geteuid() == 0:
            command.insert(2, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0 and screenshot.exists(), result.stderr[-2000:]
    shot = gdal.Open(str(screenshot))
    assert (shot.RasterXSize, shot.RasterYSize) == (1200, 1600)
    pixels = shot.ReadAsArray()[:3].astype(int)
    # the thumbnails were loaded and drawn: their yellow outlines are on screen (the page has no other yellow)
    yellow = (pixels[0] > 230) & (pixels[1] > 200) & (pixels[2] < 60)
    assert yellow.sum() > 200
    # and the page is not blank: text and bars (the histogram blue) are drawn too
    blue = (abs(pixels[0] - 0x3b) < 12) & (abs(pixels[1] - 0x6f) < 12) & (abs(pixels[2] - 0xb6) < 12)
    assert blue.sum() > 500
