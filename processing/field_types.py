"""QgsField types that work on QGIS 3 (QgsField takes QVariant.Type) and on QGIS 4 / PyQt6, where
QVariant.Type is gone and QgsField takes QMetaType.Type."""
from qgis.PyQt.QtCore import QMetaType, QVariant

if hasattr(QVariant, "Type"):
    STRING, INT, LONG_LONG, DOUBLE, BOOL, DATE, DATE_TIME = (
        QVariant.Type.String, QVariant.Type.Int, QVariant.Type.LongLong, QVariant.Type.Double, QVariant.Type.Bool,
        QVariant.Type.Date, QVariant.Type.DateTime)
else:
    STRING, INT, LONG_LONG, DOUBLE, BOOL, DATE, DATE_TIME = (
        QMetaType.Type.QString, QMetaType.Type.Int, QMetaType.Type.LongLong, QMetaType.Type.Double,
        QMetaType.Type.Bool, QMetaType.Type.QDate, QMetaType.Type.QDateTime)
