"""The 'Label Migration' menu: the scene search panel, one entry per algorithm opening its dialog, then
"Python dependencies…" and "About Label Migration…"."""
from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtWidgets import QAction, QMenu

from ..qgis_common.translation import tr

MENU_OBJECT_NAME = "labelMigrationMenu"
SEARCH_PANEL_ACTION = "labelMigration_searchPanel"
DEPENDENCIES_ACTION = "labelMigration_dependencies"
ABOUT_ACTION = "labelMigration_about"


def open_algorithm_dialog(algorithm_id: str) -> None:
    import processing  # QGIS's processing plugin, loaded on demand

    processing.execAlgorithmDialog(algorithm_id)


def open_dependencies_dialog(parent=None) -> None:
    from .dependencies_dialog import DependenciesDialog  # loaded on demand: it is not needed at start-up

    dialog = DependenciesDialog(parent)
    dialog.exec()


def open_about_dialog(parent=None) -> None:
    from .about_dialog import AboutDialog

    dialog = AboutDialog(parent)
    dialog.exec()


class LabelMigrationMenu:
    """Builds the menu in the main window's menu bar (before Help) and removes it on unload."""

    def __init__(self, iface, provider: QgsProcessingProvider, show_search_panel=None,
                 show_dependencies=None, show_about=None):
        """``show_dependencies`` / ``show_about``: what the last two entries call (default: open the dialogs)."""
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
        self.menu.addSeparator()
        window = iface.mainWindow()
        show_dependencies = show_dependencies or (lambda: open_dependencies_dialog(window))
        show_about = show_about or (lambda: open_about_dialog(window))
        for name, text, tip, callback in (
                (DEPENDENCIES_ACTION, tr("Python dependencies…"),
                 tr("Check and install the Python packages the plugin needs (onnxruntime, pystac-client, …)"),
                 show_dependencies),
                (ABOUT_ACTION, tr("About Label Migration…"),
                 tr("Version, licence, links and the bundled model's data attribution"), show_about)):
            action = QAction(text, self.menu)
            action.setObjectName(name)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, call=callback: call())
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
