"""Rules the sources keep: a QGIS-free core, Qt access only through qgis.PyQt, and a ui that reaches the algorithms
only by their ids (what both need is in qgis_common/)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = [p for p in ROOT.rglob("*.py")
                  if not {".venv", ".venv-stac", "tests", "training", "bench", "demo", "tools"} & set(p.relative_to(ROOT).parts)]


def test_core_has_no_qgis_imports():
    offenders = [str(p) for p in (ROOT / "core").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+(qgis|PyQt5|PyQt6)\b", p.read_text(), re.MULTILINE)]
    assert offenders == []


def test_qt_only_through_qgis_pyqt():
    offenders = [str(p) for p in PLUGIN_SOURCES
                 if re.search(r"^\s*(from|import)\s+(PyQt5|PyQt6|PySide\d?)\b", p.read_text(), re.MULTILINE)]
    assert PLUGIN_SOURCES and offenders == []


# "from ..processing", "from labelmigration.processing", "from .. import processing"; QGIS's own processing plugin
# ("import processing", to run algorithms by id) is allowed
PLUGIN_PROCESSING_IMPORT = re.compile(
    r"^\s*(from\s+(\.\.|labelmigration\.)processing\b|from\s+(\.\.|labelmigration)\s+import\s+.*\bprocessing\b"
    r"|import\s+labelmigration\.processing\b)", re.MULTILINE)


def test_ui_does_not_import_processing():
    """ui/ runs the algorithms by id (processing.run, execAlgorithmDialog with "labelmigration:<id>"); the helpers
    both sides need live in qgis_common/, which imports neither."""
    ui_offenders = [str(p) for p in (ROOT / "ui").rglob("*.py") if PLUGIN_PROCESSING_IMPORT.search(p.read_text())]
    common = list((ROOT / "qgis_common").rglob("*.py"))
    common_offenders = [str(p) for p in common
                        if re.search(r"^\s*from\s+\.\.(processing|ui)\b", p.read_text(), re.MULTILINE)]
    assert common and ui_offenders == [] and common_offenders == []


def test_the_processing_import_rule_catches_every_form():
    for line in ("from ..processing.algorithm import tr", "    from ..processing import styles",
                 "from labelmigration.processing.migrate_labels import x", "from .. import processing",
                 "from .. import core, processing", "import labelmigration.processing.styles"):
        assert PLUGIN_PROCESSING_IMPORT.search(line), line
    for line in ("import processing", "    import processing  # QGIS's", "from processing.core import x",
                 "from ..qgis_common.styles import style_footprints"):
        assert not PLUGIN_PROCESSING_IMPORT.search(line), line
