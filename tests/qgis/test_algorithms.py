"""The four algorithms through processing.run in headless QGIS: outputs, styles and bad input."""
import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.rasters import from_origin, origin_in, write_png, write_raster

pytestmark = pytest.mark.qgis

ALGORITHMS = {"geocodemask", "maskfootprint", "cropscene", "stackbands", "safetogeotiff", "searchscenes",
              "downloadscenes", "evaluatesegmentation", "cloudmask", "segment", "rasterizelabels", "migratelabels",
              "exportdataset", "trainsegmentation"}


@pytest.fixture
def inputs(tmp_path):
    """A UTM scene, an EPSG:3035 reference inside it, and a PNG label drawn on the reference."""
    rows, cols = np.mgrid[0:200, 0:200]
    scene = np.stack([(b + 1) * 1000 + rows + cols for b in range(4)]).astype(np.uint16)
    scene_path = write_raster(tmp_path / "scene.tif", scene, "EPSG:32632", from_origin(690_000, 5_340_000, 10, 10),
                              nodata=0, descriptions=("B02", "B03", "B04", "B08"))
    x, y = origin_in("EPSG:32632", "EPSG:3035", 690_500, 5_339_500)
    reference = np.full((3, 150, 150), 120, np.uint8)
    reference_path = write_raster(tmp_path / "20200812_ref.tif", reference, "EPSG:3035", from_origin(x, y, 3, 3),
                                  nodata=0)
    label = np.zeros((150, 150), np.uint8)
    label[30:120, 40:110] = 1
    label_path = write_png(tmp_path / "20200812_label.png", label)
    return dict(scene=str(scene_path), reference=str(reference_path), label=str(label_path), folder=tmp_path)


def test_provider_lists_the_algorithms_with_help_and_icon(provider):
    algorithms = {a.name(): a for a in provider.algorithms()}
    assert set(algorithms) == ALGORITHMS
    assert provider.id() == "labelmigration" and not provider.icon().isNull()
    for algorithm in algorithms.values():
        assert "Example" in algorithm.shortHelpString()
        for parameter in algorithm.parameterDefinitions():
            assert f"({parameter.name()})" in algorithm.shortHelpString(), (algorithm.name(), parameter.name())
        assert not algorithm.icon().isNull()


def test_geocode_footprint_crop_chain(run, inputs):
    folder = inputs["folder"]
    geocoded = run("geocodemask", {"INPUT": inputs["label"], "REFERENCE": inputs["reference"],
                                   "OUTPUT": str(folder / "geocoded.tif")})["OUTPUT"]
    with rasterio.open(geocoded) as out, rasterio.open(inputs["reference"]) as ref:
        assert out.transform == ref.transform and out.crs == ref.crs and out.count == 2

    footprints = run("maskfootprint", {"INPUT": [geocoded], "OUTPUT": str(folder / "footprints.gpkg")})["OUTPUT"]
    from qgis.core import QgsVectorLayer
    layer = QgsVectorLayer(footprints, "footprints", "ogr")
    assert layer.isValid() and layer.crs().authid() == "EPSG:4326"
    feature = next(layer.getFeatures())
    assert feature["label"] == "geocoded"
    assert feature["area_m2"] == pytest.approx(150 * 150 * 9, rel=1e-4)
    assert feature["date"].toString("yyyy-MM-dd") == "2020-08-12"  # from the geocoded file's metadata

    result = run("cropscene", {"SCENE": inputs["scene"], "LABEL": geocoded,
                               "OUTPUT_IMAGE": str(folder / "image.tif"), "OUTPUT_LABEL": str(folder / "label.tif")})
    assert result["COVERED_PERCENT"] == pytest.approx(100.0)
    with rasterio.open(result["OUTPUT_IMAGE"]) as image, rasterio.open(result["OUTPUT_LABEL"]) as label:
        assert (image.transform, image.width, image.height) == (label.transform, label.width, label.height)
        assert image.count == 4


def test_crop_band_selection(run, inputs, tmp_path):
    geocoded = run("geocodemask", {"INPUT": inputs["label"], "REFERENCE": inputs["reference"],
                                   "OUTPUT": str(tmp_path / "g.tif")})["OUTPUT"]
    result = run("cropscene", {"SCENE": inputs["scene"], "LABEL": geocoded, "BANDS": [3, 2, 1],
                               "OUTPUT_IMAGE": str(tmp_path / "i.tif"), "OUTPUT_LABEL": str(tmp_path / "l.tif")})
    with rasterio.open(result["OUTPUT_IMAGE"]) as image:
        assert image.descriptions == ("B04", "B03", "B02")


