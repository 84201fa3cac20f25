"""What the scene search dock asks of the Processing algorithms and how it shows their answer, without widgets:
the searchscenes and downloadscenes parameter dictionaries for the dock's choices, the result table's columns
and rows, and the feedback that keeps an algorithm's errors for the dock's message bar. The tests call these
functions directly.
"""
from typing import Any, Dict, List, Optional

from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProcessingFeedback, QgsVectorLayer
from qgis.PyQt.QtCore import QT_TR_NOOP, QDate, Qt

from ..core.search import BACKEND_CHOICES, BACKEND_NAMES, DEFAULT_BACKEND
from ..core.search.base import DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT
from ..core.search.scene import PRODUCT_LEVELS, TABLE_COLUMNS
from ..qgis_common.translation import tr

SEARCH_ALGORITHM = "labelmigration:searchscenes"
DOWNLOAD_ALGORITHM = "labelmigration:downloadscenes"
LOCAL_BACKEND = BACKEND_NAMES.index("local")  # BACKEND_NAMES: the order of the algorithms' BACKEND enum
_TITLES = {"label": QT_TR_NOOP("Label"), "rank": QT_TR_NOOP("Rank"), "title": QT_TR_NOOP("Title"),
           "datetime": QT_TR_NOOP("Date and time"), "cloud_cover": QT_TR_NOOP("Cloud %"),
           "coverage_pct": QT_TR_NOOP("Coverage %"), "offset_days": QT_TR_NOOP("Offset (days)"),
           "backend": QT_TR_NOOP("Backend")}
COLUMNS = tuple((name, _TITLES[name]) for name in TABLE_COLUMNS)
FEATURE_ID_ROLE = Qt.ItemDataRole.UserRole + 1


def search_parameters(footprints, date_field: Optional[str] = None, date: Optional[QDate] = None,
                      days_before: int = DEFAULT_DAYS_BEFORE, days_after: int = DEFAULT_DAYS_AFTER,
                      max_cloud: float = DEFAULT_MAX_CLOUD, product: int = PRODUCT_LEVELS.index(DEFAULT_PRODUCT),
                      backend: int = BACKEND_NAMES.index(DEFAULT_BACKEND), url: str = "", authcfg: str = "",
                      output: str = "memory:") -> Dict[str, Any]:
    """The searchscenes parameters for the dock's choices.

    ``footprints`` a layer (or layer id); ``date_field`` each label's date, else ``date`` for all labels;
    ``product`` and ``backend`` the indexes of the algorithm's enums (PRODUCT_LEVELS, BACKEND_NAMES order).
    """
    parameters: Dict[str, Any] = {
        "FOOTPRINTS": footprints, "DAYS_BEFORE": int(days_before), "DAYS_AFTER": int(days_after),
        "MAX_CLOUD": float(max_cloud), "PRODUCT": int(product), "BACKEND": int(backend),
        "URL": (url or "").strip(), "OUTPUT": output,
    }
    if date_field:
        parameters["DATE_FIELD"] = date_field
    elif date is not None and date.isValid():
        parameters["DATE"] = date.toString(Qt.DateFormat.ISODate)
    if authcfg:
        parameters["AUTHCFG"] = authcfg
    return parameters


def download_parameters(scenes_layer_id: str, folder: str, authcfg: str = "") -> Dict[str, Any]:
    """The downloadscenes parameters: only the selected features of the scene layer."""
    parameters: Dict[str, Any] = {
        "SCENES": QgsProcessingFeatureSourceDefinition(scenes_layer_id, selectedFeaturesOnly=True),
        "FOLDER": folder,
    }
    if authcfg:
        parameters["AUTHCFG"] = authcfg
    return parameters


def result_rows(layer: QgsVectorLayer) -> List[Dict[str, Any]]:
    """One dict per scene feature (the table's columns, plus fid and quicklook), ordered by label then rank."""
    names = layer.fields().names()
    rows = []
    for feature in layer.getFeatures():
        row = {name: (feature[name] if name in names else None) for name, _title in COLUMNS}
        row["fid"] = feature.id()
        row["quicklook"] = feature["quicklook"] if "quicklook" in names else None
        rows.append(row)
    rows.sort(key=lambda r: (str(r["label"]), r["rank"] if isinstance(r["rank"], int) else 0, r["fid"]))
    return rows


def display_value(value) -> str:
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return ""
    if hasattr(value, "toString") and hasattr(value, "isValid"):  # QDateTime
        return value.toString("yyyy-MM-dd HH:mm:ss")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def url_placeholder(backend: int) -> str:
    return BACKEND_CHOICES[backend].default_url or tr("folder")


class ErrorKeepingFeedback(QgsProcessingFeedback):
    """Keeps the algorithm's error messages for the dock's message bar."""

    def __init__(self):
        super().__init__()
        self.errors: List[str] = []

    def reportError(self, error, fatalError=False):  # noqa: N802 (QGIS's name)
        self.errors.append(error)
        super().reportError(error, fatalError)
