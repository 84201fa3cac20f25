"""The engine of the table-driven bad-input suite (tests/qgis/test_bad_inputs_*.py).

A :class:`Case` names an algorithm, builds its parameters in a fresh case folder and says what must
happen: the run fails with a message matching ``message`` (or, with ``warning``, succeeds and warns),
within ``seconds``. :func:`check_case` runs it through ``processing.run`` (and :func:`check_case_cli`
through ``qgis_process``, as a user would) and then checks, for a failing case:

* the message matches and shows no traceback (through qgis_process: exit status 1, the message on
  the console, no traceback anywhere in the output);
* nothing changed on disk anywhere under the test's folder: no output or part file left behind, the
  inputs byte for byte as they were, nothing written outside the target (the case folder sits two
  levels below the snapshotted root, so that '../..' escapes are caught);
* no request to a foreign host carried credentials (:class:`ForeignHost`);
* the run ended within its bound.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

from .environment import user_environment
from .loopback import serving

QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"
_SMALL = 8 << 20  # files up to this size are hashed; larger ones compared by size and mtime


@dataclass
class Workspace:
    """What a case's parameter builder gets: the shared valid inputs and a folder of its own."""

    library: Dict[str, str]  # name -> a valid input (see build_library), shared by every case (read-only)
    folder: Path  # the case's own folder (empty at the start), two levels below the snapshot root
    root: Path  # the snapshot root
    servers: Dict[str, object] = field(default_factory=dict)  # loopback servers the case may use

    def __getitem__(self, name: str) -> str:
        return self.library[name]

    def out(self, name: str) -> str:
        """A path for an output inside the case folder (its folder is not created)."""
        return str(self.folder / "out" / name)

    def path(self, name: str) -> Path:
        return self.folder / name

    def write(self, name: str, data) -> str:
        target = self.folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            target.write_text(data)
        else:
            target.write_bytes(data)
        return str(target)


@dataclass
class Case:
    id: str
    algorithm: str
    parameters: Callable[[Workspace], dict]
    message: Optional[str] = None  # regex the failure message must match
    warning: Optional[str] = None  # instead: the run succeeds and pushes a warning matching this
    seconds: float = 30.0  # the run must end within this
    cli: bool = False  # also run through qgis_process
    env: Dict[str, str] = field(default_factory=dict)  # environment while it runs (limits, ...)
    may_write: bool = False  # a succeeding case may add files inside its folder

    def __str__(self) -> str:
        return f"{self.algorithm}-{self.id}"


def ids(cases: List[Case]) -> List[str]:
    return [str(case) for case in cases]


# -- snapshots --------------------------------------------------------------------------------------------
def snapshot(*roots: Path) -> Dict[str, tuple]:
    state = {}
    for root in roots:
        for folder, names, files in os.walk(root):
            for name in names:
                state[os.path.join(folder, name)] = ("folder",)
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except FileNotFoundError:
                    continue
                if os.path.islink(path) or info.st_size > _SMALL:
                    state[path] = (info.st_size, info.st_mtime_ns, os.path.islink(path))
                else:
                    state[path] = (info.st_size, hashlib.sha256(Path(path).read_bytes()).hexdigest())
    return state


def changes(before: Dict[str, tuple], after: Dict[str, tuple]) -> List[str]:
    """What differs between two snapshots. One thing is not ours and is left out: QGIS computes the
    statistics of every raster layer it loads for the default renderer, and GDAL caches them in
    '<raster>.aux.xml' beside it, new or rewritten (qgis_process does it for its own
    native:rasterlayerproperties too). Such a file beside an unchanged input is not counted; beside
    anything else it is."""
    def statistics_cache(path: str) -> bool:
        raster = path[:-len(".aux.xml")]
        return path.endswith(".aux.xml") and raster in before and before[raster] == after.get(raster)

    new = {path for path in set(after) - set(before) if not statistics_cache(path)}
    lines = [f"new: {path}" for path in sorted(new)]
    lines += [f"gone: {path}" for path in sorted(set(before) - set(after))]
    lines += [f"changed: {path}" for path in sorted(set(before) & set(after))
              if before[path] != after[path] and not statistics_cache(path)]
    return lines


