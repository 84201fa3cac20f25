"""Deprecation warnings raised from the plugin's own modules fail the test that triggers them (tests/conftest.py
PLUGIN_DEPRECATIONS_FAIL): what QGIS 3.x deprecates is what QGIS 4 removed or changed."""
import warnings

import pytest


def _warn_from(module_name: str, code: str, namespace: dict):
    """Run code as if it were in the module module_name (the warning filters match the caller's __name__)."""
    exec(compile(code, f"<{module_name}>", "exec"), {"__name__": module_name, **namespace})


def test_a_deprecation_from_a_plugin_module_is_an_error():
    with pytest.raises(DeprecationWarning):
        _warn_from("labelmigration.processing.example", "warnings.warn('old API', DeprecationWarning)",
                   {"warnings": warnings})


def test_a_deprecation_from_the_tests_or_another_package_is_not():
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        for name in ("labelmigration.tests.unit.example", "otherpackage.module"):
            _warn_from(name, "warnings.warn('old API', DeprecationWarning)", {"warnings": warnings})


def test_a_qgis_deprecation_through_sip_counts():
    core = pytest.importorskip("qgis.core", reason="QGIS's own deprecation warnings")
    if core.Qgis.versionInt() < 33800:
        pytest.skip(f"QGIS {core.Qgis.QGIS_VERSION} does not deprecate QgsField(name, QVariant.Type) (3.38 does)")
    from qgis.PyQt.QtCore import QVariant

    with pytest.raises(DeprecationWarning, match="QgsField constructor is deprecated"):
        _warn_from("labelmigration.processing.example", "QgsField('area', QVariant.Double)",
                   {"QgsField": core.QgsField, "QVariant": QVariant})


def test_the_plugin_field_types_raise_no_deprecation():
    core = pytest.importorskip("qgis.core", reason="QgsField")
    from labelmigration.qgis_common import field_types

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        numeric = {name: core.QgsField("x", getattr(field_types, name)).isNumeric()
                   for name in ("STRING", "INT", "LONG_LONG", "DOUBLE", "BOOL", "DATE", "DATE_TIME")}
        dates = {name: core.QgsField("x", getattr(field_types, name)).isDateOrTime() for name in numeric}
    assert numeric == {"STRING": False, "INT": True, "LONG_LONG": True, "DOUBLE": True, "BOOL": False,
                       "DATE": False, "DATE_TIME": False}
    assert [name for name, is_date in dates.items() if is_date] == ["DATE", "DATE_TIME"]
