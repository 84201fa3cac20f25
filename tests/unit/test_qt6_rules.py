"""Qt6 (QGIS 4) readiness of the plugin's sources, checked with tools/qt6_check.py: the rules of QGIS's own
PyQt5-to-PyQt6 migration script (scripts/pyqt5_to_pyqt6/pyqt5_to_pyqt6.py in the QGIS repository), applied as a
check to every module the plugin zip ships.

Where the expected answers come from: each rule's sample below is a construct that QGIS's script rewrites or
warns about (its rename tables, its warnings for desktop(), addAction, QFontMetrics.width, activated[str],
QRegExp and resources_rc), and the enum members are looked up in the QGIS under test, as that script does.
"""
import importlib.util
import textwrap

import pytest

from labelmigration.tests.conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location("labelmigration_qt6_check", REPO_ROOT / "tools" / "qt6_check.py")
qt6_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qt6_check)

PLUGIN_SOURCES = qt6_check.plugin_sources(REPO_ROOT)


def findings(tmp_path, source: str, enums=False) -> list:
    path = tmp_path / "sample.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return [f.split(": ", 1)[1] for f in qt6_check.check_file(path, tmp_path, enums=enums)]


def rules(tmp_path, source: str, enums=False) -> list:
    return [f.split("]")[0].lstrip("[") for f in findings(tmp_path, source, enums)]


def test_the_scan_covers_what_the_zip_ships():
    names = {str(p.relative_to(REPO_ROOT)) for p in PLUGIN_SOURCES}
    assert {"plugin.py", "processing/provider.py", "ui/search_dock.py", "core/migration/run.py"} <= names
    assert not any(name.startswith(("tests/", "tools/", "training/", "bench/")) for name in names)


def test_the_plugin_needs_no_change_for_qt6():
    pytest.importorskip("qgis.core", reason="the enum rule looks the members up in QGIS's Python API")
    offenders = [finding for path in PLUGIN_SOURCES for finding in qt6_check.check_file(path, REPO_ROOT, enums=True)]
    assert offenders == []


@pytest.mark.parametrize("source, rule", [
    ("from PyQt5.QtCore import Qt\n", "pyqt-import"),
    ("import sip\n", "pyqt-import"),
    ("from qgis.PyQt.Qt import Qt\n", "pyqt-import"),
    ("dialog.exec_()\n", "exec_"),
    ("menu.exec_(point)\n", "exec_"),
    ("class D:\n    def exec_(self):\n        pass\n", "exec_"),
    ("printer.print_(doc)\n", "exec_"),
    ("kind = QVariant.Int\n", "qvariant"),
    ("kind = QVariant.Type.Double\n", "qvariant"),
    ("value = QVariant()\n", "qvariant"),
    ("value = QVariant(QVariant.String)\n", "qvariant"),
    ("app = qApp\n", "qapp"),
    ("qApp.processEvents()\n", "qapp"),
    ("t = QDateTime(2020, 1, 2, 3, 4, 5, 6, Qt.UTC)\n", "qdatetime"),
    ("t = QDateTime(QDate(2020, 1, 2))\n", "qdatetime"),
    ("geometry = QApplication.desktop().screenGeometry()\n", "desktop"),
    ("menu.addAction(icon, 'Run', self, self.run)\n", "add-action"),
    ("w = label.fontMetrics().width('abc')\n", "font-width"),
    ("w = QFontMetrics(font).width('abc')\n", "font-width"),
    ("combo.activated[str].connect(f)\n", "activated-str"),
    ("from qgis.PyQt.QtCore import QRegExp\n", "removed-class"),
    ("from qgis.PyQt.QtWidgets import QDesktopWidget\n", "removed-class"),
    ("from qgis.PyQt.QtWebKitWidgets import QWebView\n", "removed-class"),
    ("from . import resources_rc\n", "resources"),
    ("import resources\n", "resources"),
    ("icon = QIcon(':/plugins/labelmigration/icon.png')\n", "resources"),
    ("from qgis.PyQt.QtGui import QAction\n", "action-import"),
    ("from qgis.PyQt.QtWidgets import QActionGroup\n", "action-import"),
    ("button = Qt.MidButton\n", "renamed-enum"),
    ("role = Qt.BackgroundColorRole\n", "renamed-enum"),
    ("hint = QPainter.HighQualityAntialiasing\n", "renamed-enum"),
])
def test_each_rule_finds_what_qgis_script_rewrites(tmp_path, source, rule):
    assert rules(tmp_path, source) == [rule]


