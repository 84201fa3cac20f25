#!/usr/bin/env python3
"""Qt6 (QGIS 4) readiness of Python sources: the rules of QGIS's PyQt5-to-PyQt6 migration script, as a check.

QGIS ships scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py to rewrite plugins for QGIS 4. This check applies the same
rules (read from that script; written here as a checker, not a rewriter) and reports each place that would need
rewriting or that the script only warns about, so that a plugin that also runs on QGIS 3 stays ready:

  pyqt-import        Qt imported from PyQt5/PyQt6/sip/PySide instead of qgis.PyQt; qgis.PyQt.Qt (gone in Qt6)
  exec_              exec_() / print_() calls and exec_ definitions (PyQt6: exec())
  qvariant           QVariant.Int and other QVariant.Type members (gone: QMetaType.Type), QVariant() and
                     QVariant(QVariant.X) as NULL (use qgis.core.NULL)
  qapp               the qApp global (use QApplication.instance())
  qdatetime          QDateTime(y, m, d, h, mi, s, ms, ts) and QDateTime(QDate(...)) (use QDate and QTime)
  desktop            QApplication.desktop() (QDesktopWidget is removed)
  add-action         addAction(...) with 4 or more arguments (overloads changed; make the QAction first)
  font-width         QFontMetrics.width() (removed; horizontalAdvance())
  activated-str      signal[str] overload selection such as activated[str] (removed)
  removed-class      classes and modules Qt6 removed: QRegExp, QDesktopWidget, QTextCodec, QtWebKit, ...
  resources          compiled resources (resources_rc, pyrcc output, ':/plugins/...' paths): no pyrcc in PyQt6
  action-import      QAction, QShortcut, QActionGroup: Qt6 moved them to QtGui; QGIS 3.22 has them only in
                     qgis.PyQt.QtWidgets and QGIS 4 keeps aliases there for QAction and QShortcut
  renamed-enum       Qt.MidButton, Qt.TextColorRole, Qt.BackgroundColorRole, QPainter.HighQualityAntialiasing
  unscoped-enum      enum members reached through their class (Qt.AlignLeft; PyQt6 needs Qt.AlignmentFlag.AlignLeft),
                     found by looking the names up in QGIS's Python API (skipped when qgis cannot be imported)

Code meant for old versions only is allowed where it is guarded: inside an `if` that tests a version
(versionInt, QT_VERSION, PYQT_VERSION) or hasattr(), or inside a `try` that catches ImportError/AttributeError.

    python3 tools/qt6_check.py [FILE_OR_FOLDER ...]   (default: the plugin's shipped sources; exit 1 on findings)
"""
import ast
import enum
import importlib
import inspect
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What the plugin zip does not ship: only ever run against the developer's QGIS (tools/package.py ships the rest).
NOT_SHIPPED = {".venv", ".venv-stac", "tests", "training", "bench", "demo", "tools", "i18n", "test-output",
               "demo-output", ".git"}
QT_MODULES = re.compile(r"^qgis\.(core|gui|analysis|PyQt\.\w+)$")
FOREIGN_QT = re.compile(r"^(PyQt5|PyQt6|PySide\d?|sip)(\.|$)")
GUARD_TEST = re.compile(r"versionInt|QT_VERSION|PYQT_VERSION|hasattr\(")
GUARD_EXCEPTIONS = {"ImportError", "AttributeError", "ModuleNotFoundError", "Exception"}
REMOVED_CLASSES = {
    "QRegExp": "QRegularExpression", "QRegExpValidator": "QRegularExpressionValidator",
    "QDesktopWidget": "QScreen (QApplication.screens())", "QTextCodec": "Python's codecs",
    "QMatrix": "QTransform", "QGLWidget": "QOpenGLWidget", "QSound": "QSoundEffect",
    "QStringRef": "str", "QLinkedList": "a list", "QTime.start": "QElapsedTimer",
}
REMOVED_MODULES = {"QtWebKit", "QtWebKitWidgets", "QtXmlPatterns", "QtScript", "QtScriptTools", "QtMacExtras",
                   "QtX11Extras", "QtWinExtras", "QtOpenGL"}
RENAMED_ENUMS = {("Qt", "MidButton"): "Qt.MouseButton.MiddleButton",
                 ("Qt", "TextColorRole"): "Qt.ItemDataRole.ForegroundRole",
                 ("Qt", "BackgroundColorRole"): "Qt.ItemDataRole.BackgroundRole",
                 ("QPainter", "HighQualityAntialiasing"): "QPainter.RenderHint.Antialiasing"}
