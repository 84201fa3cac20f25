"""Qt6 readiness of the plugin's sources: Qt only through qgis.PyQt, and no enum members PyQt6 rejects.

PyQt6 (QGIS 4) drops the unscoped access to enum members (``Qt.AlignLeft``, ``QSizePolicy.Expanding``,
``QgsWkbTypes.Polygon``): only ``Qt.AlignmentFlag.AlignLeft`` and the like remain, and PyQt5 5.15 and
QGIS 3.22 accept those already. ``QVariant.Type`` is gone too (QgsField takes QMetaType.Type there), and
so is ``exec_()``.

The scan covers what the plugin zip ships (the sources test_source_rules.py scans): tests, tools, bench,
demo and training only ever run against the developer's QGIS, and the GUI test scripts call the QGIS API
of the version under test, so they are left out.
"""
import ast
import enum
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {".venv", ".venv-stac", "tests", "training", "bench", "demo", "tools", "i18n"}
PLUGIN_SOURCES = sorted(p for p in ROOT.rglob("*.py") if not NOT_SHIPPED & set(p.relative_to(ROOT).parts))
QT_MODULES = re.compile(r"^qgis\.(core|gui|PyQt\.\w+)$")


def _imported_classes(tree: ast.Module) -> dict:
    """{local name: (module, name)} for the names imported from qgis.core, qgis.gui and qgis.PyQt.*."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and QT_MODULES.match(node.module):
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def _is_enum_member(value) -> bool:
    # sip enums of PyQt5/QGIS 3 are int subclasses; scoped QGIS enums are Python enums
    return (isinstance(value, int) and type(value) not in (int, bool)) or isinstance(value, enum.Enum)


def unscoped_enum_uses(path: Path, root: Path = ROOT) -> list:
    """'file:line Class.Member -> Class.Enum.Member' for each unscoped enum member in one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    imported = _imported_classes(tree)
    offenders = []
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported):
            continue
        module, name = imported[node.value.id]
        owner = getattr(importlib.import_module(module), name, None)
        if not inspect.isclass(owner) or inspect.isclass(getattr(owner, node.attr, None)):
            continue
        value = getattr(owner, node.attr, None)
        if _is_enum_member(value):
            scoped = f"{node.value.id}.{type(value).__name__}.{node.attr}"
            offenders.append(f"{path.relative_to(root)}:{node.lineno} {node.value.id}.{node.attr} -> {scoped}")
    return offenders


def test_the_scan_covers_the_plugin():
    names = {str(p.relative_to(ROOT)) for p in PLUGIN_SOURCES}
    assert {"plugin.py", "processing/provider.py", "ui/search_dock.py"} <= names
    assert not any(name.startswith(("tests/", "tools/")) for name in names)


def test_qt_is_imported_only_through_qgis_pyqt():
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in PLUGIN_SOURCES
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if re.match(r"\s*(from|import)\s+(PyQt5|PyQt6|PySide\d?|sip)\b", line)]
    assert offenders == []


def test_no_calls_that_pyqt6_removed():
    # exec_() and print_() are gone in PyQt6; QVariant.Type too (field types: processing/field_types.py)
    pattern = re.compile(r"\.(exec_|print_)\(|\bQVariant\.(?!Type\b)[A-Z]\w*")
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in PLUGIN_SOURCES
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


def test_enum_members_are_scoped():
    pytest.importorskip("qgis.core", reason="the scan looks the enums up in QGIS's Python API")
    offenders = [offender for p in PLUGIN_SOURCES for offender in unscoped_enum_uses(p)]
    assert offenders == []


def test_the_enum_scan_finds_unscoped_members(tmp_path):
    pytest.importorskip("qgis.core", reason="the scan looks the enums up in QGIS's Python API")
    source = tmp_path / "sample.py"
    source.write_text(
        "from qgis.core import QgsProcessingParameterNumber, QgsWkbTypes\n"
        "from qgis.PyQt.QtCore import Qt\n"
        "from qgis.PyQt.QtWidgets import QSizePolicy\n"
        "a = Qt.AlignLeft | Qt.AlignmentFlag.AlignRight\n"
        "b = QSizePolicy.Expanding, QSizePolicy.Policy.Fixed\n"
        "c = QgsProcessingParameterNumber.Double, QgsProcessingParameterNumber.Type.Integer\n"
        "d = QgsWkbTypes.Polygon, QgsWkbTypes.geometryType\n", encoding="utf-8")
    from qgis.core import QgsProcessingParameterNumber, QgsWkbTypes

    found = [line.split(" ", 1)[1] for line in unscoped_enum_uses(source, tmp_path)]
    # the enum's own name differs between QGIS versions (3.22: Type; 3.40: the Qgis enum it became, e.g.
    # ProcessingNumberParameterType): the scan names what this QGIS has
    number, wkb = type(QgsProcessingParameterNumber.Double).__name__, type(QgsWkbTypes.Polygon).__name__
    assert found == ["Qt.AlignLeft -> Qt.AlignmentFlag.AlignLeft",
                     "QSizePolicy.Expanding -> QSizePolicy.Policy.Expanding",
                     f"QgsProcessingParameterNumber.Double -> QgsProcessingParameterNumber.{number}.Double",
                     f"QgsWkbTypes.Polygon -> QgsWkbTypes.{wkb}.Polygon"]
