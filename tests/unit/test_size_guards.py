"""Size guards of the raster algorithms' cores (core.util.limits through core.util.raster_read.check_raster_size, the
crop window, the SAFE metadata size) and the line between "too large" and "corrupt".

Where the expected answers come from: issue 13. A VRT declaring 1,000,000 x 1,000,000 pixels used all
23 GB in cropscene and ran until killed in geocodemask, maskfootprint and stackbands, also when nothing
overlapped; a 3 MB SAFE zip whose XML inflates to 1 GiB cost 3.3 GB; a valid but huge raster was called
"corrupt". The legitimate sizes are the issue's too: a full Sentinel-2 tile (10980 x 10980) and a big
orthophoto (50k x 50k) are within the default limit of 10,000 megapixels.
"""
import re
import time
import zipfile

import numpy as np
import pytest

from labelmigration.core.util import limits
from labelmigration.core.sentinel2.convert import safe_to_geotiff
from labelmigration.core.labels.crop import crop_scene
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.labels.footprint import label_footprints
from labelmigration.core.labels.geocode import geocode_mask
from labelmigration.core.util.gdal_settings import gdal_errors
from labelmigration.core.util.raster_read import check_raster_size, open_raster, read_check
from labelmigration.core.sentinel2.safe import open_safe
from labelmigration.core.sentinel2.stack import stack_bands
from labelmigration.tests.support.rasters import from_origin, write_png, write_raster

ORIGIN = (690_000.0, 5_340_000.0)  # UTM 32N
FAST = 5.0  # seconds: refused before reading


def vrt(path, size, origin=ORIGIN, pixel=10.0, bands=1):
    """A VRT declaring size x size pixels and no sources (GDAL reads zeros)."""
    band_xml = "".join(f'<VRTRasterBand dataType="Byte" band="{b + 1}"/>' for b in range(bands))
    path.write_text(f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}"><SRS>EPSG:32632</SRS><GeoTransform>'
                    f"{origin[0]}, {pixel}, 0, {origin[1]}, 0, {-pixel}</GeoTransform>{band_xml}</VRTDataset>")
    return str(path)


@pytest.fixture
def scene(tmp_path):
    data = np.arange(1, 3 * 100 * 100 + 1, dtype=np.uint16).reshape(3, 100, 100)
    return str(write_raster(tmp_path / "scene.tif", data, "EPSG:32632", from_origin(*ORIGIN, 10, 10), nodata=0))


@pytest.fixture
def label(tmp_path):
    data = np.ones((20, 30), np.uint8)
    return str(write_raster(tmp_path / "label.tif", data, "EPSG:32632",
                            from_origin(ORIGIN[0] + 200, ORIGIN[1] - 200, 10, 10), nodata=255))


def refused_fast(call, pattern, **arguments):
    started = time.monotonic()
    with pytest.raises(LabelMigrationError, match=pattern):
        call(**arguments)
    assert time.monotonic() - started < FAST


def outputs_left(folder):
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(".") or path.name.startswith("out"))


GIANT = r"1,000,000 x 1,000,000 pixels \(1,000,000 megapixels\), more than the limit of 10,000 megapixels\. To go on, "


def test_a_million_squared_label_is_refused_before_cropping(tmp_path, scene):
    refused_fast(crop_scene, r"label '.*giant\.vrt' is " + GIANT + "crop it first, or raise 'Largest raster",
                 scene_path=scene, label_path=vrt(tmp_path / "giant.vrt", 1_000_000),
                 output_image=str(tmp_path / "out_image.tif"), output_label=str(tmp_path / "out_label.tif"))
    assert outputs_left(tmp_path) == []


def test_a_huge_label_that_misses_the_scene_fails_on_overlap_at_once(tmp_path, scene):
    far = vrt(tmp_path / "far.vrt", 1_000_000, origin=(200_000.0, 1_000_000.0), pixel=0.001)
    refused_fast(crop_scene, r"far\.vrt' and the scene .* do not overlap", scene_path=scene, label_path=far,
                 output_image=str(tmp_path / "out_image.tif"), output_label=str(tmp_path / "out_label.tif"))


def test_a_huge_scene_is_fine_when_the_window_under_the_label_is_small(tmp_path, label):
    """A mosaic VRT of a country is a legitimate scene: only the label's window is read."""
    mosaic = vrt(tmp_path / "mosaic.vrt", 1_000_000, origin=(ORIGIN[0] - 1_000_000, ORIGIN[1] + 1_000_000))
    started = time.monotonic()
    result = crop_scene(mosaic, label, str(tmp_path / "out_image.tif"), str(tmp_path / "out_label.tif"))
    assert time.monotonic() - started < FAST
    assert (result.window.width, result.window.height) == (30, 20)


def test_a_window_beyond_the_pixel_or_memory_limit_is_refused_before_allocation(tmp_path, label):
    fine = vrt(tmp_path / "fine.vrt", 1_000_000, origin=(ORIGIN[0], ORIGIN[1]), pixel=0.002)
    # 300 m x 200 m at 2 mm: 150,000 x 100,000 pixels = 15,000 megapixels
    refused_fast(crop_scene, r"part of the scene '.*fine\.vrt' under the label .* is 150,000 x 100,000 pixels",
                 scene_path=fine, label_path=label, output_image=str(tmp_path / "out_image.tif"),
                 output_label=str(tmp_path / "out_label.tif"))
    with limits.using(limits.with_values(max_megapixels=20_000, max_memory_mb=2_000)):
        refused_fast(crop_scene, r"Cropping the scene .* would need 135,000 MB of memory, more than the limit of "
                                 r"2,000 MB\. To go on, use a smaller label",
                     scene_path=fine, label_path=label, output_image=str(tmp_path / "out_image.tif"),
                     output_label=str(tmp_path / "out_label.tif"))
    assert outputs_left(tmp_path) == []


