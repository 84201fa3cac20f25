"""The scene search dock's widgets, built onto the dock: the search settings shared by both tabs (days, cloud
cover, product, backend, URL, authentication), the "Search scenes" tab (footprints and date, the result table,
the quicklook, the download) and the "Migrate labels" tab, then the progress and status below the tabs; the
result table filled with the scenes' rows, and a quicklook put on its label.

The widgets are created in the order the dock has always created them, which is their keyboard focus order.
"""
from typing import Any, Dict, List

from qgis.core import QgsFieldProxyModel, QgsMapLayerProxyModel
from qgis.gui import (QgsAuthConfigSelect, QgsFieldComboBox, QgsFileWidget, QgsMapLayerComboBox, QgsMessageBar)
from qgis.PyQt.QtCore import QDate, Qt
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import (QComboBox, QDateEdit, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                                 QProgressBar, QPushButton, QSizePolicy, QSpinBox, QTableWidget, QTableWidgetItem,
                                 QTabWidget, QToolButton, QVBoxLayout, QWidget)

from ..core.search import BACKEND_CHOICES, BACKEND_NAMES, DEFAULT_BACKEND
from ..core.search.base import DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT
from ..core.search.scene import PRODUCT_LEVELS
from ..qgis_common.translation import tr
from .tables import read_only_table
from .migrate_panel import MigratePanel
from .search_dock_requests import COLUMNS, FEATURE_ID_ROLE, display_value


def build_dock_body(dock) -> QWidget:
    """Creates the dock's widgets as attributes of ``dock``, connects them to its slots, returns the body."""
    body = QWidget(dock)
    layout = QVBoxLayout(body)
    dock.message_bar = QgsMessageBar(body)
    dock.message_bar.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
    layout.addWidget(dock.message_bar)

    search_tab = QWidget(body)
    search_layout = QVBoxLayout(search_tab)
    search_layout.setContentsMargins(0, 0, 0, 0)
    search_form = _footprints_form(dock, body)
    layout.addLayout(_shared_settings_form(dock, body))
    dock.tabs = QTabWidget(body)
    layout.addWidget(dock.tabs, 1)
    dock.tabs.addTab(search_tab, tr("Search scenes"))
    dock.migrate_panel = MigratePanel(body)
    dock.migrate_panel.run_button.clicked.connect(dock.start_migration)
    dock.migrate_panel.cancel_button.clicked.connect(dock.cancel)
    dock.migrate_panel.report_button.clicked.connect(dock.migrate_panel.open_report)
    dock.tabs.addTab(dock.migrate_panel, tr("Migrate labels"))
    search_layout.addLayout(search_form)
    _add_search_tab_widgets(dock, body, search_layout)

    # progress and status below the tabs, shared
    dock.progress = QProgressBar(body)
    dock.progress.setRange(0, 100)
    dock.progress.setValue(0)
    layout.addWidget(dock.progress)
    dock.status_label = QLabel(body)
    dock.status_label.setWordWrap(True)
    layout.addWidget(dock.status_label)
    return body


def _footprints_form(dock, body: QWidget) -> QFormLayout:
    """The footprint layer and the labels' date (a field, else one date for all): the scene search's own."""
    form = QFormLayout()
    dock.layer_combo = QgsMapLayerComboBox(body)
    dock.layer_combo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
    form.addRow(tr("Footprints"), dock.layer_combo)
    dock.date_field_combo = QgsFieldComboBox(body)
    dock.date_field_combo.setAllowEmptyFieldName(True)
    dock.date_field_combo.setFilters(QgsFieldProxyModel.Filter.Date | QgsFieldProxyModel.Filter.DateTime
                                     | QgsFieldProxyModel.Filter.String)
    dock.date_field_combo.setLayer(dock.layer_combo.currentLayer())
    dock.layer_combo.layerChanged.connect(dock.date_field_combo.setLayer)
    form.addRow(tr("Date field"), dock.date_field_combo)
    dock.date_edit = QDateEdit(QDate.currentDate(), body)
    dock.date_edit.setCalendarPopup(True)
    dock.date_edit.setDisplayFormat("yyyy-MM-dd")
    dock.date_edit.setToolTip(tr("The date of every label, used when no date field is chosen"))
    form.addRow(tr("Date"), dock.date_edit)
    dock.date_field_combo.fieldChanged.connect(lambda name: dock.date_edit.setEnabled(not name))
    dock.date_edit.setEnabled(not dock.date_field_combo.currentField())
    return form


