"""The scene search panel: footprints in, ranked scenes out (with quicklooks), selected scenes downloaded;
and its "Migrate labels" tab: a whole label folder migrated, the results loaded as a layer group.

The dock only gathers the user's choices and shows results; the work is done by the Processing
algorithms ``labelmigration:searchscenes``, ``labelmigration:downloadscenes`` and ``labelmigration:migratelabels``,
run as background
tasks (QgsProcessingAlgRunnerTask) so the desktop stays responsive. The parameter dictionaries are
built by the small pure functions below, which the tests call directly.
"""
import logging
import os
from typing import Any, Dict, List, Optional

from qgis.core import (QgsApplication, QgsFieldProxyModel, QgsMapLayerProxyModel, QgsNetworkContentFetcher,
                       QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeatureSourceDefinition,
                       QgsProcessingFeedback, QgsProject, QgsVectorLayer)
from qgis.gui import (QgsAuthConfigSelect, QgsDockWidget, QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox,
                      QgsMessageBar)
from qgis.PyQt.QtCore import QT_TR_NOOP, QDate, Qt, QUrl
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import (QAbstractItemView, QComboBox, QDateEdit, QDoubleSpinBox, QFileDialog, QFormLayout,
                                 QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy,
                                 QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QToolButton, QVBoxLayout,
                                 QWidget)

from ..core.search import BACKEND_CHOICES, BACKEND_NAMES, DEFAULT_BACKEND
from ..core.search.base import DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT
from ..core.search.scene import PRODUCT_LEVELS, TABLE_COLUMNS
from ..qgis_common.translation import tr
from ..qgis_common.results_group import load_results_group, pair_quality
from ..qgis_common.styles import style_footprints
from .migrate_panel import MIGRATE_ALGORITHM, MigratePanel, migrate_parameters

LOG = logging.getLogger(__name__)
DOCK_OBJECT_NAME = "labelMigrationSearchDock"
SEARCH_ALGORITHM = "labelmigration:searchscenes"
DOWNLOAD_ALGORITHM = "labelmigration:downloadscenes"
LOCAL_BACKEND = BACKEND_NAMES.index("local")  # BACKEND_NAMES: the order of the algorithms' BACKEND enum
_TITLES = {"label": QT_TR_NOOP("Label"), "rank": QT_TR_NOOP("Rank"), "title": QT_TR_NOOP("Title"),
           "datetime": QT_TR_NOOP("Date and time"), "cloud_cover": QT_TR_NOOP("Cloud %"),
           "coverage_pct": QT_TR_NOOP("Coverage %"), "offset_days": QT_TR_NOOP("Offset (days)"),
           "backend": QT_TR_NOOP("Backend")}
COLUMNS = tuple((name, _TITLES[name]) for name in TABLE_COLUMNS)
FEATURE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
# A task still running when its dock goes (plugin unload) keeps its algorithm, context and feedback alive here
# until it ends: the C++ task refers to them.
_ORPHANED_TASKS: List[tuple] = []


# --- pure helpers (no widget needed) ---------------------------------------------------------

def search_parameters(footprints, date_field: Optional[str] = None, date: Optional[QDate] = None,
                      days_before: int = DEFAULT_DAYS_BEFORE, days_after: int = DEFAULT_DAYS_AFTER,
                      max_cloud: float = DEFAULT_MAX_CLOUD, product: int = PRODUCT_LEVELS.index(DEFAULT_PRODUCT),
                      backend: int = BACKEND_NAMES.index(DEFAULT_BACKEND), url: str = "", authcfg: str = "",
                      output: str = "memory:") -> Dict[str, Any]:
    """The searchscenes parameters for the dock's choices.

    ``footprints`` a layer (or layer id); ``date_field`` each label's date, else ``date`` for all labels;
    ``product`` and ``backend`` the indexes of the algorithm's enums (PRODUCT_LEVELS, BACKEND_NAMES order).
    """
    parameters: Dict[str, Any] = {
        "FOOTPRINTS": footprints, "DAYS_BEFORE": int(days_before), "DAYS_AFTER": int(days_after),
        "MAX_CLOUD": float(max_cloud), "PRODUCT": int(product), "BACKEND": int(backend),
        "URL": (url or "").strip(), "OUTPUT": output,
    }
    if date_field:
        parameters["DATE_FIELD"] = date_field
    elif date is not None and date.isValid():
        parameters["DATE"] = date.toString(Qt.DateFormat.ISODate)
    if authcfg:
        parameters["AUTHCFG"] = authcfg
    return parameters


