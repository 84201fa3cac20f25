"""Training pipeline for Label Migration's cloud model (PyTorch; outside the plugin zip).

Run from the repository root: ``python -m training.cloud --help``. Modules here import only
numpy, GDAL, torch and each other (relative imports), never QGIS or the plugin's processing code.
"""
