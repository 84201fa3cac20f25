"""Co-registration (core.quality.coregistration): known shifts recovered on real Sentinel-2 texture.

The texture is On Cloud N chip 1 (tests/data/README.md: real Sentinel-2 L2A, B02 B03 B04 B08 at 10 m).
Its pixels are placed on a UTM 32N grid in Germany (the chip itself lies in UTM 36N near the equator,
outside the area of EPSG:3035), and a 256 x 256 window in its middle is the pair's Sentinel-2 crop.
The "source" is the same chip, georeferenced with a known error: its geotransform moved by
(dx, dy) metres, either in UTM (same CRS) or after warping it to EPSG:3035 at 5 m (the label's CRS).
The expected answer is that offset itself, carried from EPSG:3035 into the pair's UTM grid with OSR
for the second set-up. The chip's clouds are in both images, as they would be in a same-day source.
"""
import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.core.quality import coregistration as coreg
from labelmigration.core.quality.bands import match_bands, resample_to_grid

PIXEL = 10.0
UL = (500000.0, 5400000.0)  # UTM 32N, about 48.7 N 9 E
WINDOW = 128  # the pair's crop: rows and columns 128 to 384 of the chip


def _srs(epsg):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _memory(array, transform, epsg, names=(), gdal_type=gdal.GDT_UInt16, colours=()):
    bands, rows, cols = array.shape
    dataset = gdal.GetDriverByName("MEM").Create("", cols, rows, bands, gdal_type)
    dataset.SetGeoTransform(transform)
    dataset.SetProjection(_srs(epsg).ExportToWkt())
    for index in range(bands):
        band = dataset.GetRasterBand(index + 1)
        band.WriteArray(array[index])
        if index < len(names):
            band.SetDescription(names[index])
        if index < len(colours):
            band.SetColorInterpretation(colours[index])
    return dataset


@pytest.fixture(scope="module")
def chip(data_dir):
    with np.load(data_dir / "imagery" / "oncloudn" / "oncloudn_2chips.npz") as data:
        return data["image"][1].copy(), [str(n) for n in data["band_names"]]


def _scene(chip):
    pixels, names = chip
    window = pixels[:, WINDOW:WINDOW + 256, WINDOW:WINDOW + 256]
    transform = (UL[0] + WINDOW * PIXEL, PIXEL, 0.0, UL[1] - WINDOW * PIXEL, 0.0, -PIXEL)
    return _memory(window, transform, 32632, names)


def _utm_source(chip, dx, dy):
    """The whole chip in UTM 32N, its georeferencing off by (dx, dy) m: every feature shows there."""
    pixels, names = chip
    return _memory(pixels, (UL[0] + dx, PIXEL, 0.0, UL[1] + dy, 0.0, -PIXEL), 32632, names)


def _laea_source(chip, dx, dy, rgb=False):
    """The whole chip warped to EPSG:3035 at 5 m, then its georeferencing moved by (dx, dy) m in
    EPSG:3035. With ``rgb``: an 8-bit true-colour image with a gamma stretch, bands known only by
    their colour interpretation (as an aerial photo)."""
    pixels, names = chip
    if rgb:
        colour = np.clip((pixels[[2, 1, 0]] / 3000.0) ** 0.6 * 255, 0, 255).astype(np.uint8)
        utm = _memory(colour, (UL[0], PIXEL, 0.0, UL[1], 0.0, -PIXEL), 32632, gdal_type=gdal.GDT_Byte,
                      colours=(gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand))
    else:
        utm = _utm_source(chip, 0.0, 0.0)
    laea = gdal.Warp("", utm, format="MEM", dstSRS="EPSG:3035", xRes=5.0, yRes=5.0, resampleAlg="cubic")
    for index, colour in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand) if rgb else ()):
        laea.GetRasterBand(index + 1).SetColorInterpretation(colour)  # the warp into memory drops it
    transform = list(laea.GetGeoTransform())
    transform[0] += dx
    transform[3] += dy
    laea.SetGeoTransform(transform)
    return laea


def _expected_in_utm(scene, dx, dy):
    """An offset (dx, dy) made in EPSG:3035, as seen on the pair's UTM grid at the crop's centre."""
    transform = scene.GetGeoTransform()
    centre = (transform[0] + 128 * PIXEL, transform[3] - 128 * PIXEL)
    to_laea = osr.CoordinateTransformation(_srs(32632), _srs(3035))
    to_utm = osr.CoordinateTransformation(_srs(3035), _srs(32632))
    x, y, _ = to_laea.TransformPoint(*centre)
    moved = to_utm.TransformPoint(x + dx, y + dy)
    return moved[0] - centre[0], moved[1] - centre[1]


