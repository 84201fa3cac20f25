"""INPUT_SCALING through processing.run: the issue's acceptance test and the implausible-input warning.

Expected answers: the On Cloud N chips hold DN with reflectance = DN / 10000 and no offset (their
tests/data/README.md: 2018-2020 acquisitions, before processing baseline 04.00), so the same scene
as float32 reflectance is DN x 1e-4; the bundled cloud model must give the same mask for both (and for
reflectance whose bands declare scale 1 / offset 0 explicitly: a VRT keeps that declaration, GTiff
drops it).
"""
import numpy as np
import pytest
import rasterio
from osgeo import gdal

from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis


@pytest.fixture
def chip(data_dir, tmp_path):
    chips = np.load(data_dir / "imagery/oncloudn/oncloudn_2chips.npz")
    dn = chips["image"][1]
    crs, origin = f"EPSG:{int(chips['epsg'][1])}", from_origin(*map(float, chips["ul_xy"][1]), 10, 10)
    names = ("B02", "B03", "B04", "B08")
    paths = {"dn": write_raster(tmp_path / "dn.tif", dn, crs, origin, descriptions=names),
             "reflectance": write_raster(tmp_path / "reflectance.tif", (dn * 1e-4).astype(np.float32), crs,
                                         origin, descriptions=names)}
    explicit = str(tmp_path / "reflectance_scale1.vrt")
    gdal.Translate(explicit, str(paths["reflectance"]), format="VRT")
    dataset = gdal.Open(explicit, gdal.GA_Update)
    for number in range(1, 5):
        dataset.GetRasterBand(number).SetScale(1.0)
        dataset.GetRasterBand(number).SetOffset(0.0)
    dataset = None
    paths["explicit"] = explicit
    return {key: str(value) for key, value in paths.items()}


def test_reflectance_and_dn_geotiffs_of_one_scene_give_the_same_cloud_mask(run, chip, tmp_path):
    masks = {}
    for key, path in chip.items():
        result = run("cloudmask", {"INPUT": path, "OUTPUT": str(tmp_path / f"mask_{key}.tif")})
        assert result["WARNINGS"] == "", (key, result["WARNINGS"])
        with rasterio.open(result["OUTPUT"]) as dataset:
            masks[key] = dataset.read(1)
    assert set(np.unique(masks["dn"])) == {0, 1}  # a real chip with clouds and clear sky
    np.testing.assert_array_equal(masks["reflectance"], masks["dn"])
    np.testing.assert_array_equal(masks["explicit"], masks["dn"])


def test_reflectance_forced_through_dn_warns_in_the_log_and_the_results(run, chip, tmp_path):
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.warnings, self.infos = [], []

        def pushWarning(self, text):  # noqa: N802 (QGIS's name)
            self.warnings.append(text)

        def pushInfo(self, text):  # noqa: N802 (QGIS's name)
            self.infos.append(text)

    import processing

    feedback = Recorder()
    result = processing.run("labelmigration:cloudmask", {"INPUT": chip["reflectance"], "INPUT_SCALING": 1,
                                                         "OUTPUT": str(tmp_path / "forced.tif")}, feedback=feedback)
    assert "implausible for this model" in result["WARNINGS"] and "INPUT_SCALING" in result["WARNINGS"]
    assert any("implausible for this model" in w for w in feedback.warnings)
    assert any(i.startswith("Input scaling: raw DN with the model's scaling (asked for)") for i in feedback.infos)


def test_segment_and_migratelabels_declare_the_same_parameter(provider):
    from qgis.core import QgsApplication

    labels = None
    for algorithm_id in ("cloudmask", "segment", "migratelabels"):
        algorithm = QgsApplication.processingRegistry().algorithmById(f"labelmigration:{algorithm_id}")
        definition = algorithm.parameterDefinition("INPUT_SCALING")
        assert definition is not None and definition.defaultValue() == 0, algorithm_id
        assert labels is None or definition.options() == labels
        labels = definition.options()
        assert algorithm.outputDefinition("WARNINGS") is not None
    assert len(labels) == 4
