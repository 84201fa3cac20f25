"""The pytest side of the GUI tier, shared by every tests/gui/test_*.py: a fresh QGIS profile with the plugin,
the environment QGIS runs in, starting the desktop with a ``--code`` script, and reading its JSON report.

The profile is temporary (``--profiles-path <tmp> --profile test``, and HOME/XDG_* point into the temporary
folder too), so the user's own QGIS profile is never read or written. The scripts run inside QGIS and import
tests/gui/desktop_harness.py: this folder goes on QGIS's PYTHONPATH (never the repository root, whose
processing/ package would shadow QGIS's).
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PLUGIN = "labelmigration"
PROFILE = "test"
SYSTEM_PYTHON = "/usr/bin/python3"  # the Python QGIS is built against (the venv must not be used)
REPO = Path(__file__).resolve().parents[2]
GUI_DIR = Path(__file__).resolve().parent  # on QGIS's PYTHONPATH: the scripts import desktop_harness from here

# QGIS runs $XDG_DATA_HOME/QGIS/QGIS3/startup.py when its Python starts, before plugins load (verified on
# 3.22; <profile>/python/startup.py is NOT run). This hook records Python errors raised while plugins load
# and stops QGIS from opening its blocking error dialog then: without it a plugin failing in initGui()
# leaves the desktop waiting on a modal dialog before the --code script ever runs.
EARLY_HOOK = '''"""Written by tests/gui/desktop_session.py into a temporary XDG_DATA_HOME; run before plugins load."""
import json
import os
import traceback
import warnings

import qgis.utils
from qgis.core import Qgis, QgsApplication


def _lm_early_record(entry):
    if os.environ.get("LM_GUI_EARLY_DONE"):  # the desktop script has taken over
        return
    with open(os.environ["LM_GUI_EARLY_ERRORS"], "a", encoding="utf-8") as stream:
        stream.write(json.dumps(entry, default=str) + "\\n")


def _lm_early_stack_dialog(exc_type, value, tb, msg, pop_error=True):
    text = "".join(traceback.format_exception(exc_type, value, tb)) if exc_type else ""
    _lm_early_record({"kind": "error dialog", "tag": "", "level": -1, "message": str(msg), "traceback": text})


def _lm_early_message(message, tag, level):
    if tag.startswith("Python") or int(level) >= int(Qgis.Critical):
        _lm_early_record({"kind": "log", "tag": tag, "level": int(level), "message": message, "traceback": ""})


def _lm_early_warning(message, category, filename, lineno, file=None, line=None):
    # deprecations from the plugin's own modules (not its tests) while it loads: what QGIS 4 removed or changed
    path = filename.replace(os.sep, "/")
    if issubclass(category, DeprecationWarning) and "/labelmigration/" in path and "/tests/" not in path:
        _lm_early_record({"kind": "deprecation", "tag": "", "level": -1, "message": f"{filename}:{lineno}: {message}",
                          "traceback": ""})
    _lm_early_show_warning(message, category, filename, lineno, file, line)


qgis.utils.open_stack_dialog = _lm_early_stack_dialog
QgsApplication.messageLog().messageReceived[str, str, Qgis.MessageLevel].connect(_lm_early_message)
warnings.filterwarnings("always", category=DeprecationWarning, module=r"labelmigration(\\.|$)")
_lm_early_show_warning = warnings.showwarning
warnings.showwarning = _lm_early_warning
'''

# Settings written into the fresh profile so that nothing interactive or networked starts.
QUIET_SETTINGS = {
    "qgis/checkVersion": False,
    "core/NewsFeed/httpsfeedqgisorg/disabled": True,
    "PythonPlugins/processing": True,
}


# --- the profile -------------------------------------------------------------------------------

def enable_plugin(profile_dir: Path, repo_root: Path) -> None:
    """Enable the plugin in the profile's QGIS3.ini (tools/enable_plugin.py) and write QUIET_SETTINGS."""
    python = SYSTEM_PYTHON if os.access(SYSTEM_PYTHON, os.X_OK) else sys.executable
    subprocess.run([python, str(repo_root / "tools" / "enable_plugin.py"), str(profile_dir), PLUGIN],
                   check=True, capture_output=True, timeout=60)
    from qgis.PyQt.QtCore import QSettings

    settings = QSettings(str(profile_dir / "QGIS" / "QGIS3.ini"), QSettings.IniFormat)
    for key, value in QUIET_SETTINGS.items():
        settings.setValue(key, value)
    settings.sync()


def make_profile(root: Path, repo_root: Path) -> Path:
    """<root>/profiles/test with the checkout linked as the plugin and enabled (as `make install`)."""
    profile_dir = root / "profiles" / PROFILE
    plugins = profile_dir / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / PLUGIN).symlink_to(repo_root, target_is_directory=True)
    enable_plugin(profile_dir, repo_root)
    return profile_dir


