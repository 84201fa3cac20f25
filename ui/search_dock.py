"""The scene search panel: footprints in, ranked scenes out (with quicklooks), selected scenes downloaded;
and its "Migrate labels" tab: a whole label folder migrated, the results loaded as a layer group.

The dock only gathers the user's choices and shows results; the work is done by the Processing
algorithms ``labelmigration:searchscenes``, ``labelmigration:downloadscenes`` and ``labelmigration:migratelabels``,
run as background tasks (QgsProcessingAlgRunnerTask) so the desktop stays responsive. The widgets are built in
search_dock_form.py; the parameter dictionaries and table rows by the pure functions of search_dock_requests.py.
"""
import logging
import os
from typing import Any, Dict, List, Optional

from qgis.core import (QgsApplication, QgsNetworkContentFetcher, QgsProcessingAlgRunnerTask, QgsProcessingContext,
                       QgsProject, QgsVectorLayer)
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import QFileDialog

from ..qgis_common.translation import tr
from ..qgis_common.results_group import load_results_group, pair_quality
from ..qgis_common.styles import style_footprints
from .migrate_panel import MIGRATE_ALGORITHM, migrate_parameters
from .search_dock_form import build_dock_body, fill_result_table, show_quicklook_pixmap
from .search_dock_requests import (DOWNLOAD_ALGORITHM, FEATURE_ID_ROLE, LOCAL_BACKEND, SEARCH_ALGORITHM,
                                   ErrorKeepingFeedback, download_parameters, result_rows, search_parameters,
                                   url_placeholder)

LOG = logging.getLogger(__name__)
DOCK_OBJECT_NAME = "labelMigrationSearchDock"
# A task still running when its dock goes (plugin unload) keeps its algorithm, context and feedback alive here
# until it ends: the C++ task refers to them.
_ORPHANED_TASKS: List[tuple] = []


