"""safe_to_geotiff: every band on one grid, verified pixel by pixel against values computed here."""
import shutil
import zipfile

import numpy as np
import pytest
import rasterio
from osgeo import gdal

from labelmigration.core.sentinel2.convert import safe_to_geotiff
from labelmigration.core.util.errors import Cancelled, LabelMigrationError
from labelmigration.core.sentinel2.safe import open_safe
from labelmigration.tests.support.safe_products import NATIVE_RESOLUTION, make_safe_product

SIZE = 546  # 5.46 km tiles: 546 px at 10 m, 273 at 20 m, 91 at 60 m


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safe")
    return {
        "l2a": make_safe_product(folder, "L2A", "05.09", size_10m=SIZE),
        "l2a_zip": make_safe_product(folder, "L2A", "05.09", size_10m=SIZE, zipped=True),
        "l2a_old": make_safe_product(folder, "L2A", "03.01", size_10m=SIZE, tile="33UUP", epsg=32633,
                                     ulx=300000.0, uly=5400000.0),
        "l1c": make_safe_product(folder, "L1C", "05.09", size_10m=SIZE),
    }


def bilinear(native: np.ndarray, factor: int) -> np.ndarray:
    """Upsample by an integer factor with pixel-centre bilinear interpolation (edges clamped)."""
    n = native.shape[0] * factor
    source = (np.arange(n) + 0.5) / factor - 0.5
    low = np.clip(np.floor(source).astype(int), 0, native.shape[0] - 1)
    high = np.clip(low + 1, 0, native.shape[0] - 1)
    weight = np.clip(source - np.floor(source), 0, 1)
    weight[source < 0] = 0
    rows = native[low] * (1 - weight)[:, None] + native[high] * weight[:, None]
    return rows[:, low] * (1 - weight)[None, :] + rows[:, high] * weight[None, :]


def interior_valid(valid_native: np.ndarray, factor: int) -> np.ndarray:
    """Output pixels whose bilinear neighbours (within the 3 x 3 native pixels) are all valid."""
    padded = np.pad(valid_native, 1, mode="edge")
    ok = np.ones_like(valid_native)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            ok &= padded[dy:dy + valid_native.shape[0], dx:dx + valid_native.shape[1]]
    return np.repeat(np.repeat(ok, factor, 0), factor, 1)


def test_l2a_dn_at_10m_pixel_by_pixel(tmp_path, products):
    product = products["l2a"]
    output = tmp_path / "l2a.tif"
    result = safe_to_geotiff(str(product.path), str(output))
    assert result.bands == [b for b in product.bands]  # 12 bands, no B10
    with rasterio.open(output) as out:
        assert out.count == 12 and out.descriptions == tuple(product.bands)
        assert (out.width, out.height) == (SIZE, SIZE)
        assert out.crs.to_epsg() == 32632
        assert out.transform == rasterio.Affine(10, 0, product.ulx, 0, -10, product.uly)
        assert out.dtypes[0] == "uint16" and out.nodata == 0
        assert out.scales[0] == pytest.approx(1e-4) and out.offsets[0] == pytest.approx(-0.1)
        assert out.profile["tiled"] and out.profile["compress"] == "deflate"
        for index, band in enumerate(product.bands, start=1):
            values = out.read(index)
            native = NATIVE_RESOLUTION[band]
            expected_native = product.expected_dn(band).astype(np.float64)
            if native == 10:
                np.testing.assert_array_equal(values, expected_native.astype(np.uint16), err_msg=band)
                continue
            factor = native // 10
            expected = bilinear(expected_native, factor)
            check = interior_valid(expected_native != 0, factor)
            assert check.sum() > 0.5 * check.size
            difference = np.abs(values[check].astype(np.float64) - expected[check])
            assert difference.max() <= 1.0, f"{band}: bilinear values differ by up to {difference.max()}"
            # nodata never blends into valid pixels: DN 0 only inside the nodata triangle
            np.testing.assert_array_equal(values == 0, ~product.valid_mask(10), err_msg=band)