# --- the environment ---------------------------------------------------------------------------

def path_without_venvs(path: str) -> str:
    """PATH less the bin folders of virtual environments (a folder whose parent holds pyvenv.cfg).

    QGIS's embedded Python finds its prefix from the first ``python3`` on PATH: with a venv's bin first (as
    tools/matrix/run_tests.sh sets PATH, /opt/lm-venv/bin) QGIS's sys.executable becomes the venv's python3 and
    the venv's site-packages join QGIS's sys.path. A user's QGIS has no venv there."""
    return os.pathsep.join(p for p in path.split(os.pathsep)
                           if p and not (Path(p).parent / "pyvenv.cfg").is_file())


def environment(tmp: Path, display: str, output_dir: Path, work_dir: Path, repo_root: Path, *,
                result: str = "result.json", watchdog_s: float, python_path=(), **extra: str) -> dict:
    """QGIS's environment: a private HOME/XDG_*, the early-error hook, the LM_GUI_* variables the scripts read,
    and PYTHONPATH = python_path + tests/gui + the caller's PYTHONPATH (less the checkout and the .venv)."""
    env = dict(os.environ)
    for name in ("PYTHONHOME", "VIRTUAL_ENV", "QGIS_PLUGINPATH", "QGIS_CUSTOM_CONFIG_PATH", "QT_QPA_PLATFORM",
                 "WAYLAND_DISPLAY", "XAUTHORITY", "SESSION_MANAGER"):
        env.pop(name, None)
    kept = []
    if "PYTHONPATH" in env:  # never let the checkout itself onto QGIS's sys.path (its processing/ shadows QGIS's)
        kept = [p for p in env["PYTHONPATH"].split(os.pathsep)
                if p and Path(p).resolve() != repo_root.resolve() and ".venv" not in Path(p).parts]
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in python_path] + [str(GUI_DIR)] + kept)
    env["PATH"] = path_without_venvs(env.get("PATH", os.defpath))
    home = tmp / "home"
    runtime = tmp / "runtime"
    for folder in (home, runtime):
        folder.mkdir(exist_ok=True)
    runtime.chmod(0o700)
    startup = home / ".local" / "share" / "QGIS" / "QGIS3" / "startup.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(EARLY_HOOK)
    env.update(
        DISPLAY=display,
        QT_QPA_PLATFORM="xcb",
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        LM_GUI_RESULT=str(output_dir / result),
        LM_GUI_OUTPUT_DIR=str(output_dir),
        LM_GUI_WORK_DIR=str(work_dir),
        LM_GUI_WATCHDOG_S=str(watchdog_s),
        LM_GUI_EARLY_ERRORS=str(tmp / "startup-errors.jsonl"),
        **extra,
    )
    return env


def onnxruntime_folder(tmp: Path) -> Path:
    """A folder with only onnxruntime and its *.dist-info linked (tools/link_packages.py, as make demo-gui
    does), for QGIS's PYTHONPATH, as a user installs onnxruntime into the Python QGIS runs; skip when there
    is none to link."""
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed (make setup); the model algorithms need it")
    spec = importlib.util.spec_from_file_location("labelmigration_link_packages", REPO / "tools" / "link_packages.py")
    link_packages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(link_packages)
    folder = tmp / "onnxruntime-only"
    folder.mkdir()
    link_packages.link(folder, "onnxruntime")
    return folder


def oncloudn_chip(data_dir: Path, folder: Path):
    """The first On Cloud N chip of tests/data/imagery/oncloudn (a real Sentinel-2 L2A chip with a human cloud label)
    written as a GeoTIFF with bands B02 B03 B04 B08 into folder; returns (its path, the npz arrays). Skips the
    test when the data are missing."""
    import numpy as np

    from labelmigration.tests.support.rasters import from_origin, write_raster

    path = data_dir / "imagery" / "oncloudn" / "oncloudn_2chips.npz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    chips = np.load(path)
    x0, y0 = map(float, chips["ul_xy"][0])
    scene = write_raster(folder / "chip.tif", chips["image"][0], f"EPSG:{int(chips['epsg'][0])}",
                         from_origin(x0, y0, 10, 10), descriptions=("B02", "B03", "B04", "B08"))
    return scene, chips


# --- a run ---------------------------------------------------------------------------------------

