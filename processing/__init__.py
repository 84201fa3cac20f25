"""QGIS Processing adapters: each algorithm maps its parameters onto one core call."""
