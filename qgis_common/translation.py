"""tr: every string of the plugin is translated in one context, "LabelMigration" (ui/i18n.py installs the
translation; ``make translations`` extracts the strings into i18n/labelmigration_de.ts)."""
from qgis.PyQt.QtCore import QCoreApplication

CONTEXT = "LabelMigration"


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)
