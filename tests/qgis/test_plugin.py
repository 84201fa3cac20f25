"""The plugin object: provider and menu on load, nothing left behind on unload, twice."""
import pytest

pytestmark = pytest.mark.qgis


def labelmigration_menus(iface):
    return [action for action in iface.mainWindow().menuBar().actions()
            if action.menu() is not None and action.menu().objectName() == "labelMigrationMenu"]


def test_load_and_unload_twice(qgis_iface, qgis_processing):
    from qgis.core import QgsApplication

    import labelmigration

    registry = QgsApplication.processingRegistry()
    if registry.providerById("labelmigration") is not None:  # registered by other tests
        registry.removeProvider("labelmigration")
    for _round in range(2):
        plugin = labelmigration.classFactory(qgis_iface)
        plugin.initGui()
        provider = registry.providerById("labelmigration")
        assert provider is not None
        assert {a.name() for a in provider.algorithms()} == {"geocodemask", "maskfootprint", "cropscene", "stackbands",
                                                             "safetogeotiff", "searchscenes",
                                                             "downloadscenes", "evaluatesegmentation", "cloudmask",
                                                             "segment", "rasterizelabels", "migratelabels"}
        menus = labelmigration_menus(qgis_iface)
        assert len(menus) == 1
        actions = [a for a in menus[0].menu().actions() if not a.isSeparator()]
        entries = [a.text() for a in actions]
        assert len(entries) == 13 and all(text.endswith("…") for text in entries)
        assert actions[0].objectName() == "labelMigration_searchPanel"
        dock = plugin.search_dock
        assert dock is not None and dock.objectName() == "labelMigrationSearchDock" and dock.isHidden()
        actions[0].trigger()
        assert not dock.isHidden()
        plugin.unload()
        assert registry.providerById("labelmigration") is None
        assert labelmigration_menus(qgis_iface) == []
        assert plugin.search_dock is None and dock.parent() is None


def test_menu_entry_opens_the_algorithm_dialog(qgis_iface, qgis_processing, monkeypatch):
    import processing

    import labelmigration

    opened = []
    monkeypatch.setattr(processing, "execAlgorithmDialog", lambda algorithm_id, *a, **k: opened.append(algorithm_id))
    from qgis.core import QgsApplication
    registry = QgsApplication.processingRegistry()
    if registry.providerById("labelmigration") is not None:
        registry.removeProvider("labelmigration")
    plugin = labelmigration.classFactory(qgis_iface)
    plugin.initGui()
    try:
        menu = labelmigration_menus(qgis_iface)[0].menu()
        crop = next(a for a in menu.actions() if a.objectName() == "labelMigration_cropscene")
        crop.trigger()
        assert opened == ["labelmigration:cropscene"]
    finally:
        plugin.unload()
