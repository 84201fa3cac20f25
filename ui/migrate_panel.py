"""The "Migrate labels" tab of the scene search dock: a label folder migrated with ``labelmigration:migratelabels``.

The tab gathers what is particular to a migration (labels, where their dates come from, bands, cloud masks,
output folder); the search settings (window, cloud cover, product, backend, URL, authentication) are the
dock's own, shared with its scene search. ``migrate_parameters`` builds the algorithm's parameters from
plain values (the tests compare it with what processing.run gets); the dock runs the algorithm as a
background task and loads the results as a layer group (qgis_common/results_group.py), and the tab lists the
run's labels with their shift and change columns (issue 19), filtered to the flagged pairs on demand.
"""
from typing import Any, Dict, List, Optional, Sequence

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QT_TR_NOOP, QDate, Qt, QUrl
from qgis.PyQt.QtGui import QBrush, QColor, QDesktopServices
from qgis.PyQt.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QFormLayout, QHBoxLayout, QLineEdit, QPushButton,
                                 QStackedWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.migration.options import DEFAULT_BANDS
from ..core.search import BACKEND_NAMES, DEFAULT_BACKEND
from ..core.search.base import DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT
from ..core.search.scene import PRODUCT_LEVELS
from ..qgis_common.styles import FLAGGED_COLOUR, MOVED_COLOUR
from ..qgis_common.translation import tr
from .tables import read_only_table

MIGRATE_ALGORITHM = "labelmigration:migratelabels"
DATE_SOURCES = ("pattern", "csv", "date")  # the order of the date source combo box
# The results table: matches.csv columns (qgis_common.results_group.pair_quality adds moved and flagged)
RESULT_COLUMNS = (("label", QT_TR_NOOP("Label")), ("status", QT_TR_NOOP("Status")), ("scene", QT_TR_NOOP("Scene")),
                  ("offset_days", QT_TR_NOOP("Offset (days)")), ("shift_x_m", QT_TR_NOOP("Shift x (m)")),
                  ("shift_y_m", QT_TR_NOOP("Shift y (m)")), ("shift_confidence", QT_TR_NOOP("Shift confidence")),
                  ("label_moved_m", QT_TR_NOOP("Moved (m)")), ("change_score", QT_TR_NOOP("Change score")),
                  ("flagged", QT_TR_NOOP("Check")))


def migrate_parameters(labels: str, output_folder: str, date_source: str = "pattern", date_pattern: str = "",
                       dates_csv: str = "", date: Optional[QDate] = None, days_before: int = DEFAULT_DAYS_BEFORE,
                       days_after: int = DEFAULT_DAYS_AFTER, max_cloud: float = DEFAULT_MAX_CLOUD,
                       product: int = PRODUCT_LEVELS.index(DEFAULT_PRODUCT),
                       backend: int = BACKEND_NAMES.index(DEFAULT_BACKEND), url: str = "", authcfg: str = "",
                       bands: str = "", cloud_masks: bool = True, cloud_model: str = "") -> Dict[str, Any]:
    """The migratelabels parameters for the tab's choices.

    ``date_source``: 'pattern' (the date in the file name, DATE_PATTERN when given, else the default
    forms), 'csv' (DATES_CSV) or 'date' (one DATE for every label). ``product`` and ``backend`` are the
    indexes of the algorithm's enums; ``bands`` comma-separated (empty: the algorithm's default).
    """
    if date_source not in DATE_SOURCES:
        raise ValueError(f"date_source must be one of {DATE_SOURCES}, not {date_source!r}")
    parameters: Dict[str, Any] = {
        "LABELS": (labels or "").strip(), "BACKEND": int(backend), "URL": (url or "").strip(),
        "DAYS_BEFORE": int(days_before), "DAYS_AFTER": int(days_after), "MAX_CLOUD": float(max_cloud),
        "PRODUCT": int(product), "CLOUD_MASKS": bool(cloud_masks), "OUTPUT_FOLDER": (output_folder or "").strip(),
    }
    if date_source == "pattern" and (date_pattern or "").strip():
        parameters["DATE_PATTERN"] = date_pattern.strip()
    elif date_source == "csv":
        parameters["DATES_CSV"] = (dates_csv or "").strip()
    elif date_source == "date" and date is not None and date.isValid():
        parameters["DATE"] = date.toString(Qt.DateFormat.ISODate)
    names = [band.strip() for band in (bands or "").replace(" ", ",").split(",") if band.strip()]
    if names:
        parameters["BANDS"] = ",".join(names)
    if (cloud_model or "").strip():
        parameters["CLOUD_MODEL"] = cloud_model.strip()
    if authcfg:
        parameters["AUTHCFG"] = authcfg
    return parameters


def result_cell(row: Dict[str, Any], name: str) -> str:
    """The table's text for one column of a pair_quality row."""
    if name == "flagged":
        return tr("change") if row.get("flagged") else ""
    value = row.get(name)
    if name == "label_moved_m" and not row.get("moved"):
        return ""  # 0: measured, not moved
    return "" if value is None else str(value)


def open_url(url: QUrl) -> bool:
    """Opens a URL in the desktop's application for it (a browser for report.html)."""
    return QDesktopServices.openUrl(url)


