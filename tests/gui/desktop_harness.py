"""The in-QGIS harness shared by the tests/gui/*_script.py files (they run INSIDE the QGIS desktop).

The scripts are executed by ``qgis --code <script>``; the pytest side (tests/gui/desktop_session.py) puts
this folder (tests/gui, never the repository root: its processing/ package would shadow QGIS's) on QGIS's
PYTHONPATH, so a script starts with::

    import desktop_harness
    lm = desktop_harness.Harness(inputs_env="LM_GUI_MODEL_INPUTS")
    ...
    lm.start([("wait_for_desktop", lm.step_wait_for_desktop), ..., ("final", lm.step_final)])

Environment (set by the test):

  LM_GUI_RESULT        JSON file written with every check's outcome (rewritten after each step)
  LM_GUI_OUTPUT_DIR    folder for the screenshots (PNG)
  LM_GUI_WORK_DIR      scratch folder for the files a script makes and the algorithm outputs
  LM_GUI_WATCHDOG_S    seconds after which the script gives up, records why, and quits QGIS
  LM_GUI_EARLY_ERRORS  what the test's startup.py hook recorded while plugins loaded (JSON lines)

The steps run one after another from the Qt event loop (a generator-based runner on QTimer.singleShot: a
step that yields N waits N ms), so the desktop keeps painting and deferred deletions happen between steps.
Every check is recorded as {"ok": bool, "detail": str}, facts as JSON values; Python exceptions
(sys.excepthook), error dialogs (qgis.utils.open_stack_dialog) and QgsMessageLog messages from the Python
tags (and any Critical message) are recorded too. At the end QGIS quits with QgsApplication.exit(), which
reliably ends 3.22 without a "save project?" prompt.
"""
import json
import os
import sys
import time
import traceback
import warnings

from qgis.core import Qgis, QgsApplication, QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDialogButtonBox

import qgis.utils

PROVIDER = "labelmigration"


def iface():
    return qgis.utils.iface


def _in_plugin(filename):
    """Whether a source file is one of the loaded plugin's own modules (its tests excluded)."""
    plugin = sys.modules.get(PROVIDER)
    if plugin is None or not getattr(plugin, "__file__", None):
        return False
    root = os.path.realpath(os.path.dirname(plugin.__file__))
    path = os.path.realpath(filename)
    return path.startswith(root + os.sep) and not path.startswith(os.path.join(root, "tests") + os.sep)


def wait_until(predicate, timeout_s, step_ms=100):
    """Generator: yield (event-loop waits) until predicate() is true or timeout; returns the outcome."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except Exception:  # the object polled may not exist yet
            pass
        if time.monotonic() > deadline:
            return False
        yield step_ms


def layers_with_source(path):
    wanted = os.path.realpath(path)
    return [layer for layer in QgsProject.instance().mapLayers().values()
            if os.path.realpath(layer.source().split("|")[0]) == wanted]


def colour(value):
    return [value.red(), value.green(), value.blue(), value.alpha()]


def describe(path):
    """What a user sees of the loaded output: the layer(s) with that source, their renderer and palette."""
    layers = layers_with_source(path)
    facts = {"count": len(layers)}
    if layers:
        layer = layers[0]
        facts["valid"] = layer.isValid()
        facts["name"] = layer.name()
        facts["kind"] = "raster" if isinstance(layer, QgsRasterLayer) else \
            "vector" if isinstance(layer, QgsVectorLayer) else type(layer).__name__
        if isinstance(layer, QgsRasterLayer):
            renderer = layer.renderer()
            facts["bands"] = layer.bandCount()
            facts["renderer"] = renderer.type()
            facts["opacity"] = renderer.opacity()
            if isinstance(renderer, QgsPalettedRasterRenderer):
                facts["band"] = renderer.band()
                facts["classes"] = {str(int(c.value)): {"color": colour(c.color), "label": c.label}
                                    for c in renderer.classes()}
        else:
            facts["features"] = layer.featureCount()
            facts["fields"] = layer.fields().names()
        node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
        facts["in_layer_tree"] = node is not None
    return facts


def log_text(dialog):
    """The text of the dialog's Log tab."""
    from qgis.PyQt.QtWidgets import QTextEdit

    return "\n".join(widget.toPlainText() for widget in dialog.findChildren(QTextEdit))


def plain_results(results):
    """An algorithm's results as JSON values (layers and other objects as their str())."""
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
            for k, v in (results or {}).items()}