SHIFTS = [(0.0, 0.0), (20.0, -30.0), (-40.0, 10.0), (13.0, 7.5), (-4.0, -16.5), (26.5, 23.0)]


@pytest.mark.parametrize("dx, dy", SHIFTS)
def test_shift_recovered_same_crs(chip, dx, dy):
    scene = _scene(chip)
    found = coreg.measure_shift(scene, _utm_source(chip, dx, dy))
    assert found.known, found.note
    assert abs(found.shift_x_m - dx) <= 0.2 * PIXEL and abs(found.shift_y_m - dy) <= 0.2 * PIXEL, found
    assert found.confidence > 0.8
    assert "wavelength" in found.note  # B02..B08 against B02..B08


@pytest.mark.parametrize("dx, dy", SHIFTS)
@pytest.mark.parametrize("rgb", [False, True], ids=["s2-bands", "8bit-rgb"])
def test_shift_recovered_source_in_3035(chip, dx, dy, rgb):
    scene = _scene(chip)
    expected = _expected_in_utm(scene, dx, dy)
    found = coreg.measure_shift(scene, _laea_source(chip, dx, dy, rgb))
    assert found.known, found.note
    assert abs(found.shift_x_m - expected[0]) <= 0.2 * PIXEL, (found, expected)
    assert abs(found.shift_y_m - expected[1]) <= 0.2 * PIXEL, (found, expected)
    assert found.confidence > 0.6
    assert coreg.should_move(found, coreg.DEFAULT_MIN_CONFIDENCE) == (np.hypot(*expected) > 1)


def test_shift_beyond_search_window_is_unknown(chip):
    scene = _scene(chip)
    found = coreg.measure_shift(scene, _utm_source(chip, 120.0, -20.0), max_shift_px=5)
    assert not found.known and found.shift_x_m is None and found.shift_y_m is None
    assert found.confidence == 0.0 and "beyond the search window" in found.note
    assert not coreg.should_move(found, 0.0)
    wider = coreg.measure_shift(scene, _utm_source(chip, 120.0, -20.0), max_shift_px=15)
    assert wider.known and abs(wider.shift_x_m - 120.0) <= 2 and abs(wider.shift_y_m + 20.0) <= 2


def test_textureless_pair_has_low_confidence():
    rng = np.random.default_rng(19)
    transform = (UL[0], PIXEL, 0.0, UL[1], 0.0, -PIXEL)
    flat = [_memory((2500 + 8 * rng.standard_normal((1, 256, 256))).astype(np.uint16), transform, 32632, ["B04"])
            for _ in range(2)]
    found = coreg.measure_shift(flat[0], flat[1])
    assert found.confidence < 0.2 and found.texture < coreg.TEXTURE_FULL
    assert not coreg.should_move(found, coreg.DEFAULT_MIN_CONFIDENCE)


def test_cloudy_pair_has_low_confidence(chip):
    """The shift is still found under a cloud mask that leaves 15 % clear, but not trusted."""
    scene = _scene(chip)
    cloud = np.ones((256, 256), np.uint8)
    cloud[100:140, 60:160] = 0  # 40 x 100 clear pixels
    found = coreg.measure_shift(scene, _utm_source(chip, 20.0, -10.0), cloud_mask=cloud)
    assert found.clear_fraction < 0.1 and found.confidence < 0.2
    assert not coreg.should_move(found, coreg.DEFAULT_MIN_CONFIDENCE)
    clear = coreg.measure_shift(scene, _utm_source(chip, 20.0, -10.0), cloud_mask=np.zeros((256, 256), np.uint8))
    assert clear.confidence > 0.8 and coreg.should_move(clear, coreg.DEFAULT_MIN_CONFIDENCE)


def test_sub_pixel_shift_of_arrays(chip):
    """estimate_shift alone: a Fourier-exact sub-pixel shift (scipy) of the chip's red band."""
    from scipy import ndimage
    red = chip[0][2].astype(float)
    for rows, cols in [(0.4, -0.3), (1.25, 2.5), (-3.0, 0.0)]:
        moved = ndimage.fourier_shift(np.fft.fft2(red), (rows, cols))
        moved = np.real(np.fft.ifft2(moved))[64:448, 64:448]
        found = coreg.estimate_shift(red[64:448, 64:448], moved)
        assert abs(found.shift_row_px - rows) <= 0.1 and abs(found.shift_col_px - cols) <= 0.1, found


