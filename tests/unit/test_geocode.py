"""geocode_mask: label images onto their reference grid."""
import numpy as np
import pytest
import rasterio

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.labels.geocode import geocode_mask
from labelmigration.tests.support.folders import read_only_folder
from labelmigration.tests.support.rasters import from_origin, write_png, write_raster

TRANSFORM = from_origin(4_400_000, 2_900_000, 3, 3)


@pytest.fixture
def reference(tmp_path):
    """A 3-band uint8 reference (EPSG:3035, 3 m) with a nodata corner triangle."""
    rows, cols = np.mgrid[0:60, 0:80]
    data = np.stack([(rows + cols) % 200 + 20] * 3).astype(np.uint8)
    corner = rows + cols < 20
    data[:, corner] = 0
    return write_raster(tmp_path / "ref_20200812.tif", data, "EPSG:3035", TRANSFORM, nodata=0), ~corner


def grey_label():
    label = np.zeros((60, 80), np.uint8)
    label[10:40, 20:50] = 1
    label[45:55, 5:70] = 5
    return label


def test_grey_label_gets_reference_grid_values_and_validity(tmp_path, reference):
    reference_path, valid = reference
    label = grey_label()
    output = tmp_path / "out" / "mask.tif"
    result = geocode_mask(str(write_png(tmp_path / "mask.png", label)), str(reference_path), str(output))
    with rasterio.open(output) as out, rasterio.open(reference_path) as ref:
        assert out.crs == ref.crs and out.transform == ref.transform
        assert (out.width, out.height) == (ref.width, ref.height)
        assert out.count == 2 and out.dtypes == ("uint8", "uint8")
        assert out.descriptions == ("label", "validity")
        np.testing.assert_array_equal(out.read(1), label)
        np.testing.assert_array_equal(out.read(2), valid.astype(np.uint8))
        assert out.tags()["LABEL_DATE"] == "2020-08-12"
    assert result.classes == {} and not result.resized


def test_validity_band_can_be_left_out(tmp_path, reference):
    reference_path, _ = reference
    output = tmp_path / "mask.tif"
    geocode_mask(str(write_png(tmp_path / "m.png", grey_label())), str(reference_path), str(output),
                 validity_band=False)
    with rasterio.open(output) as out:
        assert out.count == 1


def test_grey_rgb_codes_are_class_values(tmp_path, reference):
    """The skynet-data style #010101 / #050505 colours are classes 1 and 5."""
    reference_path, _ = reference
    label = grey_label()
    output = tmp_path / "mask.tif"
    geocode_mask(str(write_png(tmp_path / "rgb.png", np.stack([label] * 3))), str(reference_path), str(output))
    with rasterio.open(output) as out:
        np.testing.assert_array_equal(out.read(1), label)


def test_colour_coded_label_becomes_indices_with_colour_table(tmp_path, reference):
    reference_path, _ = reference
    rgb = np.zeros((3, 60, 80), np.uint8)
    rgb[:, 10:20, :] = np.array([255, 0, 0])[:, None, None]  # red
    rgb[:, 30:40, :] = np.array([0, 128, 255])[:, None, None]  # blue-ish
    output = tmp_path / "mask.tif"
    result = geocode_mask(str(write_png(tmp_path / "rgb.png", rgb)), str(reference_path), str(output))
    # black is background 0; other colours numbered in colour order (0x0080ff < 0xff0000)
    assert result.classes == {0: "#000000", 1: "#0080ff", 2: "#ff0000"}
    with rasterio.open(output) as out:
        classes = out.read(1)
        assert (classes[10:20] == 2).all() and (classes[30:40] == 1).all() and (classes[:10] == 0).all()
        colormap = out.colormap(1)
        assert colormap[1][:3] == (0, 128, 255) and colormap[2][:3] == (255, 0, 0)


def test_alpha_channel_marks_unlabelled_pixels_invalid(tmp_path, reference):
    reference_path, valid = reference
    rgba = np.zeros((4, 60, 80), np.uint8)
    rgba[:3, 10:40, 20:50] = 200
    rgba[3] = 255
    rgba[3, :, 70:] = 0
    output = tmp_path / "mask.tif"
    geocode_mask(str(write_png(tmp_path / "rgba.png", rgba)), str(reference_path), str(output))
    with rasterio.open(output) as out:
        expected = valid.copy()
        expected[:, 70:] = False
        np.testing.assert_array_equal(out.read(2), expected.astype(np.uint8))


