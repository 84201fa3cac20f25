"""trainsegmentation's entry: the training runs in a separate Python process (core.segmentation_training.worker),
so PyTorch is never imported into QGIS, a crash in it cannot take QGIS down, and cancel can stop it at once.

The Python is the one QGIS runs (core.install.pip_install.python_executable), with the plugin's package folder
on its path, where the dependency installer puts PyTorch; the environment variable LABELMIGRATION_TRAINING_PYTHON
names another. The child prints JSON lines (worker's doc), read here for progress per epoch. The model and its
card are written beside their targets under temporary names and renamed once the child is done: a failed,
killed or cancelled run leaves neither.
"""
import json
import os
import queue
import subprocess  # nosec B404  # the training child: a fixed argument list, no shell
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from ..install.dependencies import pinned_requirement, pip_arguments
from ..install.package_status import probe_environment
from ..install.pip_install import python_executable
from ..install.plugin_site import plugin_site_dir
from ..util.errors import Cancelled, LabelMigrationError, MissingDependency
from ..util.outputs import atomic_outputs, check_output_path
from ..util.paths import is_within
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .dataset import read_dataset
from .options import TrainingOptions

PYTHON_VARIABLE = "LABELMIGRATION_TRAINING_PYTHON"
PACKAGE = __name__.rsplit(".core.", 1)[0]  # 'labelmigration' (the plugin's folder name)
POLL_SECONDS = 0.2


@dataclass
class TrainResult:
    model: str
    card: str
    summary: Dict[str, object]
    log: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def card_path_for(model_path: str) -> str:
    return os.path.splitext(model_path)[0] + ".md"


def training_python() -> str:
    return os.environ.get(PYTHON_VARIABLE) or python_executable()


def train_segmentation(dataset_folder: str, output_model: str, output_card: Optional[str] = None,
                       options: Optional[TrainingOptions] = None, python: Optional[str] = None,
                       log=None, progress: Optional[ProgressCallback] = None,
                       is_cancelled: Optional[CancelCheck] = None) -> TrainResult:
    """Train on the dataset in a child process; see the module doc. ``log(text)`` receives a line per epoch."""
    options = options or TrainingOptions()
    steps = Steps(progress, is_cancelled)
    _check(options)
    dataset = read_dataset(dataset_folder)  # early, clear errors; the child reads it again
    if not output_model.lower().endswith(".onnx"):
        raise LabelMigrationError(f"The model file '{output_model}' must end in .onnx.")
    output_card = output_card or card_path_for(output_model)
    if os.path.abspath(output_card) == os.path.abspath(output_model):
        raise LabelMigrationError(f"The model and its card cannot both be '{output_model}'.")
    for path, role in ((output_model, "model"), (output_card, "model card")):
        if is_within(path, dataset_folder):  # check_output_path guards the input files, not the input folder
            raise LabelMigrationError(f"The {role} '{path}' lies inside the dataset folder '{dataset_folder}', whose "
                                      f"files it could overwrite: write it outside the dataset.")
        check_output_path(path, [dataset_folder], role)
    python = python or training_python()
    result = TrainResult(output_model, output_card, {}, warnings=list(dataset.warnings))
    with atomic_outputs(output_model, output_card) as (model_part, card_part), \
            tempfile.TemporaryDirectory(prefix="labelmigration-training-") as work:
        job = os.path.join(work, "job.json")
        with open(job, "w", encoding="utf-8") as handle:
            json.dump({"dataset": os.path.abspath(dataset_folder), "model": model_part, "card": card_part,
                       "options": asdict(options)}, handle)
        result.summary = _run_child(python, job, work, options.epochs, steps, log or (lambda _text: None))
    steps.report(1.0)
    return result