def run_button(dialog):
    return dialog.runButton() if hasattr(dialog, "runButton") else dialog.buttonBox().button(QDialogButtonBox.Ok)


def open_after_running_boxes(dialog):
    """{output: (shown, checked)} of each output widget's "Open output file after running" box."""
    from qgis.PyQt.QtWidgets import QCheckBox

    boxes = {}
    for name, wrapper in getattr(dialog.mainWidget(), "wrappers", {}).items():
        definition = dialog.algorithm().parameterDefinition(name)
        if definition is None or not definition.isDestination():
            continue
        found = [box for box in wrapper.wrappedWidget().findChildren(QCheckBox) if "after running" in box.text()]
        boxes[name] = found[0] if found else None
    return boxes


def show_only(layers, extent_layer):
    """Only these layers visible (and expanded) in the layer tree; the canvas zoomed to extent_layer."""
    wanted = {layer.id() for layer in layers if layer is not None}
    root = QgsProject.instance().layerTreeRoot()
    for layer in QgsProject.instance().mapLayers().values():
        node = root.findLayer(layer.id())
        if node is not None:
            node.setItemVisibilityChecked(layer.id() in wanted)
    for layer in layers:
        node = root.findLayer(layer.id()) if layer is not None else None
        if node is not None:
            node.setExpanded(True)
    canvas = iface().mapCanvas()
    if extent_layer is not None:
        canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(extent_layer, extent_layer.extent()))
    canvas.refreshAllLayers()


