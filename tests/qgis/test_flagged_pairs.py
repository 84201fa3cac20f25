"""Issue 19 on the desktop: the migrated layer group styles the footprints of moved and flagged pairs apart (a rule
per kind, with a legend), and the dock's "Migrate labels" tab lists the shift and change columns and filters to the
flagged pairs.

The output folder is written here as a run writes it (matches.csv, footprints.gpkg, pair rasters): seven pairs with
change scores around 0.02 and one at 0.40 (the outlier: above the median by more than three robust standard
deviations, core.quality.change.outliers), one label moved by its shift, one pair moved and flagged at once.
"""
import numpy as np
import pytest
from osgeo import ogr, osr

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis

# label, change_score, shift_x_m, shift_y_m, shift_confidence, label_moved_m
PAIRS = (("calm_a", "0.01", "", "", "", ""), ("calm_b", "0.02", "", "", "", ""), ("calm_c", "0.03", "", "", "", ""),
         ("calm_d", "0.02", "0.4", "-0.3", "0.2", "0"), ("calm_e", "0.01", "", "", "", ""),
         ("shifted", "0.02", "20.1", "9.8", "0.93", "22.36"), ("harvested", "0.40", "", "", "", ""),
         ("both", "0.45", "-10.2", "0.1", "0.88", "10.2"))
FLAGGED = {"harvested", "both"}
MOVED = {"shifted", "both"}


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    from labelmigration.core.migration.footprints import FOOTPRINT_FIELDS
    from labelmigration.core.migration.match_table import write_matches

    folder = tmp_path_factory.mktemp("flagged-output")
    (folder / "images").mkdir()
    (folder / "labels").mkdir()
    rows = []
    for index, (name, change, shift_x, shift_y, confidence, moved) in enumerate(PAIRS):
        x0, y0 = 700000.0 + index * 400.0, 5390000.0
        write_raster(folder / "images" / f"{name}.tif", np.full((3, 20, 20), 100 + index, np.uint16),
                     crs="EPSG:32632", transform=from_origin(x0, y0, 10, 10))
        write_raster(folder / "labels" / f"{name}.tif", np.ones((20, 20), np.uint8), crs="EPSG:32632",
                     transform=from_origin(x0, y0, 10, 10))
        rows.append(dict(label=name, scene="S2B_MSIL2A_20200818T102559_N0509_R108_T32UPU_20200818T130012",
                         status="done", image=f"images/{name}.tif", label_raster=f"labels/{name}.tif",
                         offset_days="2", change_score=change, shift_x_m=shift_x, shift_y_m=shift_y,
                         shift_confidence=confidence, label_moved_m=moved, box=(x0, y0 - 200.0, x0 + 200.0, y0)))
    rows.append(dict(label="no_scene", status="no scene", reason="No scene.", box=None))
    write_matches(str(folder / "matches.csv"), [{k: v for k, v in row.items() if k != "box"} for row in rows])

    utm, wgs84 = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(32632)
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    utm.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(folder / "footprints.gpkg"))
    layer = source.CreateLayer("footprints", srs=wgs84, geom_type=ogr.wkbMultiPolygon)
    for name, kind in FOOTPRINT_FIELDS:
        layer.CreateField(ogr.FieldDefn(name, kind))
    for row in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, kind in FOOTPRINT_FIELDS:
            if row.get(name, "") != "":
                feature.SetField(name, float(row[name]) if kind == ogr.OFTReal else row[name])
        if row["box"]:
            left, bottom, right, top = row["box"]
            polygon = ogr.CreateGeometryFromWkt(
                f"POLYGON(({left} {bottom},{right} {bottom},{right} {top},{left} {top},{left} {bottom}))")
            polygon.AssignSpatialReference(utm)
            polygon.TransformTo(wgs84)
            feature.SetGeometry(ogr.ForceToMultiPolygon(polygon))
        layer.CreateFeature(feature)
    source = None
    return folder


def test_pair_quality_marks_moved_and_flagged_pairs(output):
    from labelmigration.qgis_common.results_group import flagged_labels, pair_quality

    rows = pair_quality(str(output))
    assert [row["label"] for row in rows] == [pair[0] for pair in PAIRS] + ["no_scene"]  # matches.csv order
    assert {row["label"] for row in rows if row["flagged"]} == FLAGGED == flagged_labels(str(output))
    assert {row["label"] for row in rows if row["moved"]} == MOVED  # calm_d: measured, moved 0 m
    assert not rows[-1]["flagged"] and not rows[-1]["moved"]