# QGIS 4's qgis.PyQt.QtWidgets aliases these two to QtGui; QActionGroup only from QGIS 3.44's templates on.
ACTION_CLASSES = {"QAction", "QShortcut", "QActionGroup"}
ACTION_ALIASED = {"QAction", "QShortcut"}


def plugin_sources(root: Path = REPO) -> list:
    """The .py files the plugin zip ships."""
    return sorted(p for p in root.rglob("*.py") if not NOT_SHIPPED & set(p.relative_to(root).parts))


class _Checker(ast.NodeVisitor):
    def __init__(self, path: Path, source: str, label: str):
        self.path, self.source, self.label = path, source, label
        self.findings = []
        self.guards = 0
        self.qt_names = {}  # local name -> (module, name), for the enum lookups

    # --- guards ----------------------------------------------------------------------------------
    def visit_If(self, node):
        guarded = bool(GUARD_TEST.search(ast.get_source_segment(self.source, node.test) or ""))
        self.visit(node.test)
        self.guards += guarded
        for child in node.body + node.orelse:
            self.visit(child)
        self.guards -= guarded

    def visit_Try(self, node):
        caught = set()
        for handler in node.handlers:
            types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught |= {getattr(t, "id", getattr(t, "attr", "")) for t in types if t is not None}
            if handler.type is None:
                caught.add("Exception")
        guarded = bool(caught & GUARD_EXCEPTIONS)  # the body and its fallback each run on some versions only
        self.guards += guarded
        for child in node.body + node.handlers:
            self.visit(child)
        self.guards -= guarded
        for child in node.orelse + node.finalbody:
            self.visit(child)

    visit_TryStar = visit_Try

    def add(self, node, rule: str, message: str):
        if not self.guards:
            self.findings.append(f"{self.label}:{node.lineno}: [{rule}] {message}")

    # --- imports -----------------------------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            if FOREIGN_QT.match(alias.name):
                self.add(node, "pyqt-import", f"import {alias.name}: import Qt through qgis.PyQt")
            if alias.name.split(".")[-1] in ("resources_rc", "resources"):
                self.add(node, "resources", f"import {alias.name}: compiled resources are gone in PyQt6 "
                                            "(load icons and .ui files by path)")

    def visit_ImportFrom(self, node):
        module = node.module or ""
        names = {alias.name for alias in node.names}
        if FOREIGN_QT.match(module):
            self.add(node, "pyqt-import", f"from {module} import ...: import Qt through qgis.PyQt")
        if module == "qgis.PyQt.Qt":
            self.add(node, "pyqt-import", "qgis.PyQt.Qt is gone in Qt6: import Qt from qgis.PyQt.QtCore")
        if module.split(".")[-1] in REMOVED_MODULES:
            self.add(node, "removed-class", f"{module} is removed in Qt6")
        if {"resources_rc", "resources"} & names:
            self.add(node, "resources", "compiled resources are gone in PyQt6 (load icons and .ui files by path)")
        for name in sorted(names & set(REMOVED_CLASSES)):
            self.add(node, "removed-class", f"{name} is removed in Qt6: use {REMOVED_CLASSES[name]}")
        for name in sorted(names & ACTION_CLASSES):
            if module == "qgis.PyQt.QtWidgets" and name in ACTION_ALIASED:
                continue
            self.add(node, "action-import",
                     f"{name} from {module}: QGIS 3.22 has it only in qgis.PyQt.QtWidgets"
                     + ("" if name in ACTION_ALIASED else ", QGIS 4.0 only in qgis.PyQt.QtGui: import it in a "
                                                          "try/except ImportError"))
        if QT_MODULES.match(module):
            for alias in node.names:
                self.qt_names[alias.asname or alias.name] = (module, alias.name)
        self.generic_visit(node)

    # --- definitions and calls ------------------------------------------------------------------------
    def visit_FunctionDef(self, node):
        if node.name in ("exec_", "print_"):
            self.add(node, "exec_", f"def {node.name}: PyQt6 names it {node.name[:-1]}")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        attr = func.attr if isinstance(func, ast.Attribute) else None
        if attr == "addAction" and len(node.args) >= 4:
            self.add(node, "add-action", "addAction with 4 or more arguments: make the QAction, then addAction(it)")
        if attr == "desktop" and not node.args:
            self.add(node, "desktop", "QApplication.desktop() (QDesktopWidget) is removed in Qt6: use screens()")
        if name == "QVariant" and (not node.args or (
                len(node.args) == 1 and isinstance(node.args[0], ast.Attribute)
                and isinstance(node.args[0].value, ast.Name) and node.args[0].value.id == "QVariant")):
            self.add(node, "qvariant", "QVariant() as NULL: use qgis.core.NULL")
            return
        if name == "QDateTime" and (len(node.args) == 8 or (
                len(node.args) == 1 and isinstance(node.args[0], ast.Call)
                and isinstance(node.args[0].func, ast.Name) and node.args[0].func.id == "QDate")):
            self.add(node, "qdatetime", "this QDateTime constructor is gone in Qt6: QDateTime(QDate(...), QTime(...))")
        if attr == "width" and isinstance(func.value, ast.Call) and (
                (isinstance(func.value.func, ast.Attribute) and func.value.func.attr == "fontMetrics")
                or (isinstance(func.value.func, ast.Name) and func.value.func.id in ("QFontMetrics", "QFontMetricsF"))):
            self.add(node, "font-width", "QFontMetrics.width() is removed in Qt6: horizontalAdvance()")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in ("exec_", "print_"):
            self.add(node, "exec_", f".{node.attr}: PyQt6 names it {node.attr[:-1]}")
        if isinstance(node.value, ast.Name):
            owner = node.value.id
            if owner == "QVariant" and node.attr[:1].isupper():
                self.add(node, "qvariant", f"QVariant.{node.attr}: QVariant.Type is gone in PyQt6 "
                                           "(QMetaType.Type; QgsField types: qgis_common/field_types.py)")
            if (owner, node.attr) in RENAMED_ENUMS:
                self.add(node, "renamed-enum", f"{owner}.{node.attr} is gone in Qt6: "
                                               f"{RENAMED_ENUMS[(owner, node.attr)]}")
            if (owner, node.attr) == ("QTime", "start"):
                self.add(node, "removed-class", "QTime.start() is removed in Qt6: QElapsedTimer")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == "qApp" and isinstance(node.ctx, ast.Load):
            self.add(node, "qapp", "qApp is gone in PyQt6: QApplication.instance()")

    def visit_Subscript(self, node):
        if isinstance(node.value, ast.Attribute) and isinstance(node.slice, ast.Name) and node.slice.id in ("str", "int"):
            self.add(node, "activated-str", f"{node.value.attr}[{node.slice.id}]: overloaded signals are "
                                            "selected by name in Qt6 (e.g. textActivated)")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value.startswith(":/plugins/"):
            self.add(node, "resources", f"{node.value!r}: a compiled-resource path; load the file by its path")


