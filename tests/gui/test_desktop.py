"""GUI tier: the real QGIS desktop under Xvfb with the plugin installed in a fresh profile.

QGIS is started ONCE for the module (about 10-20 s) with tests/gui/desktop_script.py as its
``--code`` script; the script does every check inside the desktop and writes a JSON report, and
the tests below assert on that report, grouped by topic. The report, QGIS's log and the
screenshots stay in test-output/gui/ (git-ignored) for a person to look at.

The profile is temporary (``--profiles-path <tmp> --profile test``, and HOME/XDG_* point into the
temporary folder too), so the user's own QGIS profile is never read or written.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

PLUGIN = "labelmigration"
PROFILE = "test"
QGIS_TIMEOUT_S = 120
WATCHDOG_S = 100  # the script gives up (and reports where) a little before the test kills QGIS
SYSTEM_PYTHON = "/usr/bin/python3"  # the Python QGIS is built against (the venv must not be used)
SCRIPT = Path(__file__).with_name("desktop_script.py")
SCREENSHOTS = ("menu_open.png", "cropscene_dialog.png", "stackbands_dialog.png", "demo_pair_canvas.png",
               "main_window.png", "search_dock.png", "main_window_after_reload.png")

# QGIS runs $XDG_DATA_HOME/QGIS/QGIS3/startup.py when its Python starts, before plugins load (verified on
# 3.22; <profile>/python/startup.py is NOT run). This hook records Python errors raised while plugins load
# and stops QGIS from opening its blocking error dialog then: without it a plugin failing in initGui()
# leaves the desktop waiting on a modal dialog before the --code script ever runs.
EARLY_HOOK = '''"""Written by tests/gui/test_desktop.py into a temporary XDG_DATA_HOME; run before plugins load."""
import json
import os
import traceback

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


qgis.utils.open_stack_dialog = _lm_early_stack_dialog
QgsApplication.messageLog().messageReceived[str, str, Qgis.MessageLevel].connect(_lm_early_message)
'''

# Settings written into the fresh profile so that nothing interactive or networked starts.
QUIET_SETTINGS = {
    "qgis/checkVersion": False,
    "core/NewsFeed/httpsfeedqgisorg/disabled": True,
    "PythonPlugins/processing": True,
}


def _make_profile(root: Path, repo_root: Path) -> Path:
    """<root>/profiles/test with the checkout linked as the plugin and enabled (as `make install`)."""
    profile_dir = root / "profiles" / PROFILE
    plugins = profile_dir / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / PLUGIN).symlink_to(repo_root, target_is_directory=True)
    python = SYSTEM_PYTHON if os.access(SYSTEM_PYTHON, os.X_OK) else sys.executable
    subprocess.run([python, str(repo_root / "tools" / "enable_plugin.py"), str(profile_dir), PLUGIN],
                   check=True, capture_output=True, timeout=60)
    from qgis.PyQt.QtCore import QSettings

    settings = QSettings(str(profile_dir / "QGIS" / "QGIS3.ini"), QSettings.IniFormat)
    for key, value in QUIET_SETTINGS.items():
        settings.setValue(key, value)
    settings.sync()
    return profile_dir


def _environment(tmp: Path, display: str, output_dir: Path, work_dir: Path, repo_root: Path) -> dict:
    env = dict(os.environ)
    for name in ("PYTHONHOME", "VIRTUAL_ENV", "QGIS_PLUGINPATH", "QGIS_CUSTOM_CONFIG_PATH", "QT_QPA_PLATFORM",
                 "WAYLAND_DISPLAY", "XAUTHORITY", "SESSION_MANAGER"):
        env.pop(name, None)
    if "PYTHONPATH" in env:  # never let the checkout itself onto QGIS's sys.path (its processing/ shadows QGIS's)
        kept = [p for p in env["PYTHONPATH"].split(os.pathsep)
                if p and Path(p).resolve() != repo_root.resolve() and ".venv" not in Path(p).parts]
        env["PYTHONPATH"] = os.pathsep.join(kept)
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
        LM_GUI_RESULT=str(output_dir / "result.json"),
        LM_GUI_OUTPUT_DIR=str(output_dir),
        LM_GUI_WORK_DIR=str(work_dir),
        LM_GUI_WATCHDOG_S=str(WATCHDOG_S),
        LM_GUI_EARLY_ERRORS=str(tmp / "startup-errors.jsonl"),
    )
    return env


@pytest.fixture(scope="module")
def desktop_run(xvfb_display, qgis_desktop, gui_output_dir, repo_root, tmp_path_factory):
    """Start QGIS once with the plugin and the desktop script; return the script's report."""
    tmp = tmp_path_factory.mktemp("qgis-desktop")
    profiles_root = tmp / "profiles-root"
    _make_profile(profiles_root, repo_root)
    work_dir = tmp / "work"
    work_dir.mkdir()
    for name in SCREENSHOTS + ("result.json", "qgis.log"):
        (gui_output_dir / name).unlink(missing_ok=True)

    env = _environment(tmp, xvfb_display, gui_output_dir, work_dir, repo_root)
    command = [qgis_desktop, "--nologo", "--noversioncheck", "--profiles-path", str(profiles_root),
               "--profile", PROFILE, "--code", str(SCRIPT)]
    log_path = gui_output_dir / "qgis.log"
    started = time.monotonic()
    timed_out = False
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=str(tmp), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            returncode = process.wait(timeout=QGIS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            returncode = process.wait(timeout=30)
    elapsed = time.monotonic() - started
    log_text = log_path.read_text(errors="replace")
    result_path = gui_output_dir / "result.json"
    report = json.loads(result_path.read_text()) if result_path.exists() else None
    print(f"QGIS desktop run: {elapsed:.1f} s, exit {returncode}, report in {result_path}")
    return {
        "report": report,
        "returncode": returncode,
        "timed_out": timed_out,
        "elapsed_s": elapsed,
        "log_tail": log_text[-6000:],
        "output_dir": gui_output_dir,
        "command": command,
    }


def _report(run) -> dict:
    if run["report"] is None:
        pytest.fail(f"QGIS wrote no report (exit {run['returncode']}, timed out: {run['timed_out']}); "
                    f"log tail:\n{run['log_tail']}")
    return run["report"]


def _assert_checks(run, names):
    checks = _report(run)["checks"]
    problems = []
    for name in names:
        if name not in checks:
            failed_steps = {k: v["detail"] for k, v in checks.items() if k.startswith("step_") and not v["ok"]}
            problems.append(f"{name}: not recorded; the script stopped earlier or a step raised: {failed_steps}")
        elif not checks[name]["ok"]:
            problems.append(f"{name}: {checks[name]['detail']}")
    assert not problems, "\n".join(problems)


def test_desktop_ran_to_the_end(desktop_run):
    report = _report(desktop_run)
    assert not desktop_run["timed_out"], f"QGIS was killed after {QGIS_TIMEOUT_S} s:\n{desktop_run['log_tail']}"
    assert report["finished"], (f"the script stopped in step {report.get('current_step')!r}: "
                                f"{report['checks'].get('watchdog')}\n{desktop_run['log_tail']}")
    assert desktop_run["returncode"] == 0, f"QGIS exited with {desktop_run['returncode']}"
    assert report["qgis_version"].startswith("3."), report["qgis_version"]


def test_plugin_provider_toolbox_and_menu(desktop_run):
    _assert_checks(desktop_run, ["desktop_started", "plugin_loaded", "plugin_module", "provider_initial",
                                 "toolbox_initial", "menu_initial", "menu_before_help_initial"])


def test_menu_entry_opens_the_algorithm_dialog(desktop_run):
    _assert_checks(desktop_run, ["menu_action_opens_dialog"])


def test_cropscene_dialog_shows_its_parameters(desktop_run):
    _assert_checks(desktop_run, ["cropscene_dialog_created", "cropscene_dialog_parameters",
                                 "cropscene_dialog_title", "screenshot_cropscene_dialog.png"])


def test_stackbands_output_loads_styled_into_the_project(desktop_run):
    _assert_checks(desktop_run, ["rasters_made", "stackbands_run", "stackbands_run_layer_in_project",
                                 "stackbands_run_layer_valid", "stackbands_run_layer_styled"])


def test_stackbands_runs_from_its_dialog(desktop_run):
    _assert_checks(desktop_run, ["stackbands_dialog_created", "stackbands_dialog_run",
                                 "stackbands_dialog_layer_in_project", "stackbands_dialog_layer_valid",
                                 "stackbands_dialog_layer_styled"])


def test_demo_chain_outputs_load_styled(desktop_run):
    _assert_checks(desktop_run, ["demo_label_paletted", "demo_image_true_colour", "demo_footprint_outlined",
                                 "screenshot_demo_pair_canvas.png"])


def test_search_dock_searches_from_the_menu(desktop_run):
    _assert_checks(desktop_run, ["search_dock_created_hidden", "search_dock_menu_action", "search_dock_shown",
                                 "search_dock_results", "search_dock_layer_in_project",
                                 "search_dock_forgets_removed_layer",
                                 "screenshot_search_dock.png"])


@pytest.mark.parametrize("cycle", [1, 2])
def test_unload_and_reload(desktop_run, cycle):
    label = f"cycle{cycle}"
    _assert_checks(desktop_run, [f"unload_{label}", f"provider_gone_{label}", f"menu_gone_{label}",
                                 f"menu_deleted_{label}", f"toolbox_gone_{label}", f"reload_{label}",
                                 f"search_dock_deleted_{label}", f"search_dock_reloaded_{label}",
                                 f"provider_reloaded_{label}", f"menu_reloaded_{label}",
                                 f"menu_before_help_reloaded_{label}", f"toolbox_reloaded_{label}"])


def test_algorithms_run_after_reloads(desktop_run):
    _assert_checks(desktop_run, ["stackbands_after_reload"])


def _is_error(entry) -> bool:
    """As desktop_script._lm_is_error: Python errors, and Critical (2) messages from Python or about the plugin."""
    if entry.get("kind") == "error dialog" or entry["tag"] == "Python error":
        return True
    text = entry["message"].lower()
    about_plugin = entry["tag"].startswith("Python") or "labelmigration" in text or "label migration" in text
    return entry["level"] >= 2 and about_plugin


def test_no_python_errors(desktop_run):
    report = _report(desktop_run)
    details = [f"[start-up] {e['kind']} {e['tag']}: {e['message']}\n{e['traceback']}"
               for e in report.get("startup_errors", []) if _is_error(e)]
    details += [f"[{e['step']}] {e['tag']} ({e['level']}): {e['message']}"
                for e in report["python_log"] if _is_error(e)]
    details += [f"[{e['step']}] uncaught: {e['traceback']}" for e in report["exceptions"]]
    details += [f"[{e['step']}] error dialog: {e['message']}\n{e['traceback']}" for e in report["stack_dialogs"]]
    assert not details, "\n".join(details)
    _assert_checks(desktop_run, ["no_python_errors"])


def test_every_recorded_check_passed(desktop_run):
    report = _report(desktop_run)
    failed = {name: check["detail"] for name, check in report["checks"].items() if not check["ok"]}
    assert not failed, json.dumps(failed, indent=2)


def _distinct_colours(path: Path) -> int:
    try:
        from PIL import Image
    except ImportError:  # fall back on Qt, which QGIS brings anyway
        from qgis.PyQt.QtGui import QImage

        image = QImage(str(path))
        assert not image.isNull(), f"{path} is not a readable image"
        colours = set()
        step = max(1, min(image.width(), image.height()) // 200)
        for y in range(0, image.height(), step):
            for x in range(0, image.width(), step):
                colours.add(image.pixel(x, y))
        return len(colours)
    with Image.open(path) as image:
        assert image.width > 100 and image.height > 100, f"{path} is only {image.size}"
        return len(image.convert("RGB").getcolors(maxcolors=1 << 24))


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_screenshot_is_not_blank(desktop_run, name):
    report = _report(desktop_run)
    path = desktop_run["output_dir"] / name
    assert path.is_file(), f"{path} was not written (screenshots: {report['screenshots']})"
    colours = _distinct_colours(path)
    assert colours > 1, f"{path} is a single colour"
