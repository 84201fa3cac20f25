"""Plugin entry point: the Processing provider, the Label Migration menu and the scene search panel.

On load the plugin also installs its translation (ui.i18n: i18n/labelmigration_<locale>.qm, when there is one),
puts its own site folder for installed Python dependencies on sys.path (core.install.plugin_site.activate_plugin_site)
and checks those dependencies (ui.dependencies_dialog.check_on_load: a message bar entry when one is missing).
"""
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt

from .core.install.plugin_site import activate_plugin_site
from .processing.provider import LabelMigrationProvider
from .ui.dependencies_dialog import check_on_load
from .ui.i18n import install_translator, remove_translator
from .ui.menu import LabelMigrationMenu
from .ui.search_dock import SceneSearchDock


class LabelMigrationPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.menu = None
        self.search_dock = None
        self.translator = install_translator()  # before the provider: algorithm names are translated
        activate_plugin_site()  # here, not in initGui: qgis_process loads plugins without a GUI too

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        if self.provider is None:
            self.provider = LabelMigrationProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS's name)
        check_on_load(self.iface)
        self.initProcessing()
        self.search_dock = SceneSearchDock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.search_dock)
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
        remove_translator()
        self.translator = None