def test_size_mismatch_is_an_error_unless_resize(tmp_path, reference):
    reference_path, _ = reference
    small = np.zeros((30, 40), np.uint8)
    small[5:20, 10:25] = 3
    label_path = str(write_png(tmp_path / "small.png", small))
    output = tmp_path / "mask.tif"
    with pytest.raises(LabelMigrationError, match=r"40 x 30 pixels but the reference .* 80 x 60"):
        geocode_mask(label_path, str(reference_path), str(output))
    assert not output.exists()
    result = geocode_mask(label_path, str(reference_path), str(output), resize=True)
    assert result.resized
    with rasterio.open(output) as out:
        np.testing.assert_array_equal(out.read(1), np.repeat(np.repeat(small, 2, 0), 2, 1))


def test_lossy_jpeg_colour_label_is_refused(tmp_path, reference):
    reference_path, _ = reference
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (3, 60, 80), dtype=np.uint8)
    jpeg = write_raster(tmp_path / "photo.jpg", photo, driver="JPEG")
    with pytest.raises(LabelMigrationError, match="distinct colours"):
        geocode_mask(str(jpeg), str(reference_path), str(tmp_path / "mask.tif"))
    assert not (tmp_path / "mask.tif").exists()


def test_single_band_jpeg_values_kept(tmp_path, reference):
    reference_path, _ = reference
    flat = np.full((60, 80), 7, np.uint8)
    jpeg = write_raster(tmp_path / "flat.jpg", flat, driver="JPEG")
    geocode_mask(str(jpeg), str(reference_path), str(tmp_path / "mask.tif"))
    with rasterio.open(tmp_path / "mask.tif") as out:
        assert (out.read(1) == 7).all()


@pytest.mark.parametrize("content", [b"", b"this is not an image\n"])
def test_label_that_is_not_an_image(tmp_path, reference, content):
    reference_path, _ = reference
    bad = tmp_path / "notes.png"
    bad.write_bytes(content)
    with pytest.raises(LabelMigrationError, match=r"notes\.png.*(not an image|cannot be read|is an empty file)"):
        geocode_mask(str(bad), str(reference_path), str(tmp_path / "mask.tif"))
    assert not (tmp_path / "mask.tif").exists()


def test_reference_without_crs_or_geotransform(tmp_path):
    label_path = str(write_png(tmp_path / "m.png", grey_label()))
    no_crs = write_raster(tmp_path / "no_crs.tif", np.ones((60, 80), np.uint8), transform=TRANSFORM)
    with pytest.raises(LabelMigrationError, match=r"no_crs\.tif' is not georeferenced: it has no coordinate reference"):
        geocode_mask(label_path, str(no_crs), str(tmp_path / "a.tif"))
    plain = write_raster(tmp_path / "plain.tif", np.ones((60, 80), np.uint8))
    with pytest.raises(LabelMigrationError, match=r"plain\.tif' is not georeferenced: .*geotransform"):
        geocode_mask(label_path, str(plain), str(tmp_path / "b.tif"))
    assert set(tmp_path.glob("*.tif")) == {no_crs, plain}, "no output was written"


def test_output_equal_to_an_input_is_refused_and_input_untouched(tmp_path, reference):
    reference_path, _ = reference
    before = reference_path.read_bytes()
    with pytest.raises(LabelMigrationError, match="would overwrite the input"):
        geocode_mask(str(write_png(tmp_path / "m.png", grey_label())), str(reference_path), str(reference_path))
    assert reference_path.read_bytes() == before


def test_read_only_output_folder(tmp_path, reference):
    reference_path, _ = reference
    label_path = str(write_png(tmp_path / "m.png", grey_label()))
    with read_only_folder(tmp_path) as folder:
        with pytest.raises(LabelMigrationError, match=r"not writable"):
            geocode_mask(label_path, str(reference_path), str(folder / "mask.tif"))


def test_corrupt_reference(tmp_path, reference):
    reference_path, _ = reference
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(reference_path.read_bytes()[:300])
    with pytest.raises(LabelMigrationError, match=r"corrupt\.tif"):
        geocode_mask(str(write_png(tmp_path / "m.png", grey_label())), str(corrupt), str(tmp_path / "mask.tif"))
    assert not (tmp_path / "mask.tif").exists()
    assert not list(tmp_path.glob(".mask*")), "no temporary file left behind"


def test_reference_without_any_data_is_refused(tmp_path):
    """A NaN-only reference (no declared nodata) would give a label without a valid pixel (issue 13)."""
    nan = write_raster(tmp_path / "nan.tif", np.full((60, 80), np.nan, np.float32), "EPSG:3035", TRANSFORM)
    label_path = str(write_png(tmp_path / "m.png", grey_label()))
    with pytest.raises(LabelMigrationError, match=r"reference raster '.*nan\.tif' holds only nodata"):
        geocode_mask(label_path, str(nan), str(tmp_path / "mask.tif"))
    assert not list(tmp_path.glob("*mask*"))
    assert geocode_mask(label_path, str(nan), str(tmp_path / "mask.tif"), validity_band=False).width == 80
