"""Rules the sources keep: a QGIS-free core and Qt access only through qgis.PyQt."""
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