def test_geocode_refuses_a_huge_reference_or_label(tmp_path):
    png = str(write_png(tmp_path / "drawn.png", np.ones((10, 10), np.uint8)))
    refused_fast(geocode_mask, r"reference raster '.*giant\.vrt' is " + GIANT + r"crop it \(and the label\) first",
                 label_path=png, reference_path=vrt(tmp_path / "giant.vrt", 1_000_000), output=str(tmp_path / "out.tif"))
    small = vrt(tmp_path / "small.vrt", 10)
    refused_fast(geocode_mask, r"label '.*giant_label\.vrt' is " + GIANT, label_path=vrt(tmp_path / "giant_label.vrt",
                 1_000_000), reference_path=small, output=str(tmp_path / "out.tif"), resize=True)
    assert outputs_left(tmp_path) == []


def test_footprints_check_every_label_before_reading_the_first(tmp_path, label):
    refused_fast(label_footprints, r"label '.*giant\.vrt' is " + GIANT,
                 paths=[label, vrt(tmp_path / "giant.vrt", 1_000_000)])


def test_stack_refuses_huge_inputs_and_strips_beyond_the_memory_limit(tmp_path, label):
    giant = vrt(tmp_path / "giant.vrt", 1_000_000)
    refused_fast(stack_bands, r"input raster '.*giant\.vrt' is " + GIANT + "crop the inputs first",
                 inputs=[giant, giant], output=str(tmp_path / "out.tif"))
    with limits.using(limits.with_values(max_memory_mb=0.001)):
        refused_fast(stack_bands, r"A strip of \d+ rows of '.*label\.tif' would need", inputs=[label, label],
                     output=str(tmp_path / "out.tif"))
    assert outputs_left(tmp_path) == []


@pytest.mark.parametrize("size", [10_980, 50_000])
def test_legitimate_sizes_are_within_the_default_limit(tmp_path, size):
    """A full Sentinel-2 tile and a 50k x 50k orthophoto (the issue's examples) pass the guard."""
    with gdal_errors():
        check_raster_size(open_raster(vrt(tmp_path / "big.vrt", size)), "big.vrt", "raster")


def test_a_lowered_limit_names_the_setting_to_raise(tmp_path):
    with limits.using(limits.with_values(max_megapixels=5)), gdal_errors():
        with pytest.raises(LabelMigrationError, match=r"is 3,000 x 3,000 pixels \(9 megapixels\), more than the limit "
                                                      r"of 5 megapixels\. To go on, crop it first, or raise 'Largest "
                                                      r"raster \(megapixels\)'"):
            check_raster_size(open_raster(vrt(tmp_path / "r.vrt", 3_000)), "r.vrt", "raster")


def test_safetogeotiff_checks_the_output_size(tmp_path):
    from labelmigration.tests.support.safe_products import make_safe_product
    product = make_safe_product(tmp_path / "p", "L2A", size_10m=60)
    with limits.using(limits.with_values(max_megapixels=0.001)):
        refused_fast(safe_to_geotiff, r"product .* at 10 m is 60 x 60 pixels .*choose a coarser resolution",
                     product_path=str(product.path), output=str(tmp_path / "out.tif"))
    with limits.using(limits.with_values(max_megapixels=0.001)):  # 20 m: 30 x 30 pixels fit
        assert safe_to_geotiff(str(product.path), str(tmp_path / "out.tif"), bands=["B05"], resolution=20).width == 30


def test_metadata_is_measured_before_it_is_read(tmp_path):
    """A zip member's inflated size is checked first (the issue's bomb, smaller: 3 MB of XML against a 1 MB
    limit); a product within the limit is read as before."""
    from labelmigration.tests.support.safe_products import make_safe_product
    product = make_safe_product(tmp_path / "p", "L2A", size_10m=60, zipped=True)
    bomb = tmp_path / "bomb.SAFE.zip"
    with zipfile.ZipFile(product.path) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("MTD_MSIL2A.xml"):
                declaration, rest = data.split(b"?>", 1)
                data = declaration + b"?><!--" + b" " * 3_000_000 + b"-->" + rest
            out.writestr(info.filename, data)
    assert bomb.stat().st_size < 200_000
    with limits.using(limits.with_values(max_metadata_mb=1)):
        refused_fast(open_safe, r"metadata file '/vsizip/.*MTD_MSIL2A\.xml' is 3\.\d+ MB, more than the limit of 1\.0 MB "
                                r"for a metadata file .*raise 'Largest metadata file \(MB\)'", path=str(bomb))
        open_safe(str(product.path))
    assert open_safe(str(bomb)).level == "L2A"  # within the default limit of 64 MB it is a genuine product


# -- too large is not corrupt -------------------------------------------------------------------------------------
@pytest.mark.parametrize("error, expected", [
    (MemoryError(), r"too large to read into this machine's memory\. The file need not be damaged"),
    (RuntimeError("cannot allocate 1x2000000000000 bytes"), r"too large to read into this machine's memory "
                                                             r"\(cannot allocate 1x2000000000000 bytes\)"),
    (RuntimeError("Integer overflow in block size"), r"too large to read"),
    (RuntimeError("TIFFReadEncodedTile() failed"), r"corrupt or unreadable: TIFFReadEncodedTile\(\) failed"),
])
def test_read_errors_tell_too_large_from_corrupt(error, expected):
    with pytest.raises(LabelMigrationError) as raised:
        with read_check("x.tif", "scene"):
            raise error
    assert re.search(r"^The scene 'x\.tif' is " + expected, str(raised.value)), str(raised.value)
