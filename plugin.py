"""Plugin entry point: the Processing provider, the Label Migration menu and the scene search panel."""
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt

from .processing.provider import LabelMigrationProvider
from .ui.menu import LabelMigrationMenu
from .ui.search_dock import SceneSearchDock


class LabelMigrationPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.menu = None
        self.search_dock = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        if self.provider is None:
            self.provider = LabelMigrationProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS's name)
        self.initProcessing()
        self.search_dock = SceneSearchDock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.RightDockWidgetArea, self.search_dock)
        self.search_dock.hide()
        self.menu = LabelMigrationMenu(self.iface, self.provider, self.show_search_dock)

    def show_search_dock(self):
        if self.search_dock is not None:
            self.search_dock.show()
            self.search_dock.raise_()

    def unload(self):
        if self.menu is not None:
            self.menu.remove()
            self.menu = None
        if self.search_dock is not None:
            self.search_dock.shutdown()
            self.iface.removeDockWidget(self.search_dock)
            self.search_dock.setParent(None)
            self.search_dock.deleteLater()
            self.search_dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