def download_parameters(scenes_layer_id: str, folder: str, authcfg: str = "") -> Dict[str, Any]:
    """The downloadscenes parameters: only the selected features of the scene layer."""
    parameters: Dict[str, Any] = {
        "SCENES": QgsProcessingFeatureSourceDefinition(scenes_layer_id, selectedFeaturesOnly=True),
        "FOLDER": folder,
    }
    if authcfg:
        parameters["AUTHCFG"] = authcfg
    return parameters


def result_rows(layer: QgsVectorLayer) -> List[Dict[str, Any]]:
    """One dict per scene feature (the table's columns, plus fid and quicklook), ordered by label then rank."""
    names = layer.fields().names()
    rows = []
    for feature in layer.getFeatures():
        row = {name: (feature[name] if name in names else None) for name, _title in COLUMNS}
        row["fid"] = feature.id()
        row["quicklook"] = feature["quicklook"] if "quicklook" in names else None
        rows.append(row)
    rows.sort(key=lambda r: (str(r["label"]), r["rank"] if isinstance(r["rank"], int) else 0, r["fid"]))
    return rows


def display_value(value) -> str:
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return ""
    if hasattr(value, "toString") and hasattr(value, "isValid"):  # QDateTime
        return value.toString("yyyy-MM-dd HH:mm:ss")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def url_placeholder(backend: int) -> str:
    return BACKEND_CHOICES[backend].default_url or tr("folder")


class _Feedback(QgsProcessingFeedback):
    """Keeps the algorithm's error messages for the dock's message bar."""

    def __init__(self):
        super().__init__()
        self.errors: List[str] = []

    def reportError(self, error, fatalError=False):  # noqa: N802 (QGIS's name)
        self.errors.append(error)
        super().reportError(error, fatalError)


