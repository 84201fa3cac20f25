"""The plugin's translation (i18n/labelmigration_<locale>.qm) for QGIS's interface language.

Every string of the plugin goes through ``QCoreApplication.translate("LabelMigration", ...)`` (the ``tr``
helpers); ``make translations`` extracts them into i18n/labelmigration_de.ts and compiles the .qm.
"""
import os
from typing import Optional

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

from ..core.util.plugin_files import PLUGIN_DIR

I18N_DIR = os.path.join(PLUGIN_DIR, "i18n")
_installed: Optional[QTranslator] = None  # the application does not own the translator: keep it alive


def qgis_locale(settings: Optional[QgsSettings] = None) -> str:
    """QGIS's interface locale, e.g. 'de_DE': the one chosen in Options > General when the override is on
    (locale/overrideFlag, locale/userLocale), else the system's, as QGIS itself decides."""
    settings = settings if settings is not None else QgsSettings()
    if settings.value("locale/overrideFlag", False, type=bool):
        user_locale = settings.value("locale/userLocale", "", type=str)
        if user_locale:
            return user_locale
    return QLocale.system().name()


def install_translator(locale: Optional[str] = None) -> Optional[QTranslator]:
    """Install the translation for ``locale`` (default: QGIS's) and return it; None when the plugin has
    none for that language (English, the source language, needs none). A translator installed by an
    earlier call is removed first, so a plugin reload does not stack them."""
    global _installed
    remove_translator()
    translator = QTranslator()
    # load() falls back from labelmigration_de_DE.qm to labelmigration_de.qm
    if not translator.load(f"labelmigration_{locale or qgis_locale()}", I18N_DIR):
        return None
    if not QCoreApplication.installTranslator(translator):
        return None
    _installed = translator
    return translator


def remove_translator() -> None:
    """Uninstall the translator install_translator() installed (plugin unload)."""
    global _installed
    if _installed is not None:
        QCoreApplication.removeTranslator(_installed)
        _installed = None
