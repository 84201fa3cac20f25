"""Landsat B<n> band names read with the numbering of the sensor a USGS product id names (core.landsat.band_numbering
through core.models.band_selection.select_bands).

Where the expected answers come from: USGS, "What are the band designations for the Landsat satellites?": Landsat 4-5
TM and Landsat 7 ETM+ B1 blue, B2 green, B3 red, B4 near infrared, B5 SWIR 1, B6 thermal, B7 SWIR 2, ETM+ B8
panchromatic; Landsat 8-9 OLI B1 coastal/aerosol, B2 blue, B3 green, B4 red, B5 near infrared, B6 SWIR 1, B7 SWIR 2,
B8 panchromatic, B9 cirrus, TIRS B10 and B11 thermal; Landsat 4-5 MSS B1 green, B2 red, B3 and B4 near infrared (no
blue). Sentinel-2's numbering (ESA's Sentinel-2 MSI band list): B02 blue, B03 green, B04 red, B08 NIR, B11 SWIR
1610 nm (swir16), B12 SWIR 2190 nm (swir22). Product ids follow USGS's naming LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX
(Collection 1 CC = 01, Collection 2 CC = 02); the C2 Level-2 band files are <product id>_SR_B<n>.TIF. Collection 1
products made by USGS ESPA name their files <product id>_sr_band<n>.tif in the sensor's numbering (for example
LC08_L1TP_012031_20160424_20170223_01_T1_sr_band4.tif is OLI's red, LT05's sr_band3 TM's red, as scripts that read
them use them) beside angle files such as <product id>_sensor_azimuth_band4.tif.
"""
import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.core.landsat.band_numbering import product_sensor
from labelmigration.core.models.band_selection import select_bands
from labelmigration.core.models.model_info import ModelInfo
from labelmigration.core.models.onnx_model import Model
from labelmigration.core.util.errors import LabelMigrationError

ETM = "LE07_L1TP_044034_20020101_20200916_02_T1"
TM = "LT05_L2SP_044034_19900101_20200916_02_T1"
OLI = "LC08_L1TP_044034_20200101_20200113_02_T1"
OLI_L2 = "LC09_L2SP_044034_20220101_20220103_02_T1"
ETM_C1 = "LE07_L1TP_044034_20020101_20170101_01_T1"
MSS = "LM05_L1GS_044034_19900101_20200916_02_T2"
OLI_ESPA = "LC08_L1TP_012031_20160424_20170223_01_T1"
TM_ESPA = "LT05_L1TP_044034_19900101_20161001_01_T1"
FOUR = ["blue", "green", "red", "nir"]
SIX = FOUR + ["swir16", "swir22"]


