"""The scene search dock: its parameters, its background search, its table, quicklooks and download selection."""
import datetime as dt

import pytest

from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis
SIZE = 546
ULX, ULY = 699960.0, 5400000.0


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dock-archive")
    for day, cloud in ((18, 0.5), (14, 0.5), (16, 40.0)):
        make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, day, 10, 25, 59),
                          cloud_cover=cloud)
    return folder


def footprint_layer():
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QDate

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=label:string&field=date:date", "footprints", "memory")
    features = []
    for index, day in enumerate((15, 17)):
        feature = QgsFeature(layer.fields())
        x0, y0 = ULX + 1000 + index * 1500, ULY - 3000
        feature.setGeometry(QgsGeometry.fromWkt(
            f"POLYGON(({x0} {y0},{x0 + 1000} {y0},{x0 + 1000} {y0 + 1000},{x0} {y0 + 1000},{x0} {y0}))"))
        feature.setAttributes([f"label_{index}", QDate(2020, 8, day)])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def fill(dock, layer, folder):
    from labelmigration.ui.search_dock_requests import LOCAL_BACKEND

    dock.layer_combo.setLayer(layer)
    dock.date_field_combo.setField("date")
    dock.max_cloud.setValue(5)
    dock.backend_combo.setCurrentIndex(LOCAL_BACKEND)
    dock.url_edit.setText(str(folder))


def test_pure_parameter_builders():
    from qgis.core import QgsProcessingFeatureSourceDefinition
    from qgis.PyQt.QtCore import QDate

    from labelmigration.ui.search_dock_requests import download_parameters, search_parameters, url_placeholder

    assert search_parameters("layer", None, QDate(2020, 8, 15), backend=3, url=" /data ") == {
        "FOOTPRINTS": "layer", "DAYS_BEFORE": 10, "DAYS_AFTER": 10, "MAX_CLOUD": 30.0, "PRODUCT": 1, "BACKEND": 3,
        "URL": "/data", "OUTPUT": "memory:", "DATE": "2020-08-15"}
    with_field = search_parameters("layer", "date", QDate(2020, 8, 15), authcfg="abc1234")
    assert with_field["DATE_FIELD"] == "date" and "DATE" not in with_field and with_field["AUTHCFG"] == "abc1234"
    download = download_parameters("scenes_id", "/tmp/out")
    assert isinstance(download["SCENES"], QgsProcessingFeatureSourceDefinition)
    assert download["SCENES"].selectedFeaturesOnly and download["SCENES"].source.staticValue() == "scenes_id"
    assert download["FOLDER"] == "/tmp/out" and "AUTHCFG" not in download
    assert url_placeholder(3) == "folder" and url_placeholder(0).startswith("https://")


def test_dock_defaults(dock):
    assert dock.days_before.value() == 10 and dock.days_after.value() == 10
    # the algorithms' defaults (core.search.base; MAX_CLOUD 30 since issue 17)
    assert dock.max_cloud.value() == 30.0 and dock.product_combo.currentText() == "L2A"
    assert [dock.backend_combo.itemData(i) for i in range(dock.backend_combo.count())] == \
        ["cdse-odata", "stac", "dhus", "local"]
    dock.backend_combo.setCurrentIndex(3)
    assert dock.url_edit.placeholderText() == "folder" and dock.browse_button.isEnabled()
    dock.backend_combo.setCurrentIndex(0)
    assert dock.url_edit.placeholderText().startswith("https://") and not dock.browse_button.isEnabled()