def _check(options: TrainingOptions) -> None:
    for name, low in (("epochs", 1), ("batch_size", 1), ("patch_size", 0), ("seed", 0), ("threads", 0)):
        if getattr(options, name) < low:
            raise LabelMigrationError(f"{name} must be at least {low} (not {getattr(options, name)}).")
    if options.patch_size and options.patch_size < 16:
        raise LabelMigrationError(f"The patch size (PATCH_SIZE) must be 0 (whole chips) or at least 16 px (not "
                                  f"{options.patch_size}).")
    if not 0 < options.learning_rate <= 1:
        raise LabelMigrationError(f"The learning rate must lie above 0 and at most 1 (not {options.learning_rate}).")


def child_command(python: str, job: str) -> List[str]:
    return [python, "-m", f"{PACKAGE}.core.segmentation_training.worker", job]


def child_environment() -> Dict[str, str]:
    """The plugin's package folder and the folder holding the plugin package on the child's path."""
    package_dir = os.path.dirname(os.path.abspath(sys.modules[PACKAGE].__file__))
    environ = probe_environment(plugin_site_dir())
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(package_dir), environ["PYTHONPATH"]) if p)
    environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
    return environ


def _run_child(python: str, job: str, work: str, epochs: int, steps: Steps, log) -> Dict[str, object]:
    stderr_path = os.path.join(work, "stderr.txt")
    with open(stderr_path, "w+", encoding="utf-8", errors="replace") as stderr:
        try:
            child = subprocess.Popen(child_command(python, job), cwd=work, env=child_environment(),  # nosec B603
                                     stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1)
        except OSError as error:
            raise LabelMigrationError(f"Cannot start the training Python '{python}': {error.strerror or error}.") \
                from None
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(child.stdout, lines), daemon=True)
        reader.start()
        try:
            summary = _follow(child, lines, epochs, steps, log, python)
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            reader.join(timeout=5)
            child.stdout.close()
        if summary is None:
            stderr.seek(0)
            tail = stderr.read()[-1500:].strip()
            raise LabelMigrationError(f"The training process stopped (exit code {child.returncode}) without "
                                      f"finishing; nothing was written. Its last words:\n{tail or '(none)'}")
        return summary


def _read_lines(stream, lines) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _follow(child, lines, epochs: int, steps: Steps, log, python: str) -> Optional[Dict[str, object]]:
    summary = None
    while True:
        if steps.cancelled():
            raise Cancelled()
        try:
            line = lines.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        if line is None:
            child.wait()
            return summary
        try:
            event = json.loads(line)
        except ValueError:
            log(line.rstrip())  # a library's own print
            continue
        kind = event.get("event")
        if kind == "missing":
            raise MissingDependency(missing_message(event["module"], python, event.get("error", "")))
        if kind == "error":
            raise LabelMigrationError(event["message"])
        if kind == "start":
            log("Chips: {}; class weights: {}".format(event["chips"], [round(w, 2) for w in event["class_weights"]]))
        elif kind == "epoch":
            log("Epoch {}/{}: loss {:.4f}, validation mean IoU {:.4f}{}".format(
                event["epoch"], event["epochs"], event["loss"], event["validation_mean_iou"],
                " (best so far)" if event["best"] else ""))
            steps.report(0.97 * event["epoch"] / epochs)
        elif kind == "done":
            summary = event["summary"]


def missing_message(module: str, python: str, error: str = "") -> str:
    """What to install when the training Python lacks PyTorch or onnx."""
    name = {"torch": "PyTorch (torch, the CPU-only build)", "onnx": "onnx"}.get(module, module)
    commands = " ".join(pip_arguments(m) for m in ("torch", "onnx"))
    return (f"Training a segmentation model needs {name} in the Python that runs the training ('{python}'), "
            f"which cannot import it ({error or 'not installed'}). Install PyTorch and onnx from the menu Label "
            f"Migration > Python dependencies… (both optional), or with: \"{python}\" -m pip install {commands}. "
            f"PyTorch's CPU-only build ({pinned_requirement('torch')}) is about 200 MB to download (750 MB installed); "
            f"nothing was written.")