def test_reflectance_applies_the_products_offset(tmp_path, products):
    for key, offset in (("l2a", -1000), ("l2a_old", 0)):
        product = products[key]
        assert open_safe(str(product.path)).offset("B04") == offset
        output = tmp_path / f"{key}.tif"
        safe_to_geotiff(str(product.path), str(output), bands=["B04", "B08"], reflectance=True)
        with rasterio.open(output) as out:
            assert out.dtypes == ("float32", "float32") and out.descriptions == ("B04", "B08")
            red = out.read(1)
            expected = (product.expected_dn("B04").astype(np.float64) + offset) / 10000
            valid = product.valid_mask(10)
            np.testing.assert_allclose(red[valid], expected[valid], rtol=0, atol=1e-6)
            assert np.isnan(red[~valid]).all()


def test_l1c_has_13_bands_and_b10(tmp_path, products):
    output = tmp_path / "l1c.tif"
    safe_to_geotiff(str(products["l1c"].path), str(output), resolution=60)
    with rasterio.open(output) as out:
        assert out.count == 13 and out.descriptions[10] == "B10"
        assert (out.width, out.height) == (SIZE // 6, SIZE // 6) and out.transform.a == 60
        np.testing.assert_array_equal(out.read(11), products["l1c"].expected_dn("B10"))


def test_l2a_20m_uses_the_products_own_20m_bands_and_scl_nearest(tmp_path, products):
    product = products["l2a"]
    output = tmp_path / "l2a20.tif"
    safe_to_geotiff(str(product.path), str(output), bands=["B02", "B05"], resolution=20, include_scl=True)
    with rasterio.open(output) as out:
        assert out.descriptions == ("B02", "B05", "SCL") and out.width == SIZE // 2
        np.testing.assert_array_equal(out.read(1), product.expected_dn("B02", 20))
        np.testing.assert_array_equal(out.read(3), product.expected_dn("SCL"))


def test_scl_at_10m_is_nearest(tmp_path, products):
    product = products["l2a"]
    output = tmp_path / "scl.tif"
    safe_to_geotiff(str(product.path), str(output), bands=["SCL"])
    with rasterio.open(output) as out:
        scl = product.expected_dn("SCL")
        np.testing.assert_array_equal(out.read(1), np.repeat(np.repeat(scl, 2, 0), 2, 1))


def test_zip_is_read_in_place_and_equals_the_folder(tmp_path, products):
    before = set(tmp_path.iterdir())
    folder_output, zip_output = tmp_path / "folder.tif", tmp_path / "zip.tif"
    safe_to_geotiff(str(products["l2a"].path), str(folder_output), bands=["B02", "B11"])
    safe_to_geotiff(str(products["l2a_zip"].path), str(zip_output), bands=["B02", "B11"])
    with rasterio.open(folder_output) as a, rasterio.open(zip_output) as b:
        np.testing.assert_array_equal(a.read(), b.read())
    assert set(tmp_path.iterdir()) - before == {folder_output, zip_output}  # nothing extracted


def test_mtd_xml_input_and_cog(tmp_path, products):
    product = products["l2a"]
    output = tmp_path / "cog.tif"
    safe_to_geotiff(product.mtd_path, str(output), bands=["B03"], cog=True)
    dataset = gdal.Open(str(output))
    assert dataset.GetMetadata("IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    np.testing.assert_array_equal(dataset.GetRasterBand(1).ReadAsArray(), product.expected_dn("B03"))


def test_bad_products(tmp_path, products):
    product = products["l2a"]
    tile_mtd = product.tile_mtd_path
    with pytest.raises(LabelMigrationError, match="tile metadata file; give the product's MTD_MSIL1C.xml"):
        safe_to_geotiff(tile_mtd, str(tmp_path / "a.tif"))
    not_safe = tmp_path / "photos.zip"
    with zipfile.ZipFile(not_safe, "w") as archive:
        archive.writestr("holiday/picture.txt", "no satellite here")
    with pytest.raises(LabelMigrationError, match=r"photos\.zip' is not a Sentinel-2 SAFE product"):
        safe_to_geotiff(str(not_safe), str(tmp_path / "b.tif"))
    with pytest.raises(LabelMigrationError, match="no band B10"):
        safe_to_geotiff(str(product.path), str(tmp_path / "c.tif"), bands=["B10"])
    with pytest.raises(LabelMigrationError, match="not a Sentinel-2 band"):
        safe_to_geotiff(str(product.path), str(tmp_path / "d.tif"), bands=["NIR"])
    assert not list(tmp_path.glob("*.tif"))


def copy_product(product, destination):
    import shutil
    target = destination / product.path.name
    shutil.copytree(product.path, target)
    return target


def test_truncated_and_missing_band_files(tmp_path, products):
    product = products["l2a"]
    broken = copy_product(product, tmp_path)
    relative = product.band_files["B05"].split(product.path.name + "/", 1)[1]
    jp2 = broken / relative
    jp2.write_bytes(jp2.read_bytes()[:2000])
    with pytest.raises(LabelMigrationError, match=r"B05.*\.jp2|corrupt"):
        safe_to_geotiff(str(broken), str(tmp_path / "t.tif"), bands=["B05"])
    jp2.unlink()
    with pytest.raises(LabelMigrationError, match=r"band file .*B05.*is missing"):
        safe_to_geotiff(str(broken), str(tmp_path / "m.tif"), bands=["B05"])
    assert not list(tmp_path.glob("*.tif"))


def test_cancel_leaves_no_output(tmp_path, products):
    with pytest.raises(Cancelled):
        safe_to_geotiff(str(products["l2a"].path), str(tmp_path / "x.tif"), is_cancelled=lambda: True)
    assert list(tmp_path.iterdir()) == []


def test_every_resampling_method_has_a_gdal_kernel():
    from labelmigration.core.sentinel2.convert import RESAMPLING_METHODS
    from labelmigration.core.sentinel2.safe_stack import RESAMPLING_KERNELS
    assert set(RESAMPLING_METHODS) == set(RESAMPLING_KERNELS) and RESAMPLING_METHODS[0] == "bilinear"


# -- damaged or hostile metadata (issue 13: quantification 0 wrote 94 % infinities, 'abc' a traceback) ------------
def rezipped(product, target, change):
    """A copy of a zipped product with change(entry name, text) applied to every XML entry."""
    with zipfile.ZipFile(product.path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".xml"):
                data = change(info.filename, data.decode("utf-8")).encode("utf-8")
            out.writestr(info.filename, data)
    return str(target)


def product_xml(pattern, replacement):
    import re
    return lambda name, text: re.sub(pattern, replacement, text, count=1) if "MTD_MSI" in name else text


@pytest.mark.parametrize("change, message", [
    (product_xml(r"(QUANTIFICATION_VALUE unit=\"none\">)10000", r"\g<1>0"), r"BOA_QUANTIFICATION_VALUE as '0', which is not "
                                                                          r"a positive number"),
    (product_xml(r"(QUANTIFICATION_VALUE unit=\"none\">)10000", r"\g<1>-1"), r"BOA_QUANTIFICATION_VALUE as '-1'"),
    (product_xml(r"(QUANTIFICATION_VALUE unit=\"none\">)10000", r"\g<1>abc"), r"BOA_QUANTIFICATION_VALUE as 'abc'"),
    (product_xml(r"(QUANTIFICATION_VALUE unit=\"none\">)10000", r"\g<1>inf"), r"BOA_QUANTIFICATION_VALUE as 'inf'"),
    (product_xml(r'(BOA_ADD_OFFSET band_id=")3(">)', r"\g<1>x\g<2>"), r"gives the band_id of a BOA_ADD_OFFSET as 'x'"),
    (product_xml(r'(BOA_ADD_OFFSET band_id="3">)-1000', r"\g<1>-1e999"), r"BOA_ADD_OFFSET of band B04 as '-1e999'"),
    (product_xml(r"<IMAGE_FILE>GRANULE", "<IMAGE_FILE>GRANULE/../.."), r"image file 'GRANULE/\.\./\.\./.*outside"),
    (product_xml(r"<IMAGE_FILE>GRANULE", "<IMAGE_FILE>/tmp/GRANULE"), r"image file '/tmp/GRANULE.*outside the product"),
    (lambda name, text: text.replace("<NROWS>546", "<NROWS>-546") if "MTD_TL" in name else text,
     r"MTD_TL\.xml' gives NROWS as '-546', which is not a positive whole number"),
    (lambda name, text: text.replace("<ULX>", "<ULX>x") if "MTD_TL" in name else text, r"gives ULX as 'x"),
])
def test_damaged_metadata_is_refused_naming_file_and_value(tmp_path, products, change, message):
    damaged = rezipped(products["l2a_zip"], tmp_path / "damaged.SAFE.zip", change)
    with pytest.raises(LabelMigrationError, match=r"damaged\.SAFE\.zip/.*" + message):
        safe_to_geotiff(damaged, str(tmp_path / "out.tif"), reflectance=True)
    assert not list(tmp_path.glob("*.tif")) and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("doctype, entity, message", [
    ('<!DOCTYPE n1:Level-2A_User_Product [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>", "i",
     "declares a document type"),
    ('<!DOCTYPE n1:Level-2A_User_Product [<!ENTITY e SYSTEM "file:///etc/hostname">]>', "e", "declares a document type"),
    ('<!DOCTYPE n1:Level-2A_User_Product SYSTEM "http://127.0.0.1:9/never.dtd">', "amp", "declares a document type"),
])
def test_entity_expansion_and_external_entities_are_refused(tmp_path, products, doctype, entity, message):
    """A billion-laughs DTD, an external entity and an external DTD: core/util/metadata_xml.py refuses any document
    type declaration before expanding anything (real Sentinel-2 metadata has none)."""
    def change(name, text):
        if "MTD_MSI" not in name:
            return text
        root = text.index("<n1:Level-2A_User_Product")
        return (text[:root] + doctype + text[root:]).replace("<PRODUCT_TYPE>", f"<PRODUCT_TYPE>&{entity};", 1)
    hostile = rezipped(products["l2a_zip"], tmp_path / "hostile.SAFE.zip", change)
    with pytest.raises(LabelMigrationError, match=f"is not valid XML: it {message}"):
        open_safe(hostile)


def test_local_archive_scan_skips_a_damaged_product_and_keeps_the_rest(tmp_path, products):
    """The parsing raises LabelMigrationError naming the product, so one bad product is skipped."""
    from labelmigration.core.search.local import LocalArchiveBackend
    archive = tmp_path / "archive"
    archive.mkdir()
    rezipped(products["l2a_zip"], archive / "bad.SAFE.zip", product_xml(r"(QUANTIFICATION_VALUE unit=\"none\">)10000",
                                                                         r"\g<1>abc"))
    shutil.copy(products["l2a_zip"].path, archive)
    backend = LocalArchiveBackend(str(archive))
    assert len(backend.index()) == 1
    assert len(backend.skipped) == 1 and "bad.SAFE.zip" in backend.skipped[0] and "'abc'" in backend.skipped[0]


def test_band_file_of_another_size_than_the_tile_grid_is_refused(tmp_path, products):
    grown = rezipped(products["l2a_zip"], tmp_path / "grown.SAFE.zip",
                     lambda name, text: text.replace("<NCOLS>546</NCOLS>", "<NCOLS>1000000</NCOLS>")
                     if "MTD_TL" in name else text)
    with pytest.raises(LabelMigrationError, match=r"B02_10m\.jp2' of product .* is 546 x 546 pixels, but the "
                                                  r"product's tile grid at 10 m is 1000000 x 546"):
        safe_to_geotiff(grown, str(tmp_path / "out.tif"), bands=["B02"])


def test_unreadable_product_and_raster_say_permission_denied(tmp_path, products):
    """The real reason, not 'does not exist' (issue 13). Root reads every file, so as root the check runs
    as the unprivileged user 'nobody'."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp(prefix="labelmigration-permissions-"))
    try:
        folder.chmod(0o755)
        (folder / "labelmigration").symlink_to(Path(__file__).resolve().parents[2])
        product = folder / "locked.SAFE.zip"
        shutil.copy(products["l2a_zip"].path, product)
        raster = folder / "locked.tif"
        raster.write_bytes(b"II*\x00")
        product.chmod(0)
        raster.chmod(0)
        code = ("from labelmigration.core.sentinel2.safe import open_safe\n"
                "from labelmigration.core.util.raster_read import open_raster\n"
                f"for call in (lambda: open_safe({str(product)!r}), lambda: open_raster({str(raster)!r}, 'label')):\n"
                "    try:\n        call()\n    except Exception as error:\n        print(error)\n")
        command = [sys.executable, "-c", code]
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + command
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=folder,
                                env={**os.environ, "PYTHONPATH": str(folder), "HOME": str(folder)})
        assert result.stdout.splitlines() == [
            f"The product '{product}' cannot be read (permission denied).",
            f"The label '{raster}' cannot be read (permission denied)."], result.stdout + result.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