class MigratePanel(QWidget):
    """The widgets of the tab; the dock connects the buttons."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.labels_widget = QgsFileWidget(self)
        self.labels_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.labels_widget.setToolTip(tr("A folder of georeferenced label rasters, or PNG/JPEG labels each beside "
                                         "the GeoTIFF it was drawn on"))
        form.addRow(tr("Label folder"), self.labels_widget)
        self.date_source_combo = QComboBox(self)
        self.date_source_combo.addItem(tr("Date in the file name"), "pattern")
        self.date_source_combo.addItem(tr("Dates CSV (label,date)"), "csv")
        self.date_source_combo.addItem(tr("One date for every label"), "date")
        form.addRow(tr("Label dates"), self.date_source_combo)
        self.date_stack = QStackedWidget(self)
        self.date_pattern_edit = QLineEdit(self)
        self.date_pattern_edit.setPlaceholderText(tr("YYYYMMDD or YYYY-MM-DD (default), or a regular expression"))
        self.dates_csv_widget = QgsFileWidget(self)
        self.dates_csv_widget.setFilter(tr("CSV files (*.csv)"))
        self.date_edit = QDateEdit(QDate.currentDate(), self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        for widget in (self.date_pattern_edit, self.dates_csv_widget, self.date_edit):
            self.date_stack.addWidget(widget)
        self.date_source_combo.currentIndexChanged.connect(self.date_stack.setCurrentIndex)
        form.addRow("", self.date_stack)
        self.bands_edit = QLineEdit(",".join(DEFAULT_BANDS), self)
        form.addRow(tr("Bands"), self.bands_edit)
        self.cloud_masks_check = QCheckBox(tr("Write a cloud mask per pair"), self)
        self.cloud_masks_check.setChecked(True)
        self.cloud_masks_check.setToolTip(tr("From the cloud model, or from SCL (classes 8, 9, 10) for L2A "
                                             "products when no model is installed"))
        form.addRow("", self.cloud_masks_check)
        self.cloud_model_widget = QgsFileWidget(self)
        self.cloud_model_widget.setFilter(tr("ONNX models (*.onnx)"))
        self.cloud_model_widget.setToolTip(tr("Optional; default: the bundled cloud model when installed"))
        form.addRow(tr("Cloud model"), self.cloud_model_widget)
        self.output_widget = QgsFileWidget(self)
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        form.addRow(tr("Output folder"), self.output_widget)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.run_button = QPushButton(tr("Migrate"), self)
        self.cancel_button = QPushButton(tr("Cancel"), self)
        self.cancel_button.setEnabled(False)
        self.report_button = QPushButton(tr("Open report"), self)
        self.report_button.setEnabled(False)
        self.report_button.setToolTip(tr("Open the QA report (report.html) in the browser"))
        for button in (self.run_button, self.cancel_button, self.report_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.flagged_only_check = QCheckBox(tr("Flagged pairs only"), self)
        self.flagged_only_check.setToolTip(tr("Only the pairs whose change score stands out from the run "
                                              "(the report's \"Check these labels\")"))
        self.flagged_only_check.toggled.connect(self.apply_filter)
        layout.addWidget(self.flagged_only_check)
        self.results_table = read_only_table(self, [title for _name, title in RESULT_COLUMNS])
        self.results_table.setMinimumHeight(120)
        layout.addWidget(self.results_table, 1)
        self.report_path: Optional[str] = None
        self.results: List[Dict[str, Any]] = []

    def date_source(self) -> str:
        return self.date_source_combo.currentData()

    def set_date_source(self, source: str) -> None:
        self.date_source_combo.setCurrentIndex(DATE_SOURCES.index(source))

    def set_report(self, path: Optional[str]) -> None:
        self.report_path = path or None
        self.report_button.setEnabled(self.report_path is not None)

    def set_results(self, rows: Sequence[Dict[str, Any]]) -> None:
        """Lists a run's labels (qgis_common.results_group.pair_quality rows): flagged pairs in red, the moved
        distance of moved labels in blue."""
        self.results = list(rows)
        table = self.results_table
        table.clearContents()
        table.setRowCount(len(self.results))
        for index, row in enumerate(self.results):
            for column, (name, _title) in enumerate(RESULT_COLUMNS):
                item = QTableWidgetItem(result_cell(row, name))
                if name in ("offset_days", "shift_x_m", "shift_y_m", "shift_confidence", "label_moved_m",
                            "change_score"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.get("flagged") and name in ("label", "change_score", "flagged"):
                    item.setForeground(QBrush(QColor(FLAGGED_COLOUR)))
                elif row.get("moved") and name == "label_moved_m":
                    item.setForeground(QBrush(QColor(MOVED_COLOUR)))
                table.setItem(index, column, item)
        self.apply_filter()

    def apply_filter(self, *_args) -> None:
        """Hides the rows that are not flagged while "Flagged pairs only" is checked."""
        only = self.flagged_only_check.isChecked()
        for index, row in enumerate(self.results):
            self.results_table.setRowHidden(index, only and not row.get("flagged"))

    def visible_labels(self) -> List[str]:
        return [str(row.get("label")) for index, row in enumerate(self.results)
                if not self.results_table.isRowHidden(index)]

    def open_report(self) -> bool:
        if not self.report_path:
            return False
        return open_url(QUrl.fromLocalFile(self.report_path))
