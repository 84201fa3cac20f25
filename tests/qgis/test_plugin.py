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
                                                             "segment", "rasterizelabels", "migratelabels",
                                                             "exportdataset", "trainsegmentation"}
        menus = labelmigration_menus(qgis_iface)
        assert len(menus) == 1
        actions = [a for a in menus[0].menu().actions() if not a.isSeparator()]
        entries = [a.text() for a in actions]
        # the search panel, 14 algorithms, "Python dependencies…" and "About Label Migration…"
        assert len(entries) == 17 and all(text.endswith("…") for text in entries)
        assert actions[0].objectName() == "labelMigration_searchPanel"
        assert [a.objectName() for a in actions[-2:]] == ["labelMigration_dependencies", "labelMigration_about"]
        assert entries[-2:] == ["Python dependencies…", "About Label Migration…"]
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


def _metadata_version(repo_root):
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(repo_root / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def _loaded_plugin(qgis_iface):
    from qgis.core import QgsApplication

    import labelmigration

    registry = QgsApplication.processingRegistry()
    if registry.providerById("labelmigration") is not None:
        registry.removeProvider("labelmigration")
    plugin = labelmigration.classFactory(qgis_iface)
    plugin.initGui()
    return plugin


def test_about_entry_shows_version_licence_and_attribution(qgis_iface, qgis_processing, monkeypatch, repo_root):
    from labelmigration.ui import about_dialog

    shown = []

    def fake_exec(dialog):  # record the dialog instead of blocking on it
        shown.append(dialog.text())
        return 0

    monkeypatch.setattr(about_dialog.AboutDialog, "exec", fake_exec)
    plugin = _loaded_plugin(qgis_iface)
    try:
        menu = labelmigration_menus(qgis_iface)[0].menu()
        about = next(a for a in menu.actions() if a.objectName() == "labelMigration_about")
        assert about.text() == "About Label Migration…"
        about.trigger()
    finally:
        plugin.unload()
    assert len(shown) == 1
    text = shown[0]
    version = _metadata_version(repo_root)
    assert f"Label Migration {version}" in text and f"Version: {version}" in text
    assert "GPL-2.0-or-later" in text
    assert "https://github.com/labelmigration/labelmigration/issues" in text
    for attribution in ("Radiant Earth Foundation (2022)", "doi:10.34911/RDNT.HFQ6M7", "CC-BY-4.0",
                        "eo-learn", "MIT", "38-Cloud", "Apache-2.0", "ukis-csmask", "Copernicus Sentinel"):
        assert attribution in text, attribution


def test_about_dialog_reads_the_version_from_metadata(qgis_app, tmp_path, repo_root):
    from labelmigration.ui.about_dialog import AboutDialog, read_metadata

    assert read_metadata()["version"] == _metadata_version(repo_root)
    dialog = AboutDialog()
    try:
        assert dialog.windowTitle() == "About Label Migration"
        assert _metadata_version(repo_root) in dialog.title.text()
        assert dialog.browser.openExternalLinks()
    finally:
        dialog.deleteLater()


def test_dependencies_entry_opens_the_dependencies_dialog(qgis_iface, qgis_processing, monkeypatch):
    from labelmigration.ui import menu as menu_module

    opened = []
    monkeypatch.setattr(menu_module, "open_dependencies_dialog", lambda parent=None: opened.append(parent))
    plugin = _loaded_plugin(qgis_iface)
    try:
        menu = labelmigration_menus(qgis_iface)[0].menu()
        action = next(a for a in menu.actions() if a.objectName() == "labelMigration_dependencies")
        assert action.text() == "Python dependencies…"
        action.trigger()
    finally:
        plugin.unload()
    assert opened == [qgis_iface.mainWindow()]


def test_dependencies_dialog_class_is_what_the_entry_opens(qgis_app, monkeypatch):
    """open_dependencies_dialog builds ui.dependencies_dialog.DependenciesDialog and runs it."""
    dependencies_dialog = pytest.importorskip("labelmigration.ui.dependencies_dialog")
    from labelmigration.ui import menu as menu_module

    ran = []
    monkeypatch.setattr(dependencies_dialog.DependenciesDialog, "exec", lambda dialog: ran.append(dialog) or 0)
    menu_module.open_dependencies_dialog(None)
    assert len(ran) == 1 and isinstance(ran[0], dependencies_dialog.DependenciesDialog)
    ran[0].deleteLater()
