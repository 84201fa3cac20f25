"""Enable a plugin in a QGIS profile's settings (QGIS/QGIS3.ini), as the Plugin Manager does."""
import os
import sys

from qgis.PyQt.QtCore import QSettings


def enable(profile_dir: str, plugin: str) -> str:
    path = os.path.join(profile_dir, "QGIS", "QGIS3.ini")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    settings = QSettings(path, QSettings.IniFormat)
    settings.setValue(f"PythonPlugins/{plugin}", True)
    settings.sync()
    return path


if __name__ == "__main__":
    print("Enabled in", enable(sys.argv[1], sys.argv[2]))