# --- the dock --------------------------------------------------------------------------------

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
        self._build()
        QgsProject.instance().layersWillBeRemoved.connect(self._layers_removed)

    def _layers_removed(self, layer_ids) -> None:
        if self.result_layer is not None and self.result_layer.id() in layer_ids:
            self.result_layer = None
            self.rows = []
            self.table.setRowCount(0)
            self.show_quicklook(-1)

    # layout
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.message_bar = QgsMessageBar(body)
        self.message_bar.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.message_bar)

        form = QFormLayout()  # the search settings, shared by the scene search and the migration
        search_tab = QWidget(body)
        search_layout = QVBoxLayout(search_tab)
        search_layout.setContentsMargins(0, 0, 0, 0)
        search_form = QFormLayout()
        self.layer_combo = QgsMapLayerComboBox(body)
        self.layer_combo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        search_form.addRow(tr("Footprints"), self.layer_combo)
        self.date_field_combo = QgsFieldComboBox(body)
        self.date_field_combo.setAllowEmptyFieldName(True)
        self.date_field_combo.setFilters(QgsFieldProxyModel.Filter.Date | QgsFieldProxyModel.Filter.DateTime
                                         | QgsFieldProxyModel.Filter.String)
        self.date_field_combo.setLayer(self.layer_combo.currentLayer())
        self.layer_combo.layerChanged.connect(self.date_field_combo.setLayer)
        search_form.addRow(tr("Date field"), self.date_field_combo)
        self.date_edit = QDateEdit(QDate.currentDate(), body)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setToolTip(tr("The date of every label, used when no date field is chosen"))
        search_form.addRow(tr("Date"), self.date_edit)
        self.date_field_combo.fieldChanged.connect(lambda name: self.date_edit.setEnabled(not name))
        self.date_edit.setEnabled(not self.date_field_combo.currentField())

        window = QHBoxLayout()
        self.days_before = QSpinBox(body)
        self.days_after = QSpinBox(body)
        for box in (self.days_before, self.days_after):
            box.setRange(0, 365)
        self.days_before.setValue(DEFAULT_DAYS_BEFORE)
        self.days_after.setValue(DEFAULT_DAYS_AFTER)
        window.addWidget(QLabel(tr("before"), body))
        window.addWidget(self.days_before)
        window.addWidget(QLabel(tr("after"), body))
        window.addWidget(self.days_after)
        form.addRow(tr("Days"), window)
        self.max_cloud = QDoubleSpinBox(body)
        self.max_cloud.setRange(0.0, 100.0)
        self.max_cloud.setDecimals(1)
        self.max_cloud.setValue(DEFAULT_MAX_CLOUD)
        self.max_cloud.setSuffix(" %")
        form.addRow(tr("Maximum cloud cover"), self.max_cloud)
        self.product_combo = QComboBox(body)
        self.product_combo.addItems(list(PRODUCT_LEVELS))
        self.product_combo.setCurrentIndex(PRODUCT_LEVELS.index(DEFAULT_PRODUCT))
        form.addRow(tr("Product"), self.product_combo)
        self.backend_combo = QComboBox(body)
        for info in BACKEND_CHOICES:
            self.backend_combo.addItem(tr(info.label), info.name)
        self.backend_combo.setCurrentIndex(BACKEND_NAMES.index(DEFAULT_BACKEND))
        form.addRow(tr("Backend"), self.backend_combo)
        url_row = QHBoxLayout()
        self.url_edit = QLineEdit(body)
        self.browse_button = QToolButton(body)
        self.browse_button.setText("…")
        self.browse_button.setToolTip(tr("Choose the archive folder"))
        self.browse_button.clicked.connect(self._browse_archive)
        url_row.addWidget(self.url_edit)
        url_row.addWidget(self.browse_button)
        form.addRow(tr("URL"), url_row)
        self.backend_combo.currentIndexChanged.connect(self._backend_changed)
        self._backend_changed(self.backend_combo.currentIndex())
        self.auth_select = QgsAuthConfigSelect(body)
        form.addRow(tr("Authentication"), self.auth_select)
        layout.addLayout(form)
        self.tabs = QTabWidget(body)
        layout.addWidget(self.tabs, 1)
        self.tabs.addTab(search_tab, tr("Search scenes"))
        self.migrate_panel = MigratePanel(body)
        self.migrate_panel.run_button.clicked.connect(self.start_migration)
        self.migrate_panel.cancel_button.clicked.connect(self.cancel)
        self.migrate_panel.report_button.clicked.connect(self.migrate_panel.open_report)
        self.tabs.addTab(self.migrate_panel, tr("Migrate labels"))
        layout = search_layout  # what follows belongs to the scene search tab
        layout.addLayout(search_form)

        self.search_button = QPushButton(tr("Search"), body)
        self.search_button.clicked.connect(self.start_search)
        layout.addWidget(self.search_button)

        self.table = QTableWidget(0, len(COLUMNS), body)
        self.table.setHorizontalHeaderLabels([tr(title) for _name, title in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(150)
        self.table.currentCellChanged.connect(lambda row, *_: self.show_quicklook(row))
        layout.addWidget(self.table, 1)

        self.quicklook_label = QLabel(body)
        self.quicklook_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.quicklook_label.setMinimumHeight(60)
        self.quicklook_label.setMaximumHeight(200)
        self.quicklook_label.setText(tr("No quicklook"))
        layout.addWidget(self.quicklook_label)

        download_form = QFormLayout()
        self.folder_widget = QgsFileWidget(body)
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        download_form.addRow(tr("Download folder"), self.folder_widget)
        layout.addLayout(download_form)
        buttons = QHBoxLayout()
        self.download_button = QPushButton(tr("Download selected"), body)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button = QPushButton(tr("Cancel"), body)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout = body.layout()  # progress and status below the tabs, shared
        self.progress = QProgressBar(body)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status_label = QLabel(body)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.setWidget(body)

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
        feedback = _Feedback()
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
        self.table.clearContents()
        self.table.setRowCount(len(self.rows))
        for row_index, row in enumerate(self.rows):
            for column, (name, _title) in enumerate(COLUMNS):
                item = QTableWidgetItem(display_value(row[name]))
                item.setData(FEATURE_ID_ROLE, row["fid"])
                if isinstance(row[name], (int, float)):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row_index, column, item)
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
        self._set_quicklook(QPixmap(path) if os.path.exists(path) else QPixmap())

    def _quicklook_fetched(self, fetcher: QgsNetworkContentFetcher) -> None:
        if fetcher is not self._fetcher:  # the current row changed meanwhile
            return
        pixmap = QPixmap()
        reply = fetcher.reply()
        if reply is not None and not reply.error():
            pixmap.loadFromData(reply.readAll())
        self._set_quicklook(pixmap)

    def _set_quicklook(self, pixmap: QPixmap) -> None:
        if pixmap.isNull():
            self.quicklook_label.setPixmap(QPixmap())
            self.quicklook_label.setText(tr("Quicklook not available"))
            return
        self.quicklook_label.setPixmap(pixmap.scaled(200, 200, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))

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