def _shared_settings_form(dock, body: QWidget) -> QFormLayout:
    """The search settings shared by the scene search and the migration."""
    form = QFormLayout()
    window = QHBoxLayout()
    dock.days_before = QSpinBox(body)
    dock.days_after = QSpinBox(body)
    for box in (dock.days_before, dock.days_after):
        box.setRange(0, 365)
    dock.days_before.setValue(DEFAULT_DAYS_BEFORE)
    dock.days_after.setValue(DEFAULT_DAYS_AFTER)
    window.addWidget(QLabel(tr("before"), body))
    window.addWidget(dock.days_before)
    window.addWidget(QLabel(tr("after"), body))
    window.addWidget(dock.days_after)
    form.addRow(tr("Days"), window)
    dock.max_cloud = QDoubleSpinBox(body)
    dock.max_cloud.setRange(0.0, 100.0)
    dock.max_cloud.setDecimals(1)
    dock.max_cloud.setValue(DEFAULT_MAX_CLOUD)
    dock.max_cloud.setSuffix(" %")
    form.addRow(tr("Maximum cloud cover"), dock.max_cloud)
    dock.product_combo = QComboBox(body)
    dock.product_combo.addItems(list(PRODUCT_LEVELS))
    dock.product_combo.setCurrentIndex(PRODUCT_LEVELS.index(DEFAULT_PRODUCT))
    form.addRow(tr("Product"), dock.product_combo)
    dock.backend_combo = QComboBox(body)
    for info in BACKEND_CHOICES:
        dock.backend_combo.addItem(tr(info.label), info.name)
    dock.backend_combo.setCurrentIndex(BACKEND_NAMES.index(DEFAULT_BACKEND))
    form.addRow(tr("Backend"), dock.backend_combo)
    url_row = QHBoxLayout()
    dock.url_edit = QLineEdit(body)
    dock.browse_button = QToolButton(body)
    dock.browse_button.setText("…")
    dock.browse_button.setToolTip(tr("Choose the archive folder"))
    dock.browse_button.clicked.connect(dock._browse_archive)
    url_row.addWidget(dock.url_edit)
    url_row.addWidget(dock.browse_button)
    form.addRow(tr("URL"), url_row)
    dock.backend_combo.currentIndexChanged.connect(dock._backend_changed)
    dock._backend_changed(dock.backend_combo.currentIndex())
    dock.auth_select = QgsAuthConfigSelect(body)
    form.addRow(tr("Authentication"), dock.auth_select)
    return form


def _add_search_tab_widgets(dock, body: QWidget, layout: QVBoxLayout) -> None:
    """The search button, the result table, the quicklook and the download, below the footprints form."""
    dock.search_button = QPushButton(tr("Search"), body)
    dock.search_button.clicked.connect(dock.start_search)
    layout.addWidget(dock.search_button)

    dock.table = read_only_table(body, [title for _name, title in COLUMNS], extended_selection=True)
    dock.table.setMinimumHeight(150)
    dock.table.currentCellChanged.connect(lambda row, *_: dock.show_quicklook(row))
    layout.addWidget(dock.table, 1)

    dock.quicklook_label = QLabel(body)
    dock.quicklook_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    dock.quicklook_label.setMinimumHeight(60)
    dock.quicklook_label.setMaximumHeight(200)
    dock.quicklook_label.setText(tr("No quicklook"))
    layout.addWidget(dock.quicklook_label)

    download_form = QFormLayout()
    dock.folder_widget = QgsFileWidget(body)
    dock.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
    download_form.addRow(tr("Download folder"), dock.folder_widget)
    layout.addLayout(download_form)
    buttons = QHBoxLayout()
    dock.download_button = QPushButton(tr("Download selected"), body)
    dock.download_button.clicked.connect(dock.start_download)
    dock.cancel_button = QPushButton(tr("Cancel"), body)
    dock.cancel_button.setEnabled(False)
    dock.cancel_button.clicked.connect(dock.cancel)
    buttons.addWidget(dock.download_button)
    buttons.addWidget(dock.cancel_button)
    layout.addLayout(buttons)


def fill_result_table(table: QTableWidget, rows: List[Dict[str, Any]]) -> None:
    """One table row per scene row (result_rows), each item carrying its feature id in FEATURE_ID_ROLE."""
    table.clearContents()
    table.setRowCount(len(rows))
    for row_index, row in enumerate(rows):
        for column, (name, _title) in enumerate(COLUMNS):
            item = QTableWidgetItem(display_value(row[name]))
            item.setData(FEATURE_ID_ROLE, row["fid"])
            if isinstance(row[name], (int, float)):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row_index, column, item)


def show_quicklook_pixmap(label: QLabel, pixmap: QPixmap) -> None:
    """The quicklook at most 200 pixels wide and high, or "Quicklook not available" when it could not be read."""
    if pixmap.isNull():
        label.setPixmap(QPixmap())
        label.setText(tr("Quicklook not available"))
        return
    label.setPixmap(pixmap.scaled(200, 200, Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation))