def run_desktop(qgis_desktop: str, profiles_root: Path, script: Path, env: dict, cwd: Path, output_dir: Path, *,
                result: str, log: str, timeout_s: float, label: str = "") -> dict:
    """Start QGIS with the script, wait (kill it after timeout_s), and return its report and how it ended."""
    command = [qgis_desktop, "--nologo", "--noversioncheck", "--profiles-path", str(profiles_root),
               "--profile", PROFILE, "--code", str(script)]
    log_path = output_dir / log
    started = time.monotonic()
    timed_out = False
    with open(log_path, "wb") as stream:
        process = subprocess.Popen(command, env=env, cwd=str(cwd), stdout=stream, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            returncode = process.wait(timeout=30)
    elapsed = time.monotonic() - started
    result_path = output_dir / result
    report = json.loads(result_path.read_text()) if result_path.exists() else None
    print(f"QGIS desktop{f' ({label})' if label else ''} run: {elapsed:.1f} s, exit {returncode}, "
          f"report in {result_path}")
    return {"report": report, "returncode": returncode, "timed_out": timed_out, "elapsed_s": elapsed,
            "log_tail": log_path.read_text(errors="replace")[-6000:], "output_dir": output_dir,
            "command": command}


def start_desktop(tmp: Path, script: Path, *, qgis_desktop: str, display: str, output_dir: Path, repo_root: Path,
                  result: str, log: str, screenshots, timeout_s: float, watchdog_s: float, label: str = "",
                  profiles_root: Path = None, python_path=(), **extra_env: str) -> dict:
    """One desktop run in the temporary folder tmp: a fresh profile with the checkout linked as the plugin (unless
    profiles_root holds one already), tmp/work as the scratch folder, the previous run's files removed from
    output_dir, QGIS started with the script; returns run_desktop's answer with "work" added."""
    if profiles_root is None:
        profiles_root = tmp / "profiles-root"
        make_profile(profiles_root, repo_root)
    work_dir = tmp / "work"
    work_dir.mkdir(exist_ok=True)
    for name in tuple(screenshots) + (result, log):
        (output_dir / name).unlink(missing_ok=True)
    env = environment(tmp, display, output_dir, work_dir, repo_root, result=result, watchdog_s=watchdog_s,
                      python_path=python_path, **extra_env)
    run = run_desktop(qgis_desktop, profiles_root, script, env, tmp, output_dir, result=result, log=log,
                      timeout_s=timeout_s, label=label)
    run["work"] = work_dir
    return run


# --- reading the report ---------------------------------------------------------------------------

def report_of(run) -> dict:
    if run["report"] is None:
        pytest.fail(f"QGIS wrote no report (exit {run['returncode']}, timed out: {run['timed_out']}); "
                    f"log tail:\n{run['log_tail']}")
    return run["report"]


def assert_checks(run, names):
    """Every named check was recorded and passed."""
    checks = report_of(run)["checks"]
    failed_steps = {k: v["detail"] for k, v in checks.items() if k.startswith("step_") and not v["ok"]}
    problems = [f"{name}: not recorded; the script stopped earlier or a step raised: {failed_steps}"
                if name not in checks else f"{name}: {checks[name]['detail']}"
                for name in names if name not in checks or not checks[name]["ok"]]
    assert not problems, "\n".join(problems)


def fact(run, name):
    facts = report_of(run)["facts"]
    assert name in facts, f"{name} was not recorded; checks: {report_of(run)['checks']}"
    return facts[name]


def assert_no_python_errors(run) -> None:
    """No error dialog or Python error while QGIS started, no uncaught exception or error dialog afterwards, and
    the script's own no_python_errors check passed."""
    report = report_of(run)
    errors = [e for e in report.get("startup_errors", [])
              if e.get("kind") == "error dialog" or e["tag"] == "Python error"]
    assert not errors and not report["exceptions"] and not report["stack_dialogs"], (
        errors, report["exceptions"], report["stack_dialogs"])
    assert_checks(run, ["no_python_errors"])


def assert_screenshot_written(run, path: Path) -> None:
    """The screenshot exists and is an image of some size."""
    assert path.is_file(), f"{path} missing; screenshots: {report_of(run)['screenshots']}"
    from qgis.PyQt.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull() and image.width() > 200 and image.height() > 200


def assert_ran_to_the_end(run, timeout_s) -> dict:
    """QGIS was not killed, the script finished every step, and QGIS exited with 0, or exited as QGIS without
    the plugin does on this machine (run["bare_exit"], see bare_exit); returns the report."""
    report = report_of(run)
    assert not run["timed_out"], f"QGIS was killed after {timeout_s} s:\n{run['log_tail']}"
    assert report["finished"], (f"the script stopped in step {report.get('current_step')!r}: "
                                f"{report['checks'].get('watchdog')}\n{run['log_tail']}")
    early = [e["message"] for e in report.get("startup_errors", []) if e.get("kind") == "deprecation"]
    assert not early, f"deprecation warnings from the plugin's own code while it loaded: {early}"
    assert not report.get("deprecations"), (
        "deprecation warnings from the plugin's own code (QGIS 4 removed or changed what QGIS 3 deprecates): "
        f"{report['deprecations']}")
    if run["returncode"] != 0:
        bare = run["bare_exit"]() if run.get("bare_exit") else None
        same_crash = (bare is not None and bare["returncode"] == run["returncode"]
                      and crash_on_exit(bare["log_tail"]) and crash_on_exit(run["log_tail"]))
        assert same_crash, (f"QGIS exited with {run['returncode']}; QGIS without the plugin exits with "
                            f"{bare['returncode'] if bare else '(not measured)'}\n{run['log_tail'][-2000:]}")
        print(f"QGIS {report.get('qgis_version')} exits with {run['returncode']} ({crash_on_exit(run['log_tail'])}) "
              f"after the script finished, and so does QGIS without the plugin on this machine: accepted")
    return report


# --- QGIS without the plugin: how it exits here ----------------------------------------------------

# Debian 13's QGIS 3.40.6 dies on signal 11 on the way out on these machines, with no plugin enabled and
# whichever way it is asked to quit (QgsApplication.exit, quit, closing the main window, the Exit action).
# A run of the plugin may exit like that only when QGIS without the plugin does too.
BARE_EXIT_SCRIPT = '''"""Written by tests/gui/desktop_session.py: with no plugin enabled, run one of QGIS's own raster
algorithms and load its output (as the desktop scripts do with the plugin's), then quit QGIS as they do."""
import os

import numpy as np
from osgeo import gdal
from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

WORK = os.path.dirname(os.environ["LM_GUI_BARE_REPORT"])


def _run():
    import processing

    source = os.path.join(WORK, "bare_input.tif")
    dataset = gdal.GetDriverByName("GTiff").Create(source, 64, 48, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0))
    dataset.GetRasterBand(1).WriteArray((np.arange(64 * 48) % 251).reshape(48, 64).astype(np.uint8))
    dataset = None
    results = processing.runAndLoadResults("native:rescaleraster", {
        "INPUT": source, "BAND": 1, "MINIMUM": 0, "MAXIMUM": 1, "OUTPUT": os.path.join(WORK, "bare_output.tif")})
    QTimer.singleShot(1000, lambda: _bye(results))


def _bye(results):
    with open(os.environ["LM_GUI_BARE_REPORT"], "w", encoding="utf-8") as stream:
        stream.write(",".join(sorted(plugins)) + "\\n" + str(bool(results)) + " "
                     + str(len(QgsProject.instance().mapLayers())))
    QgsProject.instance().setDirty(False)
    QgsApplication.exit(0)


QTimer.singleShot(1000, _run)
'''


def crash_on_exit(log_tail: str) -> str:
    """QGIS's own crash line at the end of its output ("QGIS died on signal 11"), or ''."""
    lines = [line for line in log_tail.replace("Aborted", "\n").splitlines() if line.strip()]
    return lines[-1].strip() if lines and lines[-1].startswith("QGIS died on signal") else ""


def bare_exit(tmp: Path, *, qgis_desktop: str, display: str, timeout_s: float = 120) -> dict:
    """Start QGIS with a fresh profile where the plugin is not installed, run and load a QGIS raster algorithm, ask
    it to quit; returns {"returncode", "log_tail", "plugins"} (the Python plugins QGIS had loaded)."""
    profiles_root = tmp / "profiles-root"
    profile_dir = profiles_root / "profiles" / PROFILE
    (profile_dir / "QGIS").mkdir(parents=True)
    from qgis.PyQt.QtCore import QSettings

    settings = QSettings(str(profile_dir / "QGIS" / "QGIS3.ini"), QSettings.IniFormat)
    for key, value in QUIET_SETTINGS.items():
        settings.setValue(key, value)
    settings.sync()
    script = tmp / "bare_exit.py"
    script.write_text(BARE_EXIT_SCRIPT)
    env = environment(tmp, display, tmp, tmp, REPO, result="unused.json", watchdog_s=timeout_s,
                      LM_GUI_BARE_REPORT=str(tmp / "bare_report.txt"))
    run = run_desktop(qgis_desktop, profiles_root, script, env, tmp, tmp, result="unused.json", log="bare.log",
                      timeout_s=timeout_s, label="without the plugin")
    report = tmp / "bare_report.txt"
    lines = report.read_text().splitlines() if report.exists() else []
    assert len(lines) == 2, f"QGIS without the plugin did not run the exit script:\n{run['log_tail']}"
    loaded = lines[0].split(",")
    assert PLUGIN not in loaded, f"the plugin was loaded in the bare run: {loaded}"
    assert lines[1] == "True 1", f"the bare run's algorithm did not run and load its output: {lines[1]}"
    return {"returncode": run["returncode"], "log_tail": run["log_tail"], "plugins": loaded}