def test_bands_matched_by_name_colour_or_as_panchromatic(chip):
    scene = _scene(chip)
    source_bands, scene_bands, how = match_bands(_laea_source(chip, 0, 0, rgb=True), scene)
    assert (source_bands, scene_bands) == ([1, 2, 3], [3, 2, 1]) and "wavelength" in how
    plain = _memory(np.zeros((1, 8, 8), np.uint16), (0, 1, 0, 0, 0, -1), 32632)
    assert match_bands(plain, scene) == ([1], [1, 2, 3], "panchromatic against the true-colour mean")


def test_resample_to_grid_puts_the_source_on_the_pair_pixels(chip):
    scene = _scene(chip)
    warped = resample_to_grid(_laea_source(chip, 0.0, 0.0), scene, [3])
    assert (warped.RasterXSize, warped.RasterYSize) == (256, 256)
    assert warped.GetGeoTransform() == scene.GetGeoTransform()
    values, red = warped.GetRasterBand(1).ReadAsArray(), scene.GetRasterBand(3).ReadAsArray().astype(float)
    assert np.isfinite(values).all()
    assert np.corrcoef(values.ravel(), red.ravel())[0, 1] > 0.97


def _write(path, dataset):
    gdal.GetDriverByName("GTiff").CreateCopy(str(path), dataset)
    return str(path)


def test_source_image_for_a_label(tmp_path):
    from labelmigration.core.quality.pair_quality import source_image_for
    label = tmp_path / "field_20200601.tif"
    assert source_image_for(str(label)) is None
    (tmp_path / "field_20200601_source.tif").write_bytes(b"")
    assert source_image_for(str(label)) == str(tmp_path / "field_20200601_source.tif")
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "field_20200601.jp2").write_bytes(b"")
    assert source_image_for(str(label), source_images=str(folder)) == str(folder / "field_20200601.jp2")
    (tmp_path / "reference.tif").write_bytes(b"")
    assert source_image_for(str(label), str(tmp_path / "reference.tif"), str(folder)) == str(tmp_path / "reference.tif")


@pytest.mark.parametrize("coregister", [0, 1])
def test_assess_pair_measures_and_moves_the_label(chip, tmp_path, coregister):
    """A pair on disk whose source is 20 m east and 30 m north of Sentinel-2: COREGISTER=1 moves the label
    2 pixels west and 3 south (to where the Sentinel-2 pixels show what the source showed)."""
    from labelmigration.core.quality.pair_quality import assess_pair
    scene = _scene(chip)
    image = _write(tmp_path / "image.tif", scene)
    values = np.zeros((256, 256), np.uint8)
    values[100:150, 80:120] = 1
    label_dataset = _memory(values[None], scene.GetGeoTransform(), 32632, gdal_type=gdal.GDT_Byte)
    label_dataset.GetRasterBand(1).SetNoDataValue(255)
    label = _write(tmp_path / "label.tif", label_dataset)
    source = _write(tmp_path / "label_source.tif", _utm_source(chip, 20.0, 30.0))
    row, warnings = assess_pair(image, label, None, source, coregister=coregister)
    assert not warnings
    assert float(row["shift_x_m"]) == pytest.approx(20.0, abs=2)
    assert float(row["shift_y_m"]) == pytest.approx(30.0, abs=2)
    assert float(row["shift_confidence"]) > 0.8 and row["change_score"] != ""
    written = gdal.Open(label)
    moved = written.GetRasterBand(1).ReadAsArray()
    if coregister:
        assert float(row["label_moved_m"]) == pytest.approx(np.hypot(20, 30), abs=0.1)
        expected = np.full_like(values, 255)
        expected[3:, :254] = values[:-3, 2:]  # 2 columns west, 3 rows south
        assert (moved == expected).all()
    else:
        assert row["label_moved_m"] == "0" and (moved == values).all()


def test_assess_pair_without_source_scores_change_only(chip, tmp_path):
    from labelmigration.core.quality.pair_quality import assess_pair
    scene = _scene(chip)
    image = _write(tmp_path / "image.tif", scene)
    values = (scene.GetRasterBand(4).ReadAsArray() > 2500).astype(np.uint8)
    label = _write(tmp_path / "label.tif",
                   _memory(values[None], scene.GetGeoTransform(), 32632, gdal_type=gdal.GDT_Byte))
    row, warnings = assess_pair(image, label, None, None, coregister=1)
    assert not warnings and row["shift_x_m"] == "" and row["label_moved_m"] == ""
    assert 0.0 <= float(row["change_score"]) < 0.2
