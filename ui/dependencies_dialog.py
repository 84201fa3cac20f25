"""The 'Python dependencies' dialog: what the plugin's packages look like in the Python that QGIS
runs, installing what is missing with pip (log streamed, cancellable), and which onnxruntime
execution provider runs the models. ``check_on_load`` offers it in the message bar at start-up."""
import contextlib
import os
import subprocess  # nosec B404  # list2cmdline and the import probe below only; no shell
import tempfile
import time
from typing import List, Optional, Sequence

from qgis.core import Qgis, QgsMessageLog
from qgis.PyQt.QtCore import QCoreApplication, QProcess, QProcessEnvironment, Qt
from qgis.PyQt.QtGui import QFont, QTextCursor
from qgis.PyQt.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                                 QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                                 QVBoxLayout)

from ..core.install import package_status, pip_install, plugin_requirements, plugin_site
from ..core.util.plugin_files import BUNDLED_CLOUD_MODEL, REQUIREMENTS_FILE
from ..qgis_common.translation import tr

LOG_TAG = "Label Migration"
DIALOG_OBJECT_NAME = "labelMigrationDependenciesDialog"
_OPEN = []  # dialogs opened from the message bar: the Python side must outlive the call


STATE_TEXT = {package_status.OK: "OK", package_status.MISSING: "missing", package_status.TOO_OLD: "too old",
              package_status.BROKEN: "broken"}
COLUMNS = ("Package", "For", "Needed", "Installed", "Status", "Where")


