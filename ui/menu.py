"""The 'Label Migration' menu: the scene search panel, then one entry per algorithm opening its dialog."""
from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QAction, QMenu

MENU_OBJECT_NAME = "labelMigrationMenu"
SEARCH_PANEL_ACTION = "labelMigration_searchPanel"


def tr(text: str) -> str:
    return QCoreApplication.translate("LabelMigration", text)


def open_algorithm_dialog(algorithm_id: str) -> None:
    import processing  # QGIS's processing plugin, loaded on demand

    processing.execAlgorithmDialog(algorithm_id)


class LabelMigrationMenu:
    """Builds the menu in the main window's menu bar (before Help) and removes it on unload."""

    def __init__(self, iface, provider: QgsProcessingProvider, show_search_panel=None):
        self.iface = iface
        menu_bar = iface.mainWindow().menuBar()
        self.menu = QMenu(tr("Label &Migration"), menu_bar)
        self.menu.setObjectName(MENU_OBJECT_NAME)
        self.actions = []
        if show_search_panel is not None:
            action = QAction(tr("Scene search panel…"), self.menu)
            action.setObjectName(SEARCH_PANEL_ACTION)
            action.setToolTip(tr("Search Sentinel-2 scenes for label footprints, see quicklooks, download"))
            action.triggered.connect(lambda _checked=False: show_search_panel())
            self.menu.addAction(action)
            self.menu.addSeparator()
            self.actions.append(action)
        for algorithm in sorted(provider.algorithms(), key=lambda a: (a.group(), a.displayName())):
            action = QAction(algorithm.icon(), algorithm.displayName() + "…", self.menu)
            action.setObjectName(f"labelMigration_{algorithm.name()}")
            action.setToolTip(algorithm.shortDescription() or algorithm.displayName())
            action.triggered.connect(lambda _checked=False, aid=algorithm.id(): open_algorithm_dialog(aid))
            self.menu.addAction(action)
            self.actions.append(action)
        help_menu = next((a for a in menu_bar.actions() if a.menu() and a.menu().objectName() == "mHelpMenu"), None)
        if help_menu is not None:
            self.menu_action = menu_bar.insertMenu(help_menu, self.menu)
        else:
            self.menu_action = menu_bar.addMenu(self.menu)

    def remove(self) -> None:
        self.iface.mainWindow().menuBar().removeAction(self.menu_action)
        for action in self.actions:
            action.triggered.disconnect()
        self.menu.clear()
        self.menu.deleteLater()
        self.actions = []