def test_footprints_styled_by_rule_with_a_legend(output, qgis_app):
    from qgis.core import QgsExpression, QgsExpressionContext, QgsProject, QgsRuleBasedRenderer

    from labelmigration.qgis_common.results_group import load_results_group
    from labelmigration.qgis_common.styles import FLAGGED_COLOUR, FOOTPRINT_COLOUR, MOVED_COLOUR

    project = QgsProject()
    loaded = load_results_group(project, str(output))
    footprints = loaded["group"].children()[0].layer()
    assert footprints.name() == "Label footprints" and footprints.featureCount() == len(PAIRS) + 1
    renderer = footprints.renderer()
    assert isinstance(renderer, QgsRuleBasedRenderer) and footprints.labelsEnabled()
    rules = renderer.rootRule().children()
    assert [rule.label() for rule in rules] == ["Change outlier: check the label", "Label moved by its shift",
                                                "Other pairs"]
    assert [rule.symbol().symbolLayer(0).strokeColor().name() for rule in rules] == \
        [FLAGGED_COLOUR, MOVED_COLOUR, FOOTPRINT_COLOUR]
    assert rules[2].isElse()
    assert [item.label() for item in renderer.legendSymbolItems()] == [rule.label() for rule in rules]

    def matching(rule):
        expression = QgsExpression(rule.filterExpression())
        found = set()
        for feature in footprints.getFeatures():
            context = QgsExpressionContext()
            context.setFeature(feature)
            if expression.evaluate(context):
                found.add(feature["label"])
        return found

    assert matching(rules[0]) == FLAGGED
    assert matching(rules[1]) == MOVED


def test_the_outlines_are_drawn_in_their_colours(output, qgis_app):
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsProject
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    from labelmigration.qgis_common.results_group import load_results_group
    from labelmigration.qgis_common.styles import FLAGGED_COLOUR, MOVED_COLOUR

    project = QgsProject()
    footprints = load_results_group(project, str(output))["group"].children()[0].layer()
    footprints.setLabelsEnabled(False)
    settings = QgsMapSettings()
    settings.setLayers([footprints])
    settings.setDestinationCrs(footprints.crs())
    extent = footprints.extent()
    extent.grow(extent.width() * 0.05)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(800, 200))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width()) for y in range(0, image.height(), 2)}
    assert FLAGGED_COLOUR in colours and MOVED_COLOUR in colours


def test_dock_lists_shift_and_change_and_filters_flagged(dock, output):
    from labelmigration.ui.migrate_panel import RESULT_COLUMNS

    dock._migration_finished({"OUTPUT_FOLDER": str(output), "REPORT": "", "PAIRS": len(PAIRS), "FAILED": 0})
    panel = dock.migrate_panel
    table = panel.results_table
    headers = [table.horizontalHeaderItem(column).text() for column in range(table.columnCount())]
    for title in ("Shift x (m)", "Shift y (m)", "Shift confidence", "Moved (m)", "Change score", "Check"):
        assert title in headers
    assert table.rowCount() == len(PAIRS) + 1
    column = {name: index for index, (name, _title) in enumerate(RESULT_COLUMNS)}
    cells = {table.item(row, column["label"]).text(): row for row in range(table.rowCount())}
    shifted = cells["shifted"]
    assert table.item(shifted, column["shift_x_m"]).text() == "20.1"
    assert table.item(shifted, column["shift_y_m"]).text() == "9.8"
    assert table.item(shifted, column["label_moved_m"]).text() == "22.36"
    assert table.item(cells["calm_d"], column["label_moved_m"]).text() == ""  # measured, not moved
    assert table.item(cells["harvested"], column["change_score"]).text() == "0.40"
    assert table.item(cells["harvested"], column["flagged"]).text() == "change"
    assert table.item(cells["calm_a"], column["flagged"]).text() == ""
    assert panel.visible_labels() == [pair[0] for pair in PAIRS] + ["no_scene"]
    panel.flagged_only_check.setChecked(True)
    assert panel.visible_labels() == ["harvested", "both"]
    assert all(table.isRowHidden(row) for label, row in cells.items() if label not in FLAGGED)
    panel.flagged_only_check.setChecked(False)
    assert len(panel.visible_labels()) == len(PAIRS) + 1
