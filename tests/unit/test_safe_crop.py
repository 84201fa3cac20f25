"""cropscene straight from SAFE products: equal to cropping the converted GeoTIFF; tile mosaics."""
import datetime as dt

import numpy as np
import pytest
import rasterio

from labelmigration.core.sentinel2.convert import safe_to_geotiff
from labelmigration.core.labels.crop import crop_scene
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.tests.support.rasters import from_origin, origin_in, write_raster
from labelmigration.tests.support.safe_products import make_safe_pair_across_tiles, make_safe_product

SIZE = 546


@pytest.fixture(scope="module")
def zipped(tmp_path_factory):
    return make_safe_product(tmp_path_factory.mktemp("zip"), "L2A", "05.09", size_10m=SIZE, zipped=True)


def label_in_3035(folder, centre_utm, size=300, pixel=3.0, name="label.tif"):
    """A square-ish EPSG:3035 label with a class-1 disk, around a UTM 32N point."""
    x, y = origin_in("EPSG:32632", "EPSG:3035", *centre_utm)
    rows, cols = np.mgrid[0:size, 0:size]
    label = ((rows - size / 2) ** 2 + (cols - size / 2) ** 2 < (size / 3) ** 2).astype(np.uint8)
    return write_raster(folder / name, label, "EPSG:3035",
                        from_origin(x - size * pixel / 2, y + size * pixel / 2, pixel, pixel))


def test_crop_from_zip_equals_crop_from_the_converted_geotiff(tmp_path, zipped):
    label = label_in_3035(tmp_path, (zipped.ulx + 3500, zipped.uly - 3000))
    converted = tmp_path / "converted.tif"
    safe_to_geotiff(str(zipped.path), str(converted))
    from_zip = crop_scene(str(zipped.path), str(label), str(tmp_path / "zi.tif"), str(tmp_path / "zl.tif"))
    from_tif = crop_scene(str(converted), str(label), str(tmp_path / "ti.tif"), str(tmp_path / "tl.tif"))
    assert from_zip.window == from_tif.window
    with rasterio.open(tmp_path / "zi.tif") as a, rasterio.open(tmp_path / "ti.tif") as b:
        assert (a.transform, a.crs, a.descriptions) == (b.transform, b.crs, b.descriptions)
        assert a.count == 12
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.scales[0] == pytest.approx(1e-4) and a.offsets[0] == pytest.approx(-0.1)
    with rasterio.open(tmp_path / "zl.tif") as a, rasterio.open(tmp_path / "tl.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())


def test_crop_from_safe_by_band_name(tmp_path, zipped):
    label = label_in_3035(tmp_path, (zipped.ulx + 2000, zipped.uly - 4000))
    crop_scene(zipped.mtd_path, str(label), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"),
               band_names=["B04", "B8A"])
    with rasterio.open(tmp_path / "i.tif") as image:
        assert image.descriptions == ("B04", "B8A") and image.transform.a == 10
        # B04 is native 10 m: the crop holds the product's own values
        column = round((image.transform.c - zipped.ulx) / 10)
        row = round((zipped.uly - image.transform.f) / 10)
        expected = zipped.expected_dn("B04")[row:row + image.height, column:column + image.width]
        red = image.read(1)
        inside = red != 0
        np.testing.assert_array_equal(red[inside], expected[inside])


def test_label_across_two_tiles_is_mosaicked(tmp_path):
    west, east = make_safe_pair_across_tiles(tmp_path, size_10m=SIZE, overlap_10m=60)
    west_edge = west.ulx + SIZE * 10
    label = label_in_3035(tmp_path, (west_edge, west.uly - 3000), size=400)  # centred on the west tile's edge
    alone = crop_scene(str(west.path), str(label), str(tmp_path / "a.tif"), str(tmp_path / "al.tif"),
                       band_names=["B03"])
    assert alone.covered_percent < 70 and any("straddles" in w for w in alone.warnings)
    both = crop_scene(str(west.path), str(label), str(tmp_path / "m.tif"), str(tmp_path / "ml.tif"),
                      band_names=["B03"], other_tiles=[str(east.path)])
    assert both.covered_percent == pytest.approx(100.0)
    assert both.nodata_percent == 0.0
    with rasterio.open(tmp_path / "m.tif") as image:
        values = image.read(1).astype(np.float64)
        columns = image.transform.c + (np.arange(image.width) + 0.5) * 10
        rows = image.transform.f - (np.arange(image.height) + 0.5) * 10
        expected = np.rint(west.values.dn("B03", columns[None, :], rows[:, None]))
        inside = values != 0
        assert inside.sum() > 0.5 * inside.size
        np.testing.assert_array_equal(values[inside], expected[inside])


def test_tiles_of_different_datatakes_are_refused(tmp_path):
    first = make_safe_product(tmp_path, size_10m=SIZE)
    later = make_safe_product(tmp_path, size_10m=SIZE, tile="32UQU", ulx=first.ulx + 5000,
                              sensing=dt.datetime(2020, 8, 18, 10, 25, 59))
    label = label_in_3035(tmp_path, (first.ulx + 2000, first.uly - 2000))
    with pytest.raises(LabelMigrationError, match="different datatakes"):
        crop_scene(str(first.path), str(label), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"),
                   other_tiles=[str(later.path)])
    assert not (tmp_path / "i.tif").exists()


def test_truncated_band_file_is_named(tmp_path, zipped):
    """Before: a traceback from the JP2 reader (issue 13)."""
    import zipfile
    truncated = tmp_path / "truncated.SAFE.zip"
    with zipfile.ZipFile(zipped.path) as source, zipfile.ZipFile(truncated, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info.filename, data[:3000] if info.filename.endswith("_B04_10m.jp2") else data)
    x, y = origin_in("EPSG:32632", "EPSG:3035", zipped.ulx + 1000, zipped.uly - 1000)
    label = write_raster(tmp_path / "label.tif", np.ones((40, 40), np.uint8), "EPSG:3035", from_origin(x, y, 10, 10))
    with pytest.raises(LabelMigrationError, match=r"band file '/vsizip/.*truncated\.SAFE\.zip/.*_B04_10m\.jp2' is "
                                                  r"corrupt or unreadable"):
        crop_scene(str(truncated), str(label), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"),
                   band_names=["B02", "B04"])
    assert not (tmp_path / "i.tif").exists() and not (tmp_path / "l.tif").exists()
