"""QgsField types for every supported QGIS: QGIS 3.38 and later (and QGIS 4, where QVariant.Type is gone) take
QMetaType.Type and deprecate the QVariant.Type constructor; QGIS 3.22 to 3.36 take QVariant.Type only."""
from qgis.core import Qgis
from qgis.PyQt.QtCore import QMetaType, QVariant

if Qgis.versionInt() >= 33800 or not hasattr(QVariant, "Type"):
    STRING, INT, LONG_LONG, DOUBLE, BOOL, DATE, DATE_TIME = (
        QMetaType.Type.QString, QMetaType.Type.Int, QMetaType.Type.LongLong, QMetaType.Type.Double,
        QMetaType.Type.Bool, QMetaType.Type.QDate, QMetaType.Type.QDateTime)
else:
    STRING, INT, LONG_LONG, DOUBLE, BOOL, DATE, DATE_TIME = (
        QVariant.Type.String, QVariant.Type.Int, QVariant.Type.LongLong, QVariant.Type.Double, QVariant.Type.Bool,
        QVariant.Type.Date, QVariant.Type.DateTime)

# the type words of plain-data field lists (core.search.scene.LAYER_FIELDS)
BY_TYPE_WORD = {"string": STRING, "int": INT, "long": LONG_LONG, "double": DOUBLE, "bool": BOOL, "date": DATE,
                "datetime": DATE_TIME}
