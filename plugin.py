"""Plugin entry point: the Processing provider and the Label Migration menu."""
from qgis.core import QgsApplication

from .processing.provider import LabelMigrationProvider
from .ui.menu import LabelMigrationMenu


class LabelMigrationPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.menu = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        if self.provider is None:
            self.provider = LabelMigrationProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS's name)
        self.initProcessing()
        self.menu = LabelMigrationMenu(self.iface, self.provider)

    def unload(self):
        if self.menu is not None:
            self.menu.remove()
            self.menu = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