def _is_enum_member(value) -> bool:
    # sip enums of PyQt5/QGIS 3 are int subclasses; scoped QGIS enums and PyQt6 enums are Python enums
    return (isinstance(value, int) and type(value) not in (int, bool)) or isinstance(value, enum.Enum)


def unscoped_enums(tree: ast.AST, qt_names: dict, label: str) -> list:
    """'label:line [unscoped-enum] Class.Member -> Class.Enum.Member' for each enum member reached through its
    class, looked up in QGIS's Python API."""
    findings = []
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                    and n.value.id in qt_names), key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        module, name = qt_names[node.value.id]
        try:
            owner = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if not inspect.isclass(owner) or inspect.isclass(getattr(owner, node.attr, None)):
            continue
        value = getattr(owner, node.attr, None)
        if _is_enum_member(value):
            findings.append(f"{label}:{node.lineno}: [unscoped-enum] {node.value.id}.{node.attr} -> "
                            f"{node.value.id}.{type(value).__name__}.{node.attr}")
    return findings


def qgis_available() -> bool:
    try:
        importlib.import_module("qgis.core")
    except ImportError:
        return False
    return True


def check_file(path: Path, root: Path = None, enums: bool = None) -> list:
    """The findings of one source file (enums: look unscoped members up in QGIS; default when qgis imports)."""
    source = path.read_text(encoding="utf-8")
    label = str(path.relative_to(root)) if root else str(path)
    tree = ast.parse(source, str(path))
    checker = _Checker(path, source, label)
    checker.visit(tree)
    findings = checker.findings
    if enums if enums is not None else qgis_available():
        findings += unscoped_enums(tree, checker.qt_names, label)
    if "qt_resource_data" in source and "qRegisterResourceData" in source:
        findings.append(f"{label}:1: [resources] pyrcc output: compiled resources are gone in PyQt6")
    return sorted(findings, key=lambda f: (f.split(":")[0], int(f.split(":")[1])))


def main(argv=None) -> int:
    args = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    files = [f for a in args for f in (sorted(a.rglob("*.py")) if a.is_dir() else [a])] if args else plugin_sources()
    enums = qgis_available()
    findings = [f for path in files for f in check_file(path, REPO if path.resolve().is_relative_to(REPO) else None,
                                                        enums)]
    print("\n".join(findings) if findings else f"{len(files)} files: nothing to change for Qt6")
    if not enums:
        print("note: qgis is not importable here, so unscoped enum members were not looked up")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