class SceneSearchDock(QgsDockWidget):
    def __init__(self, iface=None, parent=None):
        super().__init__(tr("Scene search"), parent)
        self.iface = iface
        self.setObjectName(DOCK_OBJECT_NAME)
        self.result_layer: Optional[QgsVectorLayer] = None
        self.rows: List[Dict[str, Any]] = []
        self._task = None
        self._task_kind = None
        self.migration_group = None
        self._context = None
        self._feedback = None
        self._algorithm = None
        self._fetcher = None
        self.setWidget(build_dock_body(self))
        QgsProject.instance().layersWillBeRemoved.connect(self._layers_removed)

    def _layers_removed(self, layer_ids) -> None:
        if self.result_layer is not None and self.result_layer.id() in layer_ids:
            self.result_layer = None
            self.rows = []
            self.table.setRowCount(0)
            self.show_quicklook(-1)

    def _backend_changed(self, index: int) -> None:
        self.url_edit.setPlaceholderText(url_placeholder(index))
        self.browse_button.setEnabled(index == LOCAL_BACKEND)

    def _browse_archive(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Local archive folder"), self.url_edit.text())
        if folder:
            self.url_edit.setText(folder)

    # parameters from the widgets
    def current_search_parameters(self) -> Dict[str, Any]:
        return search_parameters(
            self.layer_combo.currentLayer(), self.date_field_combo.currentField() or None, self.date_edit.date(),
            self.days_before.value(), self.days_after.value(), self.max_cloud.value(),
            self.product_combo.currentIndex(), self.backend_combo.currentIndex(), self.url_edit.text(),
            self.auth_select.configId())

    def current_migrate_parameters(self) -> Dict[str, Any]:
        panel = self.migrate_panel
        return migrate_parameters(
            panel.labels_widget.filePath(), panel.output_widget.filePath(), panel.date_source(),
            panel.date_pattern_edit.text(), panel.dates_csv_widget.filePath(), panel.date_edit.date(),
            self.days_before.value(), self.days_after.value(), self.max_cloud.value(),
            self.product_combo.currentIndex(), self.backend_combo.currentIndex(), self.url_edit.text(),
            self.auth_select.configId(), panel.bands_edit.text(), panel.cloud_masks_check.isChecked(),
            panel.cloud_model_widget.filePath())

    def selected_feature_ids(self) -> List[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).data(FEATURE_ID_ROLE) for row in rows]

    def current_download_parameters(self) -> Optional[Dict[str, Any]]:
        """Selects the chosen rows' features in the result layer and returns the downloadscenes parameters."""
        if self.result_layer is None:
            return None
        self.result_layer.selectByIds(self.selected_feature_ids())
        return download_parameters(self.result_layer.id(), self.folder_widget.filePath(), self.auth_select.configId())

    # messages
    def show_error(self, text: str) -> None:
        self.message_bar.pushCritical(tr("Scene search"), text)
        self.status_label.setText(text)

    def is_busy(self) -> bool:
        return self._task is not None

    # tasks
    def _start_task(self, kind: str, algorithm_id: str, parameters: Dict[str, Any]) -> bool:
        if self._task is not None:
            self.show_error(tr("A search, download or migration is already running."))
            return False
        algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
        if algorithm is None:
            self.show_error(tr("The algorithm {} is not available.").format(algorithm_id))
            return False
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        feedback = ErrorKeepingFeedback()
        feedback.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
        task.executed.connect(lambda ok, results: self._finished(kind, ok, results))
        self._algorithm, self._context, self._feedback, self._task, self._task_kind = \
            algorithm, context, feedback, task, kind
        self._set_busy(True)
        self.progress.setValue(0)
        self.status_label.setText({"search": tr("Searching…"), "download": tr("Downloading…"),
                                   "migrate": tr("Migrating labels…")}[kind])
        QgsApplication.taskManager().addTask(task)
        return True

    def start_search(self) -> bool:
        if self.layer_combo.currentLayer() is None:
            self.show_error(tr("Choose a footprint layer."))
            return False
        if self.backend_combo.currentIndex() == LOCAL_BACKEND and not self.url_edit.text().strip():
            self.show_error(tr("Choose the folder of the local archive."))
            return False
        return self._start_task("search", SEARCH_ALGORITHM, self.current_search_parameters())

    def start_download(self) -> bool:
        if self.result_layer is None or not self.selected_feature_ids():
            self.show_error(tr("Select the scenes to download in the table."))
            return False
        if not self.folder_widget.filePath():
            self.show_error(tr("Choose the download folder."))
            return False
        return self._start_task("download", DOWNLOAD_ALGORITHM, self.current_download_parameters())

    def _set_busy(self, busy: bool) -> None:
        for button in (self.search_button, self.download_button, self.migrate_panel.run_button):
            button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.migrate_panel.cancel_button.setEnabled(busy)

    def start_migration(self) -> bool:
        parameters = self.current_migrate_parameters()
        if not parameters["LABELS"]:
            self.show_error(tr("Choose the label folder."))
            return False
        if not parameters["OUTPUT_FOLDER"]:
            self.show_error(tr("Choose the output folder."))
            return False
        if parameters["BACKEND"] == LOCAL_BACKEND and not parameters["URL"]:
            self.show_error(tr("Choose the folder of the local archive."))
            return False
        if self.migrate_panel.date_source() == "csv" and not parameters.get("DATES_CSV"):
            self.show_error(tr("Choose the dates CSV."))
            return False
        self.migrate_panel.set_report(None)
        return self._start_task("migrate", MIGRATE_ALGORITHM, parameters)

    def cancel(self) -> None:
        if self._feedback is not None:
            self._feedback.cancel()
        if self._task is not None:
            self._task.cancel()

    def _finished(self, kind: str, ok: bool, results: Dict[str, Any]) -> None:
        context, feedback = self._context, self._feedback
        self._task = self._algorithm = self._task_kind = None
        self._set_busy(False)
        if not ok:
            if feedback is not None and feedback.isCanceled():
                self.status_label.setText(tr("Cancelled."))
            else:
                errors = feedback.errors if feedback is not None else []
                self.show_error("\n".join(errors) or tr("The {} failed.").format(
                    {"search": tr("search"), "download": tr("download"), "migrate": tr("migration")}[kind]))
            return
        self.progress.setValue(100)
        if kind == "migrate":
            self._migration_finished(results)
        elif kind == "search":
            self._load_results(results.get("OUTPUT"), context)
        else:
            count = results.get("COUNT") or 0
            offline = results.get("OFFLINE") or ""
            text = tr("{} files downloaded.").format(int(count))
            if offline:
                text += " " + tr("Offline (to be restored first): {}").format(offline)
            self.status_label.setText(text)
            self.message_bar.pushSuccess(tr("Scene search"), text)

    def _migration_finished(self, results: Dict[str, Any]) -> None:
        """Loads the outputs as the layer group 'Label migration: <folder>' and reports the counts."""
        folder = results.get("OUTPUT_FOLDER") or ""
        report = results.get("REPORT") or None
        self.migrate_panel.set_report(report if report and os.path.isfile(report) else None)
        pairs, failed = int(results.get("PAIRS") or 0), int(results.get("FAILED") or 0)
        text = tr("{} complete pairs, {} labels failed; outputs in {}.").format(pairs, failed, folder)
        try:
            loaded = load_results_group(QgsProject.instance(), folder)
        except Exception as error:  # the outputs are on disk whatever happens here
            self.show_error(tr("The results could not be loaded: {}").format(error))
            return
        self.migration_group = loaded["group"]
        try:
            self.migrate_panel.set_results(pair_quality(folder))
        except Exception as error:  # the table is a convenience: the layer group and matches.csv have it all
            LOG.debug("Listing the migration results failed: %s", error)
        if loaded["message"]:
            text += " " + loaded["message"]
        self.status_label.setText(text)
        if failed:
            self.message_bar.pushWarning(tr("Migrate labels"),
                                         text + " " + tr("The reasons are in matches.csv and the report."))
        else:
            self.message_bar.pushSuccess(tr("Migrate labels"), text)

    def _load_results(self, output, context: QgsProcessingContext) -> None:
        layer = output if isinstance(output, QgsVectorLayer) else None
        if layer is None and output:
            layer = context.takeResultLayer(output)
        if layer is None:
            self.show_error(tr("The search returned no scene layer."))
            return
        layer.setName(tr("Scenes"))
        try:
            style_footprints(layer)  # outlines, as searchscenes styles the layers it loads
        except Exception as error:  # a style must never lose the results
            LOG.debug("Styling the scene layer failed: %s", error)
        QgsProject.instance().addMapLayer(layer)
        self.set_result_layer(layer)

    def set_result_layer(self, layer: QgsVectorLayer) -> None:
        """Shows the scenes of ``layer`` in the table (ordered by label, then rank)."""
        self.result_layer = layer
        self.rows = result_rows(layer)
        fill_result_table(self.table, self.rows)
        labels = len({row["label"] for row in self.rows})
        self.status_label.setText(tr("{} scenes for {} labels.").format(len(self.rows), labels))
        self.show_quicklook(0 if self.rows else -1)

    def table_rows(self) -> List[List[str]]:
        """The table's text, row by row (for tests and screenshots)."""
        return [[self.table.item(row, column).text() for column in range(self.table.columnCount())]
                for row in range(self.table.rowCount())]

    # quicklooks
    def show_quicklook(self, row: int) -> None:
        self._fetcher = None
        self.quicklook_label.setPixmap(QPixmap())
        url = self.rows[row].get("quicklook") if 0 <= row < len(self.rows) else None
        if not url or (hasattr(url, "isNull") and url.isNull()):
            self.quicklook_label.setText(tr("No quicklook"))
            return
        url = str(url)
        if url.lower().startswith(("http://", "https://")):
            self.quicklook_label.setText(tr("Loading quicklook…"))
            fetcher = QgsNetworkContentFetcher()
            fetcher.finished.connect(lambda: self._quicklook_fetched(fetcher))
            self._fetcher = fetcher
            fetcher.fetchContent(QUrl(url))
            return
        path = QUrl(url).toLocalFile() if url.startswith("file:") else url
        show_quicklook_pixmap(self.quicklook_label, QPixmap(path) if os.path.exists(path) else QPixmap())

    def _quicklook_fetched(self, fetcher: QgsNetworkContentFetcher) -> None:
        if fetcher is not self._fetcher:  # the current row changed meanwhile
            return
        pixmap = QPixmap()
        reply = fetcher.reply()
        if reply is not None and not reply.error():
            pixmap.loadFromData(reply.readAll())
        show_quicklook_pixmap(self.quicklook_label, pixmap)

    def shutdown(self) -> None:
        """Cancels a running task before the dock goes (plugin unload)."""
        self.cancel()
        try:
            QgsProject.instance().layersWillBeRemoved.disconnect(self._layers_removed)
        except TypeError:
            pass
        if self._task is not None:
            for signal in (self._task.executed, self._feedback.progressChanged):
                try:
                    signal.disconnect()
                except TypeError:
                    pass
            orphan = (self._task, self._algorithm, self._context, self._feedback)
            _ORPHANED_TASKS.append(orphan)
            self._task.taskCompleted.connect(lambda: _ORPHANED_TASKS.remove(orphan))
            self._task.taskTerminated.connect(lambda: _ORPHANED_TASKS.remove(orphan))
        self._task = None
        self._fetcher = None