@pytest.mark.parametrize("source", [
    "from qgis.PyQt.QtWidgets import QAction, QMenu\n",
    "dialog.exec()\n",
    "kind = QMetaType.Type.QString\n",
    "from qgis.core import NULL\nvalue = NULL\n",
    "app = QApplication.instance()\n",
    "t = QDateTime(QDate(2020, 1, 2), QTime(0, 0, 0))\n",
    "menu.addAction(action)\n",
    "w = label.fontMetrics().horizontalAdvance('abc')\n",
    "combo.textActivated.connect(f)\n",
    "from qgis.PyQt.QtCore import QRegularExpression\n",
    "icon = QIcon(os.path.join(os.path.dirname(__file__), 'icon.svg'))\n",
    "button = Qt.MouseButton.MiddleButton\n",
    "values = mapping['str']\n",
])
def test_what_qt6_accepts_is_not_reported(tmp_path, source):
    assert findings(tmp_path, source) == []


@pytest.mark.parametrize("source", [
    # the QgsField types of qgis_common/field_types.py: QVariant.Type only where QGIS is older than 3.38
    "if Qgis.versionInt() >= 33800:\n    STRING = QMetaType.Type.QString\nelse:\n    STRING = QVariant.Type.String\n",
    "if not hasattr(QVariant, 'Type'):\n    pass\nelse:\n    kind = QVariant.Int\n",
    "if QT_VERSION < 0x060000:\n    from qgis.PyQt.QtWidgets import QActionGroup\n",
    "try:\n    from qgis.PyQt.QtGui import QActionGroup\nexcept ImportError:\n"
    "    from qgis.PyQt.QtWidgets import QActionGroup\n",
])
def test_code_guarded_for_older_versions_is_allowed(tmp_path, source):
    assert findings(tmp_path, source) == []


def test_an_unguarded_twin_of_guarded_code_is_still_reported(tmp_path):
    source = ("if Qgis.versionInt() >= 33800:\n    A = QMetaType.Type.QString\nelse:\n    A = QVariant.Type.String\n"
              "B = QVariant.Type.String\n")
    found = findings(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("[qvariant]")
    assert qt6_check.check_file(tmp_path / "sample.py", tmp_path)[0].startswith("sample.py:5:")


def test_the_enum_rule_names_the_scoped_member(tmp_path):
    pytest.importorskip("qgis.core", reason="the scan looks the enums up in QGIS's Python API")
    from qgis.core import QgsProcessingParameterNumber, QgsWkbTypes

    found = findings(tmp_path, """\
        from qgis.core import QgsProcessingParameterNumber, QgsWkbTypes
        from qgis.PyQt.QtCore import Qt
        from qgis.PyQt.QtWidgets import QSizePolicy
        a = Qt.AlignLeft | Qt.AlignmentFlag.AlignRight
        b = QSizePolicy.Expanding, QSizePolicy.Policy.Fixed
        c = QgsProcessingParameterNumber.Double, QgsProcessingParameterNumber.Type.Integer
        d = QgsWkbTypes.Polygon, QgsWkbTypes.geometryType
        """, enums=True)
    # the enum's own name differs between QGIS versions (3.22: Type; 3.40: the Qgis enum it became, e.g.
    # ProcessingNumberParameterType): the scan names what this QGIS has
    number, wkb = type(QgsProcessingParameterNumber.Double).__name__, type(QgsWkbTypes.Polygon).__name__
    assert found == ["[unscoped-enum] Qt.AlignLeft -> Qt.AlignmentFlag.AlignLeft",
                     "[unscoped-enum] QSizePolicy.Expanding -> QSizePolicy.Policy.Expanding",
                     f"[unscoped-enum] QgsProcessingParameterNumber.Double -> QgsProcessingParameterNumber.{number}.Double",
                     f"[unscoped-enum] QgsWkbTypes.Polygon -> QgsWkbTypes.{wkb}.Polygon"]


def test_pyrcc_output_is_reported(tmp_path):
    source = "qt_resource_data = b''\ndef qInitResources():\n    QtCore.qRegisterResourceData(3, a, b, c)\n"
    assert rules(tmp_path, source) == ["resources"]


def test_the_command_line_reports_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("dialog.exec_()\n", encoding="utf-8")
    assert qt6_check.main([str(bad)]) == 1
    assert "[exec_]" in capsys.readouterr().out
    good = tmp_path / "good.py"
    good.write_text("dialog.exec()\n", encoding="utf-8")
    assert qt6_check.main([str(good)]) == 0