# -- a host that must never get credentials ---------------------------------------------------------------
class ForeignHost(ThreadingHTTPServer):
    """A loopback server standing in for a host the user never configured credentials for. It answers
    every GET with a small zip-looking body and records the Authorization headers it was sent."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _ForeignHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.authorizations: List[str] = []
        self.requests: List[str] = []
        self.lock = threading.Lock()


class _ForeignHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        with self.server.lock:
            self.server.requests.append(self.path)
            if self.headers.get("Authorization"):
                self.server.authorizations.append(self.headers["Authorization"])
        body = b"PK\x05\x06" + b"\x00" * 18  # an empty zip
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def foreign_host() -> Iterator[ForeignHost]:
    with serving(ForeignHost()) as server:
        yield server


# -- running a case ---------------------------------------------------------------------------------------
@contextmanager
def _environment(values: Dict[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _prepare(case: Case, library: Dict[str, str], root: Path, servers: Dict[str, object]) -> Workspace:
    folder = root / "level1" / "level2" / re.sub(r"\W+", "_", str(case))
    folder.mkdir(parents=True)
    return Workspace(library=library, folder=folder, root=root, servers=servers)


def check_case(case: Case, library: Dict[str, str], root: Path, servers: Optional[Dict[str, object]] = None) -> None:
    """Run case through processing.run and check everything the module docstring lists."""
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    workspace = _prepare(case, library, root, servers or {})
    parameters = case.parameters(workspace)
    roots = [root, Path(library["folder"])]
    before = snapshot(*roots)
    feedback = _RecordingFeedback()
    error: Optional[Exception] = None
    started = time.monotonic()
    with _environment(case.env):
        try:
            processing.run(f"labelmigration:{case.algorithm}", parameters, feedback=feedback)
        except QgsProcessingException as raised:
            error = raised
    elapsed = time.monotonic() - started
    after = snapshot(*roots)
    assert elapsed <= case.seconds, f"{case} took {elapsed:.1f} s (bound {case.seconds} s)"
    _check_credentials(case, servers or {})
    if case.warning is not None:
        assert error is None, f"{case} should succeed with a warning but failed: {error}"
        warnings = "\n".join(feedback.warnings)
        assert re.search(case.warning, warnings), f"{case}: no warning matching {case.warning!r} in:\n{warnings}"
        if not case.may_write:
            assert changes(before, after) == []
        else:
            outside = [line for line in changes(before, after) if str(workspace.folder) not in line]
            assert outside == [], f"{case} wrote outside its folder:\n" + "\n".join(outside)
        return
    assert error is not None, f"{case} should fail but succeeded; warnings: {feedback.warnings}"
    message = str(error)
    assert "Traceback" not in message, message
    assert re.search(case.message, message, re.DOTALL), f"{case}: {message!r} does not match {case.message!r}"
    assert changes(before, after) == [], f"{case} left changes behind:\n" + "\n".join(changes(before, after))


def _check_credentials(case: Case, servers: Dict[str, object]) -> None:
    foreign = servers.get("foreign")
    if foreign is not None:
        with foreign.lock:
            sent, foreign.authorizations[:] = list(foreign.authorizations), []
        assert sent == [], f"{case} sent credentials to a foreign host: {sent}"


class _RecordingFeedback:
    """A QgsProcessingFeedback that keeps the warnings (made lazily: QGIS must be up first)."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Recording(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.warnings: List[str] = []

            def pushWarning(self, text):  # noqa: N802
                self.warnings.append(text)
                super().pushWarning(text)

            def reportError(self, text, fatalError=False):  # noqa: N802,N803
                self.warnings.append(text)
                super().reportError(text, fatalError)

        return Recording()


def cli_arguments(parameters: dict) -> List[str]:
    """qgis_process arguments for parameters: lists repeat the key, booleans are true/false."""
    arguments = []
    for key, value in parameters.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "true" if item else "false"
            arguments.append(f"{key}={item}")
    return arguments


def check_case_cli(case: Case, library: Dict[str, str], root: Path, home: Path,
                   servers: Optional[Dict[str, object]] = None) -> None:
    """Run a failing case through qgis_process as a user would: exit status 1, the message on the
    console, no traceback, nothing changed on disk, within the bound (plus qgis_process's start)."""
    assert case.message is not None, "only failing cases run through qgis_process"
    workspace = _prepare(case, library, root, servers or {})
    parameters = case.parameters(workspace)
    roots = [root, Path(library["folder"])]
    before = snapshot(*roots)
    environment = user_environment(HOME=str(home), QT_QPA_PLATFORM="offscreen", **case.env)
    started = time.monotonic()
    result = subprocess.run([QGIS_PROCESS, "--json", "run", f"labelmigration:{case.algorithm}", "--",
                             *cli_arguments(parameters)], env=environment, capture_output=True, text=True,
                            timeout=case.seconds + 60)
    elapsed = time.monotonic() - started
    after = snapshot(*roots)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{case} exited 0 through qgis_process:\n{output}"
    assert "Traceback" not in output, output
    assert re.search(case.message, output, re.DOTALL), f"{case}: {output!r} does not match {case.message!r}"
    assert elapsed <= case.seconds + 30, f"{case} took {elapsed:.1f} s through qgis_process"
    assert changes(before, after) == [], f"{case} left changes behind:\n" + "\n".join(changes(before, after))
    _check_credentials(case, servers or {})
    if result.stdout.strip().startswith("{"):
        json.loads(result.stdout)  # the --json answer stays parseable