def _tif(path, descriptions):
    """A GeoTIFF written with GDAL, one band per description (values: the band number, so a read shows which)."""
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 4, 4, len(descriptions), gdal.GDT_UInt16)
    dataset.SetGeoTransform((500000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32610)
    dataset.SetProjection(srs.ExportToWkt())
    for number, description in enumerate(descriptions, start=1):
        band = dataset.GetRasterBand(number)
        band.WriteArray(np.full((4, 4), number, np.uint16))
        if description:
            band.SetDescription(description)
    dataset = None
    return str(path)


def _model(bands):
    return Model("m.onnx", None, ModelInfo(bands=list(bands)), "input", len(bands), None)


def _select(path, bands=FOUR, choice=None):
    notes = []
    return select_bands(gdal.Open(path), _model(bands), choice, "input", notes), notes


def _b(numbers, prefix=""):
    return [f"{prefix}B{n}" for n in numbers]


def test_landsat7_etm_stack_is_read_with_etm_numbering(tmp_path):
    """USGS ETM+: blue B1, green B2, red B3, NIR B4, SWIR1 B5, SWIR2 B7 (not Sentinel-2's B2 blue .. B8 NIR)."""
    path = _tif(tmp_path / f"{ETM}_stack.tif", _b(range(1, 9)))
    chosen, notes = _select(path)
    assert chosen == [1, 2, 3, 4]
    assert _select(path, SIX)[0] == [1, 2, 3, 4, 5, 7]
    assert len(notes) == 1 and "Landsat 7 ETM+" in notes[0] and ETM[:9] in notes[0]
    assert "band 2 'B2' green" in notes[0] and "band 8 'B8' pan" in notes[0]


def test_landsat5_tm_level2_stack(tmp_path):
    """USGS TM: the same numbering as ETM+ without B8; B6 is thermal."""
    path = _tif(tmp_path / f"{TM}_SR_stack.tif", _b(range(1, 8), "SR_"))
    assert _select(path)[0] == [1, 2, 3, 4]
    assert _select(path, SIX)[0] == [1, 2, 3, 4, 5, 7]
    assert "Landsat 5 TM" in _select(path)[1][0]


def test_landsat8_oli_stack_is_read_with_oli_numbering(tmp_path):
    """USGS OLI: B1 coastal, blue B2, green B3, red B4, NIR B5, SWIR1 B6, SWIR2 B7."""
    path = _tif(tmp_path / f"{OLI}_B1-7.tif", _b(range(1, 8)))
    chosen, notes = _select(path)
    assert chosen == [2, 3, 4, 5]
    assert _select(path, SIX)[0] == [2, 3, 4, 5, 6, 7]
    assert "Landsat 8 OLI/TIRS" in notes[0] and "band 1 'B1' coastal" in notes[0]


def test_collection2_level2_sr_names_in_any_order(tmp_path):
    """C2 L2 band names SR_B<n>, also with the product id before them, in a shuffled stack: OLI numbering."""
    names = [f"{OLI_L2}_SR_B7", "SR_B5", "SR_B1", "SR_B4", "SR_B2", f"{OLI_L2}_SR_B6", "SR_B3"]
    path = _tif(tmp_path / f"{OLI_L2}_stack.tif", names)
    # blue B2 (band 5), green B3 (7), red B4 (4), NIR B5 (2), SWIR1 B6 (6), SWIR2 B7 (1)
    assert _select(path, SIX)[0] == [5, 7, 4, 2, 6, 1]


def test_collection1_product_id_counts_too(tmp_path):
    path = _tif(tmp_path / f"{ETM_C1}_stack.tif", _b(range(1, 9)))
    assert _select(path)[0] == [1, 2, 3, 4]


def test_vrt_of_undescribed_band_files_takes_the_numbers_of_its_files(tmp_path):
    """A VRT stacking USGS band files (<product id>_B<n>.TIF) in a shuffled order, bands undescribed: the files'
    band numbers (band_sources), ETM+ numbering: blue B1, green B2, red B3, NIR B4."""
    order = [8, 4, 3, 2, 1]
    files = [_tif(tmp_path / f"{ETM}_B{n}.TIF", [""]) for n in order]
    gdal.BuildVRT(str(tmp_path / "stack.vrt"), files, separate=True).FlushCache()
    chosen, notes = _select(str(tmp_path / "stack.vrt"))
    assert chosen == [5, 4, 3, 2] and "band 1 'B8' pan" in notes[0]


def test_espa_collection1_band_names_take_the_sensors_numbering(tmp_path):
    """ESPA's sr_band<n> (and toa_band<n>) names, described bands: OLI blue sr_band2 .. NIR sr_band5; TM blue
    sr_band1 .. NIR sr_band4, SWIR 2 sr_band7."""
    oli = _tif(tmp_path / f"{OLI_ESPA}_sr_stack.tif", [f"{OLI_ESPA}_sr_band{n}" for n in range(1, 8)])
    assert _select(oli, SIX)[0] == [2, 3, 4, 5, 6, 7]
    tm = _tif(tmp_path / f"{TM_ESPA}_toa_stack.tif", [f"toa_band{n}" for n in (1, 2, 3, 4, 5, 7)])
    assert _select(tm, SIX)[0] == [1, 2, 3, 4, 5, 6]


def test_vrt_of_espa_band_files_takes_their_numbers_and_never_an_angle_file(tmp_path):
    """A VRT of undescribed ESPA files, shuffled, with an angle file among them (sensor_azimuth_band4 is not OLI's
    red): blue sr_band2 (VRT band 4), green sr_band3 (3), red sr_band4 (5), NIR sr_band5 (1)."""
    names = ["sr_band5", "sensor_azimuth_band4", "sr_band3", "sr_band2", "sr_band4"]
    files = [_tif(tmp_path / f"{OLI_ESPA}_{name}.tif", [""]) for name in names]
    gdal.BuildVRT(str(tmp_path / "espa.vrt"), files, separate=True).FlushCache()
    assert _select(str(tmp_path / "espa.vrt"))[0] == [4, 3, 5, 1]


def test_without_product_id_sentinel2_numbering_stays_and_a_landsat_like_stack_is_noted(tmp_path):
    """No product id: Sentinel-2's numbering as before (B2 blue, B3 green, B4 red, B8 NIR); B1..B4 present
    together is how a TM/ETM+ stack looks, so the note says how it was read and what to do."""
    path = _tif(tmp_path / "stack.tif", _b(range(1, 9)))
    chosen, notes = _select(path)
    assert chosen == [2, 3, 4, 8]
    assert len(notes) == 1 and "Sentinel-2's numbering" in notes[0] and "BANDS" in notes[0]
    assert _select(path, choice=[1, 2, 3, 4]) == ([1, 2, 3, 4], [])  # band numbers: nothing read by name
    sentinel2 = _tif(tmp_path / "s2.tif", _b((2, 3, 4, 8)))  # no B1: not a Landsat-looking stack
    assert _select(sentinel2) == ([1, 2, 3, 4], [])


def test_sentinel2_names_with_a_landsat_product_id_stay_sentinel2(tmp_path):
    """Zero-padded names are Sentinel-2's: B02 blue .. B12 swir22, even where the file is named as a Landsat
    product (B11 and B12 are then Sentinel-2's SWIR bands, not TIRS's B11)."""
    path = _tif(tmp_path / f"{OLI}_as_s2.tif", ["B12", "B02", "B03", "B04", "B08", "B11"])
    assert _select(path, SIX) == ([2, 3, 4, 5, 6, 1], [])
    padded_l2 = _tif(tmp_path / f"{OLI_L2}_SR_s2.tif", ["B02", "B03", "B04", "B8A"])
    assert _select(padded_l2) == ([1, 2, 3, 4], [])  # B8A is nir where no band is B08 (band_selection)


@pytest.mark.parametrize("product, names", [
    (ETM, ["B1", "B2", "B3", "B6_VCID_1", "B8"]),  # ETM+ B6 thermal, B8 panchromatic
    (OLI, ["B2", "B3", "B4", "B8", "B9", "B10", "B11"]),  # OLI B8 pan, B9 cirrus, TIRS B10/B11 thermal
    (TM, ["SR_B1", "SR_B2", "SR_B3", "ST_B6"]),  # TM B6 thermal (C2 L2 surface temperature)
])
def test_thermal_or_panchromatic_band_is_never_nir(tmp_path, product, names):
    path = _tif(tmp_path / f"{product}_stack.tif", names)
    with pytest.raises(LabelMigrationError, match="band\\(s\\) nir which"):
        _select(path)


def test_mss_has_no_blue(tmp_path):
    """Landsat 4-5 MSS B1 green, B2 red: B2 is not read as blue, the model's blue is missing."""
    path = _tif(tmp_path / f"{MSS}_stack.tif", _b(range(1, 5)))
    with pytest.raises(LabelMigrationError, match="band\\(s\\) blue which"):
        _select(path)
    assert _select(path, ["green", "red"])[0] == [1, 2]


def test_named_choices_mean_the_sensors_band_numbers(tmp_path):
    """BANDS B4, B3, B2 on an ETM+ stack are its bands B4 (NIR), B3, B2, not Sentinel-2's red, green, blue;
    Sentinel-2's B04 (red) is the ETM+ red band B3."""
    path = _tif(tmp_path / f"{ETM}_stack.tif", _b(range(1, 9)))
    assert _select(path, ["a", "b", "c"], ["B4", "B3", "b2"])[0] == [4, 3, 2]
    assert _select(path, ["a"], ["B04"])[0] == [3]


def test_product_sensor():
    """USGS product id prefixes: LC = OLI/TIRS, LO = OLI only, LT08 = TIRS only, LT05 = TM, LE07 = ETM+."""
    assert product_sensor(f"/data/{OLI}_B4.TIF")[1] == "Landsat 8 OLI/TIRS"
    assert product_sensor("LO09_L1TP_044034_20220101_20220103_02_T1_B4.TIF")[1] == "Landsat 9 OLI"
    assert product_sensor("LT08_L1GT_044034_20200101_20200113_02_T2_B10.TIF")[2] == {10: "lwir11", 11: "lwir12"}
    assert product_sensor(f"{TM}_SR_B4.TIF")[:2] == (TM[:-3], "Landsat 5 TM")
    assert product_sensor("S2A_MSIL2A_20200101T000000_N0213_R000_T10SEG_20200101T000000.tif") is None
    assert product_sensor("XLC08_L1TP_044034_20200101_20200113_02_T1.tif") is None