def test_search_in_the_background_matches_processing_run(dock, wait_idle, run, archive, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProject
    from qgis.PyQt.QtGui import QColor, QImage

    layer = footprint_layer()
    QgsProject.instance().addMapLayer(layer)
    fill(dock, layer, archive)
    parameters = dock.current_search_parameters()
    assert parameters["FOOTPRINTS"] is layer and parameters["DATE_FIELD"] == "date" and parameters["BACKEND"] == 3
    assert dock.start_search()
    assert dock.is_busy() and not dock.search_button.isEnabled()
    wait_idle(dock, 60)
    assert dock.result_layer is not None and dock.result_layer.id() in QgsProject.instance().mapLayers()

    expected = processing.run("labelmigration:searchscenes", parameters, context=QgsProcessingContext())["OUTPUT"]
    wanted = sorted((f["label"], f["rank"], f["title"]) for f in expected.getFeatures())
    rows = dock.table_rows()
    assert len(wanted) == 4
    assert [(r[0], int(r[1]), r[2]) for r in rows] == wanted
    assert all(r[7] == "local" and r[5] == "100.0" for r in rows)

    # a selection of one row: the download names that row's feature only
    dock.table.selectRow(2)
    from labelmigration.ui.search_dock_requests import FEATURE_ID_ROLE
    fid = dock.table.item(2, 0).data(FEATURE_ID_ROLE)
    dock.folder_widget.setFilePath(str(tmp_path / "downloads"))
    download = dock.current_download_parameters()
    assert dock.result_layer.selectedFeatureIds() == [fid]
    assert download["SCENES"].selectedFeaturesOnly
    assert download["SCENES"].source.staticValue() == dock.result_layer.id()
    assert download["FOLDER"] == str(tmp_path / "downloads")
    selected = list(dock.result_layer.getSelectedFeatures())
    assert [(f["label"], f["rank"], f["title"]) for f in selected] == [wanted[2]]

    # a local quicklook is shown for the current row
    image = QImage(64, 32, QImage.Format_RGB32)
    image.fill(QColor(200, 40, 40))
    quicklook = tmp_path / "quicklook.png"
    assert image.save(str(quicklook))
    dock.rows[1]["quicklook"] = str(quicklook)
    dock.table.setCurrentCell(1, 0)
    assert dock.quicklook_label.pixmap() is not None and not dock.quicklook_label.pixmap().isNull()
    dock.table.setCurrentCell(0, 0)
    assert dock.quicklook_label.text() == "No quicklook"


def test_errors_show_in_the_dock(dock, wait_idle, archive):
    from qgis.core import QgsProject

    dock.backend_combo.setCurrentIndex(3)
    assert not dock.start_search()  # no footprint layer
    assert "footprint layer" in dock.status_label.text()
    layer = footprint_layer()
    QgsProject.instance().addMapLayer(layer)
    fill(dock, layer, archive)
    dock.date_field_combo.setField("")
    dock.date_edit.setEnabled(True)
    dock.backend_combo.setCurrentIndex(0)
    dock.url_edit.setText("http://127.0.0.1:9/odata/v1")
    assert dock.start_search()
    wait_idle(dock, 60)
    assert "Cannot reach http://127.0.0.1:9/" in dock.status_label.text()
    assert dock.search_button.isEnabled() and not dock.cancel_button.isEnabled()
    assert not dock.start_download()
    assert "Select the scenes" in dock.status_label.text()


def test_download_selected_runs_as_a_task_and_reports_in_the_dock(dock, wait_idle, archive, tmp_path):
    """Scenes of a local archive are already on disk: downloadscenes has nothing to fetch and says so."""
    from qgis.core import QgsProject

    layer = footprint_layer()
    QgsProject.instance().addMapLayer(layer)
    fill(dock, layer, archive)
    assert dock.start_search()
    wait_idle(dock, 60)
    dock.table.selectRow(0)
    dock.folder_widget.setFilePath(str(tmp_path / "downloads"))
    assert dock.start_download()
    assert dock.is_busy() and dock.cancel_button.isEnabled() and not dock.download_button.isEnabled()
    wait_idle(dock, 60)
    assert dock.result_layer.selectedFeatureCount() == 1
    assert "no scenes to download" in dock.status_label.text()
    assert dock.download_button.isEnabled() and not dock.cancel_button.isEnabled()
