"""Label Migration QGIS plugin: move labels drawn on other imagery onto Sentinel-2 scenes."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import LabelMigrationPlugin

    return LabelMigrationPlugin(iface)