class DependenciesDialog(QDialog):
    """Lists the plugin's packages and installs the chosen ones.

    ``requirements_path``, ``python`` and ``site_dir`` default to requirements-plugin.txt, the Python
    that QGIS runs and the plugin's package folder; ``search_paths`` (default: sys.path with that
    folder first) is where installed packages are looked for. Tests point them elsewhere.
    """

    def __init__(self, parent=None, requirements_path: Optional[str] = None, python: Optional[str] = None,
                 site_dir: Optional[str] = None, search_paths: Optional[Sequence[str]] = None):
        super().__init__(parent)
        self.setObjectName(DIALOG_OBJECT_NAME)
        self.setWindowTitle(tr("Label Migration — Python dependencies"))
        self.resize(900, 640)
        self.requirements_path = requirements_path or REQUIREMENTS_FILE
        self.site_dir = site_dir or plugin_site.plugin_site_dir()
        self.search_paths = search_paths
        self.python_error = ""
        try:
            self.python = python or pip_install.python_executable()
        except FileNotFoundError as error:
            self.python, self.python_error = "", str(error)
        self.requirements: List[plugin_requirements.Requirement] = []
        self.statuses: List[package_status.Status] = []
        self.process: Optional[QProcess] = None
        self.planned: List[plugin_requirements.Requirement] = []
        self.work_dir = tempfile.mkdtemp(prefix="labelmigration-pip-")
        self.cancelled = False
        self._build()
        self.refresh()

    # ----- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(tr("Packages the plugin imports, looked up in the Python that QGIS runs and in the "
                          "plugin's package folder. Tick the ones to install; packages QGIS ships "
                          "(GDAL, numpy, PyQt) are never installed or changed."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("dependenciesTable")
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(lambda _item: self._update_command())
        layout.addWidget(self.table)

        where = QHBoxLayout()
        self.python_label = QLabel(self)
        self.python_label.setWordWrap(True)
        where.addWidget(self.python_label, 1)
        self.user_box = QCheckBox(tr("Install with --user instead of into the plugin's folder"), self)
        self.user_box.setObjectName("userInstall")
        self.user_box.toggled.connect(lambda _on: self._update_command())
        where.addWidget(self.user_box)
        layout.addLayout(where)

        self.command_edit = QLineEdit(self)
        self.command_edit.setObjectName("pipCommand")
        self.command_edit.setReadOnly(True)
        layout.addWidget(self.command_edit)

        buttons = QHBoxLayout()
        self.install_button = QPushButton(tr("Install selected"), self)
        self.install_button.setObjectName("installButton")
        self.install_button.clicked.connect(self.install)
        self.cancel_button = QPushButton(tr("Cancel install"), self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.test_button = QPushButton(tr("Test imports"), self)
        self.test_button.setObjectName("testImportsButton")
        self.test_button.setToolTip(tr("Import each installed package in a separate Python process"))
        self.test_button.clicked.connect(self.test_imports)
        for button in (self.install_button, self.cancel_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("installProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.result_label = QLabel(self)
        self.result_label.setObjectName("resultLabel")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result_label)
        self.log = QPlainTextEdit(self)
        self.log.setObjectName("pipLog")
        self.log.setReadOnly(True)
        self.log.setFont(QFont("monospace"))
        layout.addWidget(self.log, 1)

        gpu = QGroupBox(tr("Execution provider (onnxruntime)"), self)
        gpu_layout = QHBoxLayout(gpu)
        self.provider_label = QLabel(tr("Not checked yet: checking imports onnxruntime."), gpu)
        self.provider_label.setObjectName("providerLabel")
        self.provider_label.setWordWrap(True)
        gpu_layout.addWidget(self.provider_label, 1)
        self.provider_button = QPushButton(tr("Check"), gpu)
        self.provider_button.setObjectName("providerButton")
        self.provider_button.clicked.connect(self.check_provider)
        gpu_layout.addWidget(self.provider_button)
        layout.addWidget(gpu)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout.addWidget(close)

    # ----- status ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the requirements file and what is installed (no imports)."""
        self.requirements = plugin_requirements.read_requirements(self.requirements_path)
        paths = self.search_paths if self.search_paths is not None else plugin_site.search_path(self.site_dir)
        self.statuses = package_status.check(self.requirements, paths)
        self.top_statuses = [s for s in self.statuses if s.requirement.top_level]
        self.table.setRowCount(len(self.top_statuses))
        for row, status in enumerate(self.top_statuses):
            self._show_row(row, status)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        python = self.python or tr("not found")
        self.python_label.setText(tr("Python: {python}\nPackage folder: {folder}").format(
            python=python, folder=self.site_dir) + (f"\n{self.python_error}" if self.python_error else ""))
        self._update_command()

    def _show_row(self, row: int, status: package_status.Status) -> None:
        requirement = status.requirement
        name = QTableWidgetItem(requirement.name + ("" if requirement.kind == "required" else tr(" (optional)")))
        name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        wanted = not status.ok and requirement.kind == "required"
        name.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        if status.ok:
            name.setFlags(Qt.ItemFlag.ItemIsEnabled)
        cells = [name, QTableWidgetItem(requirement.purpose), QTableWidgetItem(requirement.needs),
                 QTableWidgetItem(status.installed or "—"),
                 QTableWidgetItem(tr(STATE_TEXT[status.state]) + (f": {status.message}" if status.message and
                                                                  status.state == package_status.BROKEN else "")),
                 QTableWidgetItem(status.location)]
        blocked = self.table.blockSignals(True)  # itemChanged is for the user's ticks
        for column, item in enumerate(cells):
            self.table.setItem(row, column, item)
        self.table.blockSignals(blocked)

    def status_rows(self) -> List[tuple]:
        """(name, status text, installed) per row, as shown."""
        return [(s.requirement.name, s.state, s.installed) for s in self.top_statuses]

    def chosen(self) -> List[str]:
        return [s.requirement.name for row, s in enumerate(self.top_statuses)
                if self.table.item(row, 0).checkState() == Qt.CheckState.Checked and not s.ok]

    def _update_command(self) -> None:
        self.planned = pip_install.plan_install(self.statuses, self.chosen())
        self.command = self._command(self.planned) if self.planned and self.python else []
        self.command_edit.setText(subprocess.list2cmdline(self.command) if self.command else
                                  tr("Nothing to install") if self.python else self.python_error)
        self.install_button.setEnabled(bool(self.command) and self.process is None)

    def _command(self, plan: Sequence[plugin_requirements.Requirement]) -> List[str]:
        requirements_path, constraints_path = pip_install.write_install_files(
            self.work_dir, plan, pip_install.shipped_constraints(self.search_paths))
        if self.user_box.isChecked():
            return pip_install.install_command(self.python, requirements_path, constraints_path=constraints_path,
                                               user=True)
        return pip_install.install_command(self.python, requirements_path, target=self.site_dir,
                                           constraints_path=constraints_path)

    # ----- installing -----------------------------------------------------------------------------

    def install(self) -> None:
        """Run the command shown, streaming pip's output into the log."""
        if not self.command or self.process is not None:
            return
        if not self.user_box.isChecked():
            os.makedirs(self.site_dir, exist_ok=True)
        self.cancelled = False
        self.installing = [r.name for r in self.planned]
        self.collected = 0
        self.log.clear()
        self._append(f"$ {subprocess.list2cmdline(self.command)}\n")
        self.result_label.setText(tr("Installing {names}…").format(names=", ".join(self.installing)))
        self.progress.setValue(0)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        environment.insert("PIP_NO_INPUT", "1")
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self.install_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.process.start(self.command[0], self.command[1:])

    def _append(self, text: str) -> None:
        self.log.moveCursor(QTextCursor.MoveOperation.End)
        self.log.insertPlainText(text)
        self.log.ensureCursorVisible()

    def _read_output(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self._append(text)
        for line in text.splitlines():
            if line.startswith(("Collecting ", "Processing ")):
                self.collected += 1
            elif line.startswith("Installing collected packages"):
                self.collected = len(self.installing)
        # downloading is most of the time; installing gets the last tenth
        self.progress.setValue(min(90, int(90 * self.collected / max(1, len(self.installing)))))

    def _process_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._append(tr("Could not start {python}\n").format(python=self.command[0]))
            self._done(False, tr("pip could not be started: '{python}' is not a program that runs here.").format(
                python=self.command[0]))

    def _finished(self, exit_code: int, _exit_status=None) -> None:
        if self.process is None:
            return
        self._read_output()
        if self.cancelled:
            self._done(False, tr("Cancelled. Packages pip had finished may remain in {folder}; "
                                 "install again to complete them.").format(folder=self.site_dir))
        elif exit_code != 0:
            hint = pip_install.pip_failure_hint(self.log.toPlainText())
            self._done(False, tr("pip failed (exit code {code}); nothing was changed in QGIS's own "
                                 "packages. ").format(code=exit_code) + hint)
        else:
            self._succeeded()

    def _succeeded(self) -> None:
        plugin_site.refresh_imports(self.site_dir)
        restart = plugin_site.needs_restart(self.site_dir, self.installing)
        self.refresh()
        still = [s.requirement.name for s in self.top_statuses if s.requirement.name in self.installing and not s.ok]
        message = tr("Installed {names}.").format(names=", ".join(self.installing))
        if still:
            message += " " + tr("Still not usable: {names} (see the table).").format(names=", ".join(still))
        if restart:
            message += " " + tr("Restart QGIS: this session had already imported {names}; the new version "
                                "loads after a restart.").format(names=", ".join(restart))
        else:
            message += " " + tr("They can be used now, without restarting QGIS.")
        if not still and not restart and not missing_required(self.site_dir):
            dismiss_load_warnings()
        self._done(not still, message)

    def _done(self, success: bool, message: str) -> None:
        if self.process is not None:
            self.process.deleteLater()
        self.process = None
        self.progress.setValue(100 if success else self.progress.value())
        self.result_label.setText(("✔ " if success else "✖ ") + message)
        self.cancel_button.setEnabled(False)
        self._update_command()
        QgsMessageLog.logMessage(message, LOG_TAG, Qgis.MessageLevel.Info if success else Qgis.MessageLevel.Warning)

    def cancel(self) -> None:
        if self.process is not None:
            self.cancelled = True
            self.process.kill()

    def wait(self, seconds: float = 600) -> bool:
        """Process events until the install ends (for tests and scripts)."""
        deadline = time.monotonic() + seconds
        while self.process is not None and time.monotonic() < deadline:
            self.process.waitForFinished(100)
            QCoreApplication.processEvents()
        return self.process is None

    # ----- checks on demand -----------------------------------------------------------------------

    def test_imports(self) -> None:
        """Import each installed top-level package in a separate Python (a broken binary module can
        crash the process that imports it, so never in QGIS's own)."""
        if not self.python:
            return
        environment = package_status.probe_environment(self.site_dir)
        for row, status in enumerate(self.top_statuses):
            if not status.installed:
                continue
            command = package_status.import_probe_command(self.python, status.requirement.import_name)
            try:
                # the plugin builds the command: QGIS's Python, -c and a fixed import of a module named in the
                # shipped requirements-plugin.txt (repr-quoted); no shell, never text the user typed
                result = subprocess.run(command, capture_output=True, text=True,  # nosec B603  # see above
                                        timeout=120, env=environment)
                error = "" if result.returncode == 0 else (result.stderr.strip().splitlines() or ["failed"])[-1]
            except (OSError, subprocess.TimeoutExpired) as failure:
                error = str(failure)
            if error:
                package_status.mark_broken(status, error)
                self._append(f"{status.requirement.import_name}: {error}\n")
            self._show_row(row, status)

    def check_provider(self) -> None:
        """Import onnxruntime here and show what it offers and which provider runs the bundled model."""
        from ..core.install.dependencies import require
        from ..core.util.errors import LabelMigrationError
        from ..core.models.onnx_model import provider_report

        model = BUNDLED_CLOUD_MODEL
        try:
            report = provider_report(require("onnxruntime", "Checking the execution provider"), model)
        except LabelMigrationError as error:
            self.provider_label.setText(str(error))
            return
        except Exception as error:  # a broken onnxruntime raises anything
            self.provider_label.setText(tr("onnxruntime failed: {error}").format(error=error))
            return
        text = tr("onnxruntime {version}; available: {available}. Runs on: {running}.").format(
            version=report["version"], available=", ".join(report["available"]),
            running=report["running"] or report["preferred"])
        if "CUDAExecutionProvider" not in report["available"]:
            text += " " + tr("For NVIDIA GPUs install the GPU build (onnxruntime-gpu, with CUDA and cuDNN) "
                             "in place of onnxruntime.")
        for warning in report["warnings"]:
            text += " " + warning
        self.provider_label.setText(text)

    def closeEvent(self, event):  # noqa: N802 (Qt's name)
        self.cancel()
        super().closeEvent(event)


# The message-bar warnings check_on_load showed: an install that leaves nothing required missing takes them away.
_LOAD_WARNINGS: List[tuple] = []


def dismiss_load_warnings() -> None:
    while _LOAD_WARNINGS:
        bar, item = _LOAD_WARNINGS.pop()
        with contextlib.suppress(RuntimeError):  # the bar or the item is gone already (closed, QGIS exiting)
            bar.popWidget(item)


def missing_required(site_dir: Optional[str] = None) -> List[package_status.Status]:
    """The required packages that are missing or too old (metadata only: fast, imports nothing)."""
    requirements = [r for r in plugin_requirements.read_requirements() if r.kind == "required"]
    return [s for s in package_status.check(requirements, plugin_site.search_path(site_dir)) if not s.ok]


def open_dialog(parent=None) -> DependenciesDialog:
    dialog = DependenciesDialog(parent)
    _OPEN.append(dialog)
    dialog.finished.connect(lambda _result: _OPEN.remove(dialog) if dialog in _OPEN else None)
    dialog.show()
    return dialog


def check_on_load(iface) -> None:
    """At plugin load: activate the plugin's package folder, and when a required package is missing
    or too old, say so in the message bar with a button opening the dialog. Never raises."""
    try:
        plugin_site.activate_plugin_site()
        problems = missing_required()
        if not problems:
            return
        names = ", ".join(f"{s.requirement.name} ({tr(STATE_TEXT[s.state])})" for s in problems)
        bar = iface.messageBar()
        item = bar.createMessage(tr("Label Migration"), tr("Python packages need installing: {names}.").format(
            names=names))
        button = QPushButton(tr("Install…"), item)
        button.setObjectName("labelMigrationInstallDependencies")
        button.clicked.connect(lambda _checked=False: open_dialog(iface.mainWindow()))
        item.layout().addWidget(button)
        bar.pushWidget(item, Qgis.MessageLevel.Warning, 0)
        _LOAD_WARNINGS.append((bar, item))
    except Exception as error:  # start-up must go on whatever happens here
        QgsMessageLog.logMessage(f"Checking the Python dependencies failed: {error!r}", LOG_TAG,
                                 Qgis.MessageLevel.Warning)