def test_outputs_load_styled(run, inputs, tmp_path, loads_results_without_a_desktop):
    from qgis.core import (QgsMultiBandColorRenderer, QgsPalettedRasterRenderer, QgsProcessingContext,
                           QgsProject)

    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    geocoded = str(tmp_path / "g.tif")
    run("geocodemask", {"INPUT": inputs["label"], "REFERENCE": inputs["reference"], "OUTPUT": geocoded})
    parameters = {"SCENE": inputs["scene"], "LABEL": geocoded, "OUTPUT_IMAGE": "TEMPORARY_OUTPUT",
                  "OUTPUT_LABEL": "TEMPORARY_OUTPUT"}
    import processing
    results = processing.runAndLoadResults("labelmigration:cropscene", parameters, context=context)
    layers = {layer.source(): layer for layer in project.mapLayers().values()}
    image, label = layers[results["OUTPUT_IMAGE"]], layers[results["OUTPUT_LABEL"]]
    assert isinstance(image.renderer(), QgsMultiBandColorRenderer)
    assert (image.renderer().redBand(), image.renderer().greenBand(), image.renderer().blueBand()) == (3, 2, 1)
    assert isinstance(label.renderer(), QgsPalettedRasterRenderer)
    assert label.renderer().opacity() == pytest.approx(0.6)
    background = [c for c in label.renderer().classes() if c.value == 0]
    assert background and background[0].color.alpha() == 0
    first_class = [c for c in label.renderer().classes() if c.value == 1]
    # core.labels.class_colours.PALETTE's first colour (tab20 blue), the one segment writes into class 1's colour
    # table too
    assert first_class[0].color.name() == "#1f77b4"

    results = processing.runAndLoadResults("labelmigration:maskfootprint",
                                           {"INPUT": [geocoded], "OUTPUT": "TEMPORARY_OUTPUT"}, context=context)
    footprints = [layer for layer in project.mapLayers().values() if layer.type() == layer.VectorLayer][-1]
    assert footprints.labelsEnabled()
    assert footprints.renderer().symbol().symbolLayer(0).brushStyle() == 0  # Qt.NoBrush
    project.removeAllMapLayers()


def test_labels_without_a_colour_table_take_the_core_palette(qgis_app):
    """qgis_common/styles has no palette of its own: class i is core.labels.class_colours.palette_colour(i) as a
    QColor."""
    from labelmigration.core.labels.class_colours import PALETTE, palette_colour
    from labelmigration.qgis_common.styles import class_colour

    for index in range(1, len(PALETTE) + 3):
        assert class_colour(index).getRgb() == (*palette_colour(index), 255)


def test_stackbands(run, tmp_path):
    paths = [str(write_raster(tmp_path / f"{name}_patch_1.tif", np.full((10, 10), i, np.uint16)))
             for i, name in enumerate(["red", "green", "blue", "nir"])]
    output = run("stackbands", {"INPUTS": paths, "OUTPUT": str(tmp_path / "stack.tif")})["OUTPUT"]
    with rasterio.open(output) as out:
        assert out.descriptions == ("red", "green", "blue", "nir")
    output = run("stackbands", {"INPUTS": paths[:2], "BAND_NAMES": "B04, B03", "OUTPUT": str(tmp_path / "s2.tif")})
    with rasterio.open(output["OUTPUT"]) as out:
        assert out.descriptions == ("B04", "B03")


def expect_failure(run, algorithm, parameters, pattern):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as error:
        run(algorithm, parameters)
    import re
    assert re.search(pattern, str(error.value)), str(error.value)
    assert "Traceback" not in str(error.value)


def test_bad_input_messages(run, inputs, tmp_path):
    expect_failure(run, "cropscene", {"SCENE": inputs["scene"], "LABEL": inputs["scene"],
                                      "OUTPUT_IMAGE": inputs["scene"], "OUTPUT_LABEL": str(tmp_path / "l.tif")},
                   r"would overwrite the input SCENE")
    far = write_raster(tmp_path / "far.tif", np.ones((10, 10), np.uint8), "EPSG:32632", from_origin(0, 100, 10, 10))
    expect_failure(run, "cropscene", {"SCENE": inputs["scene"], "LABEL": str(far),
                                      "OUTPUT_IMAGE": str(tmp_path / "i.tif"), "OUTPUT_LABEL": str(tmp_path / "l.tif")},
                   r"far\.tif' and the scene .* do not overlap")
    assert not (tmp_path / "i.tif").exists()
    no_crs = write_raster(tmp_path / "nocrs.tif", np.ones((150, 150), np.uint8))
    expect_failure(run, "geocodemask", {"INPUT": inputs["label"], "REFERENCE": str(no_crs),
                                        "OUTPUT": str(tmp_path / "g.tif")}, r"nocrs\.tif' is not georeferenced")
    text = tmp_path / "label.png"
    text.write_text("not an image")
    expect_failure(run, "geocodemask", {"INPUT": str(text), "REFERENCE": inputs["reference"],
                                        "OUTPUT": str(tmp_path / "g.tif")}, r"label\.png' cannot be read as an image")
    empty = write_raster(tmp_path / "empty.tif", np.full((5, 5), 255, np.uint8), "EPSG:32632",
                         from_origin(690_000, 5_340_000, 10, 10), nodata=255)
    expect_failure(run, "maskfootprint", {"INPUT": [str(empty)], "OUTPUT": "TEMPORARY_OUTPUT"}, r"empty\.tif' is empty")
