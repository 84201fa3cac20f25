"""QGIS helpers shared by processing/ (the algorithms) and ui/ (docks, dialogs, menu); neither imports the other's
modules, the ui reaches the algorithms only by their ids ("labelmigration:<id>").

translation: tr, the plugin's one translation context. styles: how outputs look on the map. results_group: a
migration's outputs as a layer group. network: QGIS's credentials and proxy for the core's HTTP. field_types:
QgsField types for every supported QGIS.
"""