class Harness:
    """Result recording, checks, facts, screenshots, the step runner and the watchdog of one script.

    tag               the prefix of the PASS/FAIL lines printed to QGIS's log
    inputs_env        an environment variable naming a JSON file of inputs, read into ``self.inputs``
    extra_log_tags    message-log tags recorded besides the Python ones and Critical messages
    watchdog_default  seconds, when LM_GUI_WATCHDOG_S is not set
    env_defaults      LM_GUI_RESULT/OUTPUT_DIR/WORK_DIR may be missing (then the working folder is used);
                      otherwise they are required
    """

    def __init__(self, tag="labelmigration-gui", inputs_env=None, extra_log_tags=(), watchdog_default=90.0,
                 env_defaults=False):
        env = os.environ
        if env_defaults:
            result_path = env.get("LM_GUI_RESULT", os.path.join(os.getcwd(), "labelmigration-gui-result.json"))
            output_dir = env.get("LM_GUI_OUTPUT_DIR", os.getcwd())
            work_dir = env.get("LM_GUI_WORK_DIR", os.getcwd())
        else:
            result_path, output_dir, work_dir = env["LM_GUI_RESULT"], env["LM_GUI_OUTPUT_DIR"], env["LM_GUI_WORK_DIR"]
        self.tag = tag
        self.extra_log_tags = tuple(extra_log_tags)
        self.state = {  # the run's settings, and what the steps hand on to each other
            "result_path": result_path,
            "output_dir": output_dir,
            "work_dir": work_dir,
            "watchdog_s": float(env.get("LM_GUI_WATCHDOG_S", str(watchdog_default))),
            "started": time.monotonic(),
            "finished": False,
        }
        os.makedirs(output_dir, exist_ok=True)
        os.makedirs(work_dir, exist_ok=True)
        self.inputs = None
        if inputs_env:
            with open(env[inputs_env], encoding="utf-8") as stream:
                self.inputs = json.load(stream)
        self.results = {
            "finished": False,
            "qgis_version": Qgis.QGIS_VERSION,
            "python": sys.version,
            "current_step": None,
            "steps": {},           # step name -> seconds taken
            "checks": {},          # check name -> {"ok": bool, "detail": str}
            "facts": {},           # fact name -> a JSON value
            "exceptions": [],      # uncaught Python exceptions (sys.excepthook) and failed steps
            "python_log": [],      # QgsMessageLog messages from the Python tags (and any Critical message)
            "stack_dialogs": [],   # error dialogs QGIS would have opened (qgis.utils.open_stack_dialog)
            "startup_errors": [],  # what the test's startup.py hook recorded while plugins loaded
            "deprecations": [],    # DeprecationWarnings raised from the plugin's modules (not its tests)
            "screenshots": {},     # name -> PNG path
        }
        self._steps = []
        self._generator = None
        self._step_started = None
        self._close_modals = False
        self._install_hooks()

    # --- recording ---------------------------------------------------------------------------

    def save(self):
        self.results["elapsed_s"] = round(time.monotonic() - self.state["started"], 2)
        temporary = self.state["result_path"] + ".part"
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(self.results, stream, indent=2, default=str)
        os.replace(temporary, self.state["result_path"])

    def check(self, name, ok, detail=""):
        self.results["checks"][name] = {"ok": bool(ok), "detail": str(detail)}
        print(f"[{self.tag}] {'PASS' if ok else 'FAIL'} {name}: {detail}", file=sys.stderr, flush=True)
        return bool(ok)

    def fact(self, name, value):
        self.results["facts"][name] = value

    def out(self, name):
        return os.path.join(self.state["work_dir"], name)

    def _excepthook(self, exc_type, value, tb):
        text = "".join(traceback.format_exception(exc_type, value, tb))
        self.results["exceptions"].append({"step": self.results["current_step"], "traceback": text})
        print(f"[{self.tag}] uncaught exception:\n{text}", file=sys.stderr, flush=True)

    def _on_warning(self, message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DeprecationWarning) and _in_plugin(filename):
            self.results["deprecations"].append({"step": self.results["current_step"],
                                                 "where": f"{filename}:{lineno}", "message": str(message)})
        self._show_warning(message, category, filename, lineno, file, line)

    def _stack_dialog(self, exc_type, value, tb, msg, pop_error=True):
        """Replaces qgis.utils.open_stack_dialog: record the error instead of opening a blocking dialog."""
        text = "".join(traceback.format_exception(exc_type, value, tb)) if exc_type else ""
        self.results["stack_dialogs"].append({"step": self.results["current_step"], "message": str(msg),
                                              "traceback": text})

    def _on_message(self, message, tag, level):
        try:
            level_value = int(level)
        except TypeError:
            level_value = -1
        if tag.startswith("Python") or tag in self.extra_log_tags or level_value >= int(Qgis.Critical):
            self.results["python_log"].append({"step": self.results["current_step"], "tag": tag,
                                               "level": level_value, "message": message})

    def _read_startup_errors(self):
        """Errors recorded before this script ran by the startup.py hook the test installs; then take over."""
        path = os.environ.get("LM_GUI_EARLY_ERRORS")
        os.environ["LM_GUI_EARLY_DONE"] = "1"
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as stream:
                self.results["startup_errors"] = [json.loads(line) for line in stream if line.strip()]
        self.results["startup_hook_installed"] = bool(path)

    def _install_hooks(self):
        self._read_startup_errors()
        sys.excepthook = self._excepthook
        qgis.utils.open_stack_dialog = self._stack_dialog
        # deprecation warnings raised from the plugin's own modules while QGIS runs (what QGIS 4 removed or
        # changed): shown each time, and recorded for desktop_session.assert_ran_to_the_end
        warnings.filterwarnings("always", category=DeprecationWarning, module=r"labelmigration(\.|$)")
        self._show_warning = warnings.showwarning
        warnings.showwarning = self._on_warning
        try:
            QgsApplication.messageLog().messageReceived[str, str, Qgis.MessageLevel].connect(self._on_message)
        except (KeyError, TypeError):
            QgsApplication.messageLog().messageReceived.connect(self._on_message)

    # --- screenshots -------------------------------------------------------------------------

    def _record_screenshot(self, name, path, ok):
        if ok:
            self.results["screenshots"][name] = path
        return self.check(f"screenshot_{name}", ok, path)

    def grab(self, widget, name):
        path = os.path.join(self.state["output_dir"], name)
        return self._record_screenshot(name, path, widget.grab().save(path, "PNG"))

    def grab_screen(self, name):
        path = os.path.join(self.state["output_dir"], name)
        return self._record_screenshot(name, path, QApplication.primaryScreen().grabWindow(0).save(path, "PNG"))

    def canvas_screenshot(self, name, first_wait_ms=300):
        """Generator: let the map canvas finish drawing, then grab the main window."""
        canvas = iface().mapCanvas()
        yield first_wait_ms
        yield from wait_until(lambda: not canvas.isDrawing(), 15)
        yield 300
        self.grab(iface().mainWindow(), name)

    # --- dialogs -----------------------------------------------------------------------------

    def open_dialog(self, algorithm_id, parameters, label, size=(900, 700), settle_ms=300):
        """Generator: the algorithm dialog made (check ``<label>_dialog_created``) and shown; returns (dialog,
        finished), ``finished`` filled with ok and results when the dialog's algorithmFinished fires; (None, None)
        when the dialog could not be made."""
        import processing

        dialog = processing.createAlgorithmDialog(algorithm_id, parameters)
        if not self.check(f"{label}_dialog_created", dialog is not None, repr(dialog)):
            return None, None
        finished = {}
        dialog.algorithmFinished.connect(lambda ok, results: finished.update(ok=ok, results=results))
        dialog.resize(*size)
        dialog.show()
        yield settle_ms
        return dialog, finished

    def run_dialog(self, algorithm, parameters, label, tick=(), screenshot=None):
        """Generator: the toolbox's path: the algorithm dialog filled in, Run clicked, the task waited for.

        ``tick``: outputs whose "Open output file after running" box the user ticks when it is shown.
        Returns the results (None when the dialog could not be made).
        """
        dialog, finished = yield from self.open_dialog(f"{PROVIDER}:{algorithm}", parameters, label)
        if dialog is None:
            return None
        panel = dialog.mainWidget()
        boxes = open_after_running_boxes(dialog)
        self.fact(f"{label}_open_after_running_default",
                  {name: None if box is None else {"shown": box.isVisible(), "checked": box.isChecked()}
                   for name, box in boxes.items()})
        for name in tick:
            if boxes.get(name) is not None and boxes[name].isVisible():
                boxes[name].setChecked(True)
        yield 100
        # what the dialog will do: the wrapper property AlgorithmDialog reads to load an output
        self.fact(f"{label}_open_after_running", {
            name: bool(wrapper.customProperties().get("OPEN_AFTER_RUNNING"))
            for name, wrapper in getattr(panel, "wrappers", {}).items()
            if dialog.algorithm().parameterDefinition(name) is not None
            and dialog.algorithm().parameterDefinition(name).isDestination()})
        if screenshot:
            self.grab(dialog, screenshot)
        run_button(dialog).click()
        done = yield from wait_until(lambda: "ok" in finished, 40)
        yield 300
        log = log_text(dialog)
        results = plain_results(finished.get("results"))
        self.fact(f"{label}_results", results)
        self.check(f"{label}_run", done and finished.get("ok"),
                   f"finished {done}, ok {finished.get('ok')}, results {results}; log tail: {log[-1500:]}")
        dialog.close()
        dialog.deleteLater()
        yield 200
        return results

    def open_batch_dialog(self, algorithm, width):
        """Generator: Toolbox > algorithm > Execute as Batch Process; returns the dialog, shown."""
        from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog

        definition = QgsApplication.processingRegistry().algorithmById(f"{PROVIDER}:{algorithm}")
        dialog = BatchAlgorithmDialog(definition.create(), iface().mainWindow())
        dialog.resize(width, 600)
        dialog.show()
        yield 300
        return dialog

    def run_batch(self, dialog, outputs, screenshot, log_screenshot):
        """Generator: Run clicked on a filled batch dialog; its log, outputs and loaded layers recorded."""
        self.grab(dialog, screenshot)
        started = time.monotonic()
        # up to QGIS 3.40 BatchAlgorithmDialog.runAlgorithm runs every row before it returns; QGIS 3.44 runs the
        # rows as background tasks and returns at once: wait for its closing log line (closing the dialog while
        # rows still run crashes QGIS)
        dialog.runButton().click()
        finished = yield from wait_until(lambda: "Batch execution completed" in log_text(dialog), 120)
        self.fact("batch_seconds", round(time.monotonic() - started, 2))
        self.check("batch_finished", finished, f"after {time.monotonic() - started:.1f} s")
        yield 500
        log = log_text(dialog)
        self.fact("batch_log_tail", log[-3000:])
        # Processing's "The following layers were not correctly generated" lines, one per row that reported one
        self.fact("batch_load_errors", log.count("were not correctly generated"))
        self.check("batch_run", all(os.path.exists(path) for path in outputs),
                   f"outputs {[(p, os.path.exists(p)) for p in outputs]}; log tail: {log[-1500:]}")
        self.fact("batch_layers", [describe(path) for path in outputs])
        self.grab(dialog, log_screenshot)
        dialog.close()
        dialog.deleteLater()
        yield 200

    # --- common steps ------------------------------------------------------------------------

    def step_wait_for_desktop(self, require_provider=True, require_toolbox=False,
                              detail="main window shown, Processing and the plugin's provider loaded", settle_ms=300):
        """Generator step: the main window shown (and what else is required), then full screen."""
        window_iface = iface()

        def ready():
            if not (window_iface is not None and window_iface.mainWindow().isVisible()
                    and "processing" in qgis.utils.plugins):
                return False
            if require_provider and QgsApplication.processingRegistry().providerById(PROVIDER) is None:
                return False
            return not require_toolbox or getattr(qgis.utils.plugins.get("processing"), "toolbox", None) is not None

        started = yield from wait_until(ready, 60)
        self.check("desktop_started", started, detail)
        window = window_iface.mainWindow()
        screen = QApplication.primaryScreen().geometry()
        window.move(0, 0)
        window.resize(screen.width(), screen.height())
        yield settle_ms

    def step_final(self):
        """The last step: no task under way, an empty project, and no Python errors recorded."""
        tasks = QgsApplication.taskManager()
        deadline = time.monotonic() + 20
        while tasks.countActiveTasks() and time.monotonic() < deadline:
            yield 100
        yield 200  # the tasks' finished() slots, which load layers, run from the event loop
        # QGIS 3.22 can abort while exiting when the project still holds layers (QgisApp::setMapStyleDockLayer on
        # a deleted style dock, from QgsProject::clear in exitQgis), so the project is emptied as a user closing
        # it would. First the layer tree, the canvas and the active layer let go of the layers, and the canvas
        # bridge's deferred update runs; only then are the layers freed: freeing them first crashed QGIS when
        # that update set the project CRS from a freed layer (seen when this step runs inside a model dialog's
        # run, which processes events while it finishes)
        window_iface = iface()
        window_iface.setActiveLayer(None)
        QgsProject.instance().layerTreeRoot().removeAllChildren()
        window_iface.mapCanvas().setLayers([])
        yield 500
        QgsProject.instance().removeAllMapLayers()
        yield 300
        errors = [e for e in self.results["python_log"]
                  if e["tag"] == "Python error" or e["level"] >= int(Qgis.Critical)]
        self.check("no_python_errors",
                   not errors and not self.results["exceptions"] and not self.results["stack_dialogs"],
                   f"{errors} {self.results['exceptions']} {self.results['stack_dialogs']}")

    # --- runner ------------------------------------------------------------------------------

    def start(self, steps, close_modals=False):
        """Run the (name, function) steps in order from the event loop, under the watchdog.

        ``close_modals``: on the way out, close modal dialogs still shown (one in exec_() keeps QGIS running).
        """
        self._close_modals = close_modals
        try:
            QTimer.singleShot(int(self.state["watchdog_s"] * 1000), self._watchdog)
            self._steps = list(steps)
            QTimer.singleShot(0, self._advance)
            self.save()
        except Exception:
            self.results["exceptions"].append({"step": "setup", "traceback": traceback.format_exc()})
            self.finish(2)

    def _end_step(self):
        name = self.results["current_step"]
        if name is not None and self._step_started is not None:
            self.results["steps"][name] = round(time.monotonic() - self._step_started, 2)
        self._generator = None
        self.save()

    def _advance(self):
        if self.state["finished"]:
            return
        wait = 0
        try:
            if self._generator is None:
                if not self._steps:
                    self.finish(0)
                    return
                name, function = self._steps.pop(0)
                self.results["current_step"] = name
                self._step_started = time.monotonic()
                outcome = function()
                if hasattr(outcome, "__next__"):
                    self._generator = outcome
                else:
                    self._end_step()
            if self._generator is not None:
                wait = next(self._generator) or 0
        except StopIteration:
            self._end_step()
        except Exception:
            text = traceback.format_exc()
            self.check(f"step_{self.results['current_step']}", False, text)
            self.results["exceptions"].append({"step": self.results["current_step"], "traceback": text})
            self._end_step()
        QTimer.singleShot(int(wait), self._advance)

    def finish(self, code):
        if self.state["finished"]:
            return
        self.state["finished"] = True
        self.results["finished"] = code == 0
        self.results["current_step"] = None
        try:
            self.save()
        finally:
            if self._close_modals:
                for widget in QApplication.topLevelWidgets():
                    if widget.isVisible() and widget is not iface().mainWindow() and widget.isModal():
                        widget.close()
            QgsProject.instance().setDirty(False)  # no "save changes?" on the way out
            QgsApplication.exit(code)

    def _watchdog(self):
        if self.state["finished"]:
            return
        self.check("watchdog", False, f"gave up after {self.state['watchdog_s']} s in step "
                   f"{self.results['current_step']!r}; modal widget: {QApplication.activeModalWidget()!r}")
        self.finish(3)
