"""The plugin's limits as Processing settings: Settings > Options > Processing > Providers > Label Migration.

Each limit of core.util.limits is one setting (key LABELMIGRATION_<NAME>, stored by QGIS under
Processing/Configuration/). An environment variable of the same name wins over the stored value, so
that qgis_process runs and scripts can set a limit without touching the profile.
"""
import logging
import math
import os
from dataclasses import fields, replace

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.util.limits import LIMIT_NAMES, SETTING_TITLES, Limits

LOG = logging.getLogger(__name__)
PREFIX = "LABELMIGRATION_"
WHERE = ("in Settings > Options > Processing > Providers > Label Migration (or the environment variable "
         + PREFIX + "{NAME})")
MAX_SECONDS = 1e6
_DEFAULTS = {field.name: field.default for field in fields(Limits)}
# core.util.limits.SETTING_TITLES, marked here for the translation files (the core has no Qt)
TITLES_FOR_TRANSLATION = (
    QT_TR_NOOP("Largest raster (megapixels)"), QT_TR_NOOP("Largest array in memory (MB, 0 = half the memory)"),
    QT_TR_NOOP("Largest metadata file (MB)"), QT_TR_NOOP("Connection timeout (s)"), QT_TR_NOOP("Read timeout (s)"),
    QT_TR_NOOP("Stalled download timeout (s)"), QT_TR_NOOP("Give up retrying after (s)"))


def setting_key(name: str) -> str:
    return PREFIX + name.upper()


def register(group: str) -> None:
    """Show the limits in the Processing options under the provider's group (from provider.load()).
    Without QGIS's Processing plugin (a bare script) there is no options page: the limits still apply
    from the stored settings and the environment."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig, Setting
    except ImportError:
        return

    from .algorithm import tr

    for name in LIMIT_NAMES:
        ProcessingConfig.addSetting(Setting(group, setting_key(name), tr(SETTING_TITLES[name]),
                                            float(_DEFAULTS[name]), valuetype=Setting.FLOAT))
    ProcessingConfig.readSettings()


def unregister() -> None:
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:
        return

    for name in LIMIT_NAMES:
        if setting_key(name) in ProcessingConfig.settings:
            ProcessingConfig.removeSetting(setting_key(name))


def limits_in_force() -> Limits:
    """The limits from the environment, else the stored settings, else the defaults. A value that is
    not a number, or not above zero, is ignored with a warning in the log (0 stays for the memory
    limit, where it means 'half of the machine's memory')."""
    settings = QgsSettings()
    values = {}
    for name in LIMIT_NAMES:
        key = setting_key(name)
        raw = os.environ.get(key)
        if raw in (None, ""):
            raw = settings.value("Processing/Configuration/" + key, None)
        if raw in (None, ""):
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            LOG.warning("The setting %s = %r is not a number; using %s", key, raw, _DEFAULTS[name])
            continue
        too_long = name.endswith("_s") and value > MAX_SECONDS  # sockets refuse timeouts beyond this
        if not math.isfinite(value) or value < 0 or (value == 0 and name != "max_memory_mb") or too_long:
            LOG.warning("The setting %s = %r is out of range; using %s", key, raw, _DEFAULTS[name])
            continue
        values[name] = value
    limits = replace(Limits(), **values)
    return replace(limits, where_to_change=WHERE)