def install_for_cli(repo_root: Path, home: Path) -> Path:
    """`make install` into a temporary HOME, as tests/cli does; returns HOME."""
    result = subprocess.run(["make", "-C", str(repo_root), "install"], env=user_environment(HOME=str(home)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


# -- the valid inputs every case starts from --------------------------------------------------------------
ULX, ULY = 699960.0, 5400000.0  # the generator's SAFE tile 32UPU


def build_library(folder: Path) -> Dict[str, str]:
    """Valid inputs for every algorithm, written once per session; cases break them one at a time.

    scene.tif: 4 bands (B02 B03 B04 B08) uint16 DN in UTM 32N inside the archive product's tile;
    label.tif: a georeferenced label (EPSG:3035) inside the scene; label.png + reference.tif: a label
    drawn on a reference image; footprints.gpkg: the label's footprint with label and date fields;
    classes.json: a class config; cloud.onnx: a 4-band cloud model; truth.tif / prediction.tif: class
    rasters on the scene's grid; archive/: one real-structure L2A SAFE zip (2020-08-15); labels/: a
    label folder for migratelabels (one label of 2020-08-15 on the archive product).
    """
    import numpy as np

    from .onnx_models import conv_model
    from .rasters import from_origin, origin_in, write_png, write_raster
    from .safe_products import make_safe_product

    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = np.mgrid[0:120, 0:120]
    scene = np.stack([(b + 1) * 1000 + rows + cols for b in range(4)]).astype(np.uint16)
    library = {"scene": str(write_raster(folder / "scene.tif", scene, "EPSG:32632",
                                         from_origin(ULX + 200, ULY - 200, 10, 10), nodata=0,
                                         descriptions=("B02", "B03", "B04", "B08")))}
    x, y = origin_in("EPSG:32632", "EPSG:3035", ULX + 500, ULY - 500)
    label = np.zeros((100, 100), np.uint8)
    label[20:80, 30:70] = 1
    library["label"] = str(write_raster(folder / "label_20200815.tif", label, "EPSG:3035", from_origin(x, y, 5, 5),
                                        nodata=255))
    library["reference"] = str(write_raster(folder / "reference.tif", np.full((3, 100, 100), 120, np.uint8),
                                            "EPSG:3035", from_origin(x, y, 5, 5), nodata=0))
    library["label_png"] = str(write_png(folder / "drawn_label.png", label))
    truth = np.zeros((120, 120), np.uint8)
    truth[30:90, 30:90] = 1
    library["truth"] = str(write_raster(folder / "truth.tif", truth, "EPSG:32632",
                                        from_origin(ULX + 200, ULY - 200, 10, 10), nodata=255))
    prediction = np.zeros((120, 120), np.uint8)
    prediction[35:95, 30:90] = 1
    library["prediction"] = str(write_raster(folder / "prediction.tif", prediction, "EPSG:32632",
                                             from_origin(ULX + 200, ULY - 200, 10, 10), nodata=255))
    library["footprints"] = _footprints(folder / "footprints.gpkg", x, y)
    library["classes"] = str(folder / "classes.json")
    Path(library["classes"]).write_text(json.dumps([{"name": "water", "color": "#0000ff", "filter": "label = 'label_20200815'"}]))
    weights = np.zeros((1, 4, 1, 1), np.float32)
    weights[0, :, 0, 0] = 1e-4
    library["model"] = str(conv_model(folder / "cloud.onnx", weights, [-3.0], sigmoid=True, metadata={
        "model_type": "Segmentor", "bands": ["B02", "B03", "B04", "B08"], "reflectance_scale": 1e-4,
        "class_names": {"0": "clear", "1": "cloud"}, "tile_size": 64, "tiles_overlap": 10}))
    archive = folder / "archive"
    archive.mkdir()
    product = make_safe_product(archive, "L2A", size_10m=120, zipped=True)
    library["safe_zip"] = str(next(archive.glob("*.zip")))
    library["archive"] = str(archive)
    library["product_name"] = product.name
    labels = folder / "labels"
    labels.mkdir()
    write_raster(labels / "field_20200815.tif", np.ones((8, 12), np.uint8), "EPSG:32632",
                 from_origin(ULX + 300, ULY - 300, 10, 10))
    library["labels"] = str(labels)
    library["folder"] = str(folder)
    return library


def _footprints(path: Path, x: float, y: float) -> str:
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("footprints", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("date", ogr.OFTString))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("label", "label_20200815")
    feature.SetField("date", "2020-08-15")
    feature.SetGeometry(ogr.CreateGeometryFromWkt(
        f"POLYGON(({x + 150} {y - 100},{x + 350} {y - 100},{x + 350} {y - 400},{x + 150} {y - 400},{x + 150} {y - 100}))"))
    layer.CreateFeature(feature)
    source = None
    return str(path)
