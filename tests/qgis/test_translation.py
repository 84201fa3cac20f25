"""The German translation: installed, it turns the algorithms and the dock German; the .ts holds every
string pylupdate5 extracts from the sources (make translations is up to date) and the .qm matches it."""
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.qgis

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "i18n" / "labelmigration_de.ts"
QM = ROOT / "i18n" / "labelmigration_de.qm"
# the sources the Makefile's translations target hands pylupdate5 (the core only for its backend labels)
I18N_SOURCES = sorted([*ROOT.glob("*.py"), *ROOT.glob("processing/*.py"), *ROOT.glob("qgis_common/*.py"),
                       *ROOT.glob("ui/*.py"), ROOT / "core" / "search" / "__init__.py"])


def ts_messages(path: Path, context: str) -> dict:
    """{source: translation or None when unfinished} of one context, obsolete entries left out."""
    messages = {}
    for node in ET.parse(path).getroot().iter("context"):
        if node.findtext("name") != context:
            continue
        for message in node.iter("message"):
            translation = message.find("translation")
            if translation.get("type") == "obsolete":
                continue
            messages[message.findtext("source")] = (None if translation.get("type") == "unfinished"
                                                    else translation.text)
    return messages


@pytest.fixture
def german(qgis_app):
    from labelmigration.ui.i18n import install_translator, remove_translator

    translator = install_translator("de_DE")
    assert translator is not None
    yield translator
    remove_translator()


def test_the_ts_has_one_context_the_tr_helpers_use():
    contexts = [node.findtext("name") for node in ET.parse(TS).getroot().iter("context")]
    assert contexts == ["LabelMigration"]


def test_algorithms_and_parameters_come_out_in_german(german):
    from labelmigration.processing.cloud_mask import CloudMaskAlgorithm
    from labelmigration.processing.provider import LabelMigrationProvider

    algorithm = CloudMaskAlgorithm().createInstance()
    algorithm.initAlgorithm()
    assert algorithm.displayName() == "Wolkenmaske"
    assert algorithm.group() == "Modelle" and algorithm.groupId() == "models"
    assert algorithm.parameterDefinition("INPUT").description() == "Bild"
    assert algorithm.parameterDefinition("TILE_SIZE").description() == "Kachelgröße"
    assert LabelMigrationProvider().longName() == "Label Migration: Labels auf Sentinel-2-Bilder übertragen"


def test_the_dock_comes_out_in_german(german):
    from labelmigration.ui.search_dock import SceneSearchDock

    dock = SceneSearchDock()
    try:
        assert dock.windowTitle() == "Szenensuche"
        assert dock.search_button.text() == "Suchen"
        assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())] == ["Szenen suchen", "Labels migrieren"]
        assert dock.table.horizontalHeaderItem(1).text() == "Rang"
        assert dock.migrate_panel.run_button.text() == "Migrieren"
        assert dock.backend_combo.itemText(3) == "Lokales Archiv"
    finally:
        dock.shutdown()
        dock.deleteLater()


def test_the_about_text_comes_out_in_german(german):
    from labelmigration.ui.about_dialog import about_html, read_metadata

    text = about_html(read_metadata())
    for german_text in ("<b>Lizenz</b>: GPL-2.0-or-later", "Mitgeliefertes Wolkenmodell und seine Daten",
                        "On-Cloud-N-Chips (Auswahl des Checkpoints", "Enthält veränderte Copernicus-Sentinel-Daten."):
        assert german_text in text


def test_no_translation_for_english_and_the_locale_follows_qgis_settings(qgis_app):
    from qgis.core import QgsSettings

    from labelmigration.ui.i18n import install_translator, qgis_locale

    assert install_translator("en_US") is None
    settings = QgsSettings()
    saved = {key: settings.value(key) for key in ("locale/overrideFlag", "locale/userLocale")}
    try:
        settings.setValue("locale/overrideFlag", True)
        settings.setValue("locale/userLocale", "de_AT")
        assert qgis_locale() == "de_AT"
        settings.setValue("locale/overrideFlag", False)
        assert qgis_locale() != "de_AT"
    finally:
        for key, value in saved.items():
            if value is None:
                settings.remove(key)
            else:
                settings.setValue(key, value)


def test_every_algorithm_name_group_and_parameter_is_translated(provider):
    """Untranslated (English) texts of the registered algorithms all have a German translation."""
    messages = ts_messages(TS, "LabelMigration")
    texts = {provider.name(), provider.longName()}
    for algorithm in provider.algorithms():
        texts |= {algorithm.displayName(), algorithm.group()}
        texts |= {parameter.description() for parameter in algorithm.parameterDefinitions()}
    missing = sorted(text for text in texts if not messages.get(text))
    assert missing == []


def test_the_ts_holds_every_string_pylupdate5_extracts(tmp_path):
    if shutil.which("pylupdate5") is None:
        pytest.skip("pylupdate5 is not installed (Debian: pyqt5-dev-tools, tools/install_debian_packages.sh)")
    fresh = tmp_path / "fresh.ts"
    subprocess.run(["pylupdate5", *map(str, I18N_SOURCES), "-ts", str(fresh)], check=True, capture_output=True)
    extracted = set(ts_messages(fresh, "@default"))
    # strings in a class context would come from self.tr() (context: the class), which tr() never finds
    other_contexts = {node.findtext("name") for node in ET.parse(fresh).getroot().iter("context")} - {"@default"}
    assert other_contexts == set()
    assert len(extracted) > 200
    in_ts = set(ts_messages(TS, "LabelMigration"))
    assert sorted(extracted - in_ts) == [], "run `make translations`"
    assert sorted(in_ts - extracted) == [], "run `make translations`"


def test_the_qm_is_compiled_from_the_ts(tmp_path):
    if shutil.which("lrelease") is None:
        pytest.skip("lrelease is not installed (Debian: qttools5-dev-tools, tools/install_debian_packages.sh)")
    compiled = tmp_path / "labelmigration_de.qm"
    subprocess.run(["lrelease", "-silent", str(TS), "-qm", str(compiled)], check=True, capture_output=True)
    assert compiled.read_bytes() == QM.read_bytes(), "run `make translations`"


def test_backend_labels_from_the_core_are_marked_for_translation():
    from labelmigration.core.search import BACKENDS

    messages = ts_messages(TS, "LabelMigration")
    assert [name for name, info in BACKENDS.items() if not messages.get(info.label)] == []
