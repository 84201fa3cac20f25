"""The SAFE product generator of tests/support/safe_products.py writes products GDAL reads as real ones."""
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.tests.support.safe_products import (
    BAND_ID, L1C_BANDS, NATIVE_RESOLUTION, make_safe_pair_across_tiles, make_safe_product)

SIZE = 546  # 5.46 km tiles: 546 / 273 / 91 px at 10 / 20 / 60 m
VARIANTS = [(level, baseline, zipped) for level in ("L1C", "L2A") for baseline in ("05.09", "03.01")
            for zipped in (False, True)]


def _id(variant):
    level, baseline, zipped = variant
    return f"{level}-{baseline}-{'zip' if zipped else 'folder'}"


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """Every variant once for the module; each in its own folder."""
    made = {}
    for variant in VARIANTS:
        level, baseline, zipped = variant
        folder = tmp_path_factory.mktemp(_id(variant))
        made[variant] = make_safe_product(folder, level=level, baseline=baseline, size_10m=SIZE, zipped=zipped)
    return made


@pytest.fixture(params=VARIANTS, ids=_id)
def product(request, products):
    return products[request.param]


def _open(path):
    dataset = gdal.Open(str(path))
    assert dataset is not None, f"GDAL cannot open {path}: {gdal.GetLastErrorMsg()}"
    return dataset


def _epsg(dataset) -> int:
    srs = osr.SpatialReference(wkt=dataset.GetProjection())
    srs.AutoIdentifyEPSG()
    return int(srs.GetAuthorityCode(None))


def _band_name(gdal_name: str) -> str:
    """GDAL's B4 / B8A / AOT -> the product's B04 / B8A / AOT."""
    if gdal_name.startswith("B") and gdal_name[1:].isdigit():
        return f"B{int(gdal_name[1:]):02d}"
    return gdal_name


def _read_xml(product, path: str) -> ET.Element:
    """Reads an XML of the product through GDAL's virtual file system (works inside the zip)."""
    handle = gdal.VSIFOpenL(path, "rb")
    assert handle is not None, path
    try:
        size = gdal.VSIStatL(path).size
        data = gdal.VSIFReadL(1, size, handle)
    finally:
        gdal.VSIFCloseL(handle)
    return ET.fromstring(data)


def _strip(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _find_all(root: ET.Element, name: str):
    return [e for e in root.iter() if _strip(e.tag) == name]


# --- GDAL's SENTINEL2 driver ----------------------------------------------------------------------

def test_sentinel2_driver_lists_the_three_resolutions(product):
    dataset = _open(product.mtd_path)
    assert dataset.GetDriver().ShortName == "SENTINEL2"
    names = [value for key, value in dataset.GetMetadata("SUBDATASETS").items() if key.endswith("_NAME")]
    prefix = f"SENTINEL2_{product.level}:"
    for resolution in ("10m", "20m", "60m"):
        assert any(n.startswith(prefix) and n.endswith(f":{resolution}:EPSG_{product.epsg}") for n in names), names
    metadata = dataset.GetMetadata()
    assert metadata["PROCESSING_BASELINE"] == product.baseline
    assert metadata["PRODUCT_URI"] == product.name + ".SAFE"
    assert metadata["DATATAKE_1_SENSING_ORBIT_NUMBER"] == "108"
    assert metadata["PRODUCT_TYPE"] == ("S2MSI1C" if product.level == "L1C" else "S2MSI2A")


def test_zip_opens_by_its_own_name(products):
    product = products[("L2A", "05.09", True)]
    assert product.path.name == product.name + ".SAFE.zip"
    dataset = _open(product.path)  # the .zip itself, as downloaded
    names = [v for k, v in dataset.GetMetadata("SUBDATASETS").items() if k.endswith("_NAME")]
    assert len([n for n in names if ":10m:" in n or ":20m:" in n or ":60m:" in n]) == 3


@pytest.mark.parametrize("resolution", [10, 20, 60])
def test_subdataset_grid_and_values(product, resolution):
    gdal.ErrorReset()
    dataset = _open(f"SENTINEL2_{product.level}:{product.mtd_path}:{resolution}m:EPSG_{product.epsg}")
    assert gdal.GetLastErrorMsg() == ""  # e.g. no "Tile ... not found" warning for CLD / SNW
    rows, cols = product.shape(resolution)
    assert (dataset.RasterYSize, dataset.RasterXSize) == (rows, cols)
    assert _epsg(dataset) == product.epsg
    assert dataset.GetGeoTransform() == pytest.approx(product.geotransform(resolution))
    seen = []
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        name = _band_name(band.GetMetadataItem("BANDNAME"))
        seen.append(name)
        np.testing.assert_array_equal(band.ReadAsArray(), product.expected_dn(name, resolution), err_msg=name)
    # the driver puts red, green, blue first: B4, B3, B2, B8 in the 10 m subdataset
    spectral = {10: ["B04", "B03", "B02", "B08"], 20: ["B05", "B06", "B07", "B8A", "B11", "B12"],
                60: ["B01", "B09", "B10"] if product.level == "L1C" else ["B01", "B09"]}[resolution]
    assert [b for b in seen if b in BAND_ID] == spectral
    if product.level == "L2A" and resolution in (20, 60):
        assert {"SCL", "AOT", "WVP", "CLD", "SNW"} <= set(seen)


# --- the JP2 files --------------------------------------------------------------------------------

def test_every_jp2_holds_the_expected_values(product):
    expected_files = (len(L1C_BANDS) + 1) if product.level == "L1C" else None
    if expected_files:
        assert len(product.files) == expected_files
    for (band, resolution), path in product.files.items():
        dataset = _open(path)
        assert dataset.GetDriver().ShortName == "JP2OpenJPEG", path
        assert dataset.GetMetadataItem("COMPRESSION_REVERSIBILITY", "IMAGE_STRUCTURE") == "LOSSLESS"
        assert (dataset.RasterYSize, dataset.RasterXSize) == product.shape(resolution)
        assert dataset.GetGeoTransform() == pytest.approx(product.geotransform(resolution))
        assert _epsg(dataset) == product.epsg
        data = dataset.ReadAsArray()
        np.testing.assert_array_equal(data, product.expected_dn(band, resolution), err_msg=path)
        if band in BAND_ID or band in ("AOT", "WVP"):
            assert dataset.GetRasterBand(1).DataType == gdal.GDT_UInt16
        else:
            assert dataset.GetRasterBand(1).DataType == gdal.GDT_Byte


def test_band_files_are_native_and_named_like_real_products(product):
    assert set(product.bands) <= set(product.band_files)
    assert ("B10" in product.band_files) == (product.level == "L1C")
    stamp = product.sensing.strftime("%Y%m%dT%H%M%S")
    for band in product.bands:
        path = product.band_files[band]
        resolution = NATIVE_RESOLUTION[band]
        if product.level == "L1C":
            assert path.endswith(f"/IMG_DATA/T{product.tile}_{stamp}_{band}.jp2")
        else:
            assert path.endswith(f"/IMG_DATA/R{resolution}m/T{product.tile}_{stamp}_{band}_{resolution}m.jp2")
        assert f"/GRANULE/{product.granule_id}/" in path
    if product.level == "L2A":
        assert product.band_files["SCL"].endswith("_SCL_20m.jp2")
        assert ("B01", 20) in product.files if product.baseline >= "04.00" else ("B01", 20) not in product.files


def test_tile_mtd_geocoding(product):
    root = _read_xml(product, product.tile_mtd_path)
    geocoding = _find_all(root, "Tile_Geocoding")[0]
    assert geocoding.findtext("HORIZONTAL_CS_CODE") == f"EPSG:{product.epsg}"
    assert geocoding.findtext("HORIZONTAL_CS_NAME") == "WGS84 / UTM zone 32N"
    for resolution in (10, 20, 60):
        size = geocoding.find(f"Size[@resolution='{resolution}']")
        assert (int(size.findtext("NROWS")), int(size.findtext("NCOLS"))) == product.shape(resolution)
        position = geocoding.find(f"Geoposition[@resolution='{resolution}']")
        assert float(position.findtext("ULX")) == product.ulx and float(position.findtext("ULY")) == product.uly
        assert float(position.findtext("XDIM")) == resolution and float(position.findtext("YDIM")) == -resolution


def test_product_mtd_lists_image_files_without_extension(product):
    root = _read_xml(product, product.mtd_path)
    listed = [e.text for e in _find_all(root, "IMAGE_FILE")]
    assert listed and not any(f.endswith(".jp2") for f in listed)
    prefix = f"{product.safe_dir}/"
    image_paths = {p[len(prefix):-len(".jp2")] for (b, _), p in product.files.items() if b not in ("CLD", "SNW")}
    assert set(listed) == image_paths
    special = {e.findtext("SPECIAL_VALUE_TEXT"): int(e.findtext("SPECIAL_VALUE_INDEX"))
               for e in _find_all(root, "Special_Values")}
    assert special == {"NODATA": 0, "SATURATED": 65535}
    spectral = _find_all(root, "Spectral_Information")
    assert [int(e.get("bandId")) for e in spectral] == list(range(13))
    assert [int(e.findtext("RESOLUTION")) for e in spectral] == [NATIVE_RESOLUTION[b] for b in L1C_BANDS]


def test_offsets_in_the_xml_only_since_baseline_04(product):
    root = _read_xml(product, product.mtd_path)
    if product.level == "L1C":
        quantification = _find_all(root, "QUANTIFICATION_VALUE")
        offsets = _find_all(root, "RADIO_ADD_OFFSET")
        lists = _find_all(root, "Radiometric_Offset_List")
    else:
        quantification = _find_all(root, "BOA_QUANTIFICATION_VALUE")
        offsets = _find_all(root, "BOA_ADD_OFFSET")
        lists = _find_all(root, "BOA_ADD_OFFSET_VALUES_LIST")
    assert [float(e.text) for e in quantification] == [10000.0] and product.quantification == 10000
    if product.baseline == "05.09":
        assert product.offset == -1000 and len(lists) == 1
        assert {int(e.get("band_id")): int(e.text) for e in offsets} == {i: -1000 for i in range(13)}
    else:
        assert product.offset == 0 and lists == [] and offsets == []
    # GDAL 3.6 does not apply (or expose) the offset: the subdatasets hold raw DN
    dataset = _open(f"SENTINEL2_{product.level}:{product.mtd_path}:10m:EPSG_{product.epsg}")
    assert dataset.GetRasterBand(1).GetOffset() in (None, 0.0)


# --- the zip --------------------------------------------------------------------------------------

def test_zip_layout(products):
    for (level, baseline, zipped), product in products.items():
        if not zipped:
            continue
        with zipfile.ZipFile(product.path) as archive:
            infos = archive.infolist()
        names = [i.filename for i in infos]
        assert {n.split("/", 1)[0] for n in names} == {product.name + ".SAFE"}
        assert f"{product.name}.SAFE/MTD_MSI{level}.xml" in names
        assert f"{product.name}.SAFE/manifest.safe" in names
        for info in infos:
            if info.filename.endswith(".jp2"):
                assert info.compress_type == zipfile.ZIP_STORED, info.filename
            elif info.filename.endswith(".xml"):
                assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename
        # nothing but the zip was left in its folder
        assert sorted(p.name for p in product.path.parent.iterdir()) == [product.path.name]
        assert product.mtd_path.startswith(f"/vsizip/{product.path}/")


def test_reading_the_zip_extracts_nothing(tmp_path):
    product = make_safe_product(tmp_path / "product", level="L2A", size_10m=SIZE, zipped=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    old = gdal.GetConfigOption("CPL_TMPDIR")
    gdal.SetConfigOption("CPL_TMPDIR", str(scratch))
    try:
        for resolution in (10, 20, 60):
            dataset = _open(f"SENTINEL2_L2A:{product.mtd_path}:{resolution}m:EPSG_{product.epsg}")
            for index in range(1, dataset.RasterCount + 1):
                dataset.GetRasterBand(index).Checksum()
            dataset = None
        for path in product.band_files.values():
            dataset = _open(path)  # keep the dataset alive while its band is used
            dataset.GetRasterBand(1).Checksum()
            dataset = None
    finally:
        gdal.SetConfigOption("CPL_TMPDIR", old)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert list(scratch.iterdir()) == []
    assert not list(tmp_path.rglob("*.SAFE"))


# --- the values -----------------------------------------------------------------------------------

def test_values_distinguish_bands_axes_and_nodata(products):
    product = products[("L1C", "05.09", False)]
    valid = {r: product.valid_mask(r) for r in (10, 20, 60)}
    stack = []
    for band in L1C_BANDS:
        data = product.expected_dn(band)
        mask = valid[NATIVE_RESOLUTION[band]]
        assert data[mask].min() > 1000 and data.max() < 50000, band  # never 0 or saturated when valid
        assert (data[~mask] == 0).all() and (~mask).any()
        # x and y gradients differ (a transposed read is visible) and are several DN per pixel
        dx = np.diff(data.astype(float), axis=1)[mask[:, 1:] & mask[:, :-1]].mean()
        dy = np.diff(data.astype(float), axis=0)[mask[1:, :] & mask[:-1, :]].mean()
        assert dx > 1.5 and dy > 1.0 and abs(dx - dy) > 0.5, (band, dx, dy)
        # on the common 60 m grid, bands are distinct everywhere and grow with the band index
        x, y = product.pixel_centres(60)
        stack.append(product.field_dn(band, x, y))
    assert (np.diff(np.stack(stack), axis=0) > 1000).all()
    # the nodata triangle is the same area at every resolution
    assert (np.repeat(np.repeat(valid[60], 6, 0), 6, 1) == valid[10]).all()
    assert (np.repeat(np.repeat(valid[60], 3, 0), 3, 1) == valid[20]).all()
    assert not valid[60][0, 0] and valid[60][-1, -1]


def test_scene_classification_blocks(products):
    product = products[("L2A", "05.09", False)]
    scl = product.expected_dn("SCL")
    valid = product.valid_mask(20)
    assert scl.dtype == np.uint8 and (scl[~valid] == 0).all()
    assert set(np.unique(scl[valid])) == set(range(1, 12))
    # neighbouring 7 x 5 blocks always differ, so a one-pixel shift is visible at block edges
    assert (scl[valid & np.roll(valid, 1, axis=1)] != np.roll(scl, 1, axis=1)[valid & np.roll(valid, 1, axis=1)]).any()
    np.testing.assert_array_equal(product.expected_dn("SCL", 60), scl[1::3, 1::3])


def test_expected_dn_refuses_resolutions_that_were_not_written(products):
    product = products[("L1C", "05.09", False)]
    with pytest.raises(ValueError, match="resample"):
        product.expected_dn("B05", 10)
    reflectance = product.expected_reflectance("B04")
    dn = product.expected_dn("B04")
    assert np.isnan(reflectance[dn == 0]).all()
    np.testing.assert_allclose(reflectance[dn > 0], (dn[dn > 0] - 1000.0) / 10000.0)


def test_size_must_be_a_multiple_of_six(tmp_path):
    with pytest.raises(ValueError, match="multiple of 6"):
        make_safe_product(tmp_path, size_10m=1000)


def test_pair_across_tiles_agrees_in_the_overlap(tmp_path):
    west, east = make_safe_pair_across_tiles(tmp_path, level="L2A", size_10m=SIZE, overlap_10m=60)
    assert (west.tile, east.tile) == ("32UPU", "32UQU") and west.epsg == east.epsg
    assert west.sensing == east.sensing and west.relative_orbit == east.relative_orbit
    assert west.name.split("_")[2] == east.name.split("_")[2]  # same datatake sensing time
    assert east.ulx == west.ulx + (SIZE - 60) * 10 and east.uly == west.uly
    for band, resolution in (("B04", 10), ("B11", 20), ("B09", 60), ("SCL", 20)):
        overlap = 60 * 10 // resolution
        west_data = _open(west.files[(band, resolution)]).ReadAsArray()
        east_data = _open(east.files[(band, resolution)]).ReadAsArray()
        west_strip, east_strip = west_data[:, -overlap:], east_data[:, :overlap]
        both = (west_strip > 0) & (east_strip > 0)
        assert both.mean() > 0.5
        np.testing.assert_array_equal(west_strip[both], east_strip[both], err_msg=band)
        # the east tile's own nodata corner lies partly in the overlap, where the west tile is valid
        assert ((east_strip == 0) & (west_strip > 0)).any()


def test_noise_is_reproducible_and_bounded(tmp_path):
    product = make_safe_product(tmp_path, level="L1C", size_10m=SIZE, noise_dn=100)
    for band in ("B02", "B05", "B09"):
        dataset = _open(product.band_files[band])
        data = dataset.ReadAsArray()
        np.testing.assert_array_equal(data, product.expected_dn(band))
        x, y = product.pixel_centres(NATIVE_RESOLUTION[band])
        valid = product.valid_mask(NATIVE_RESOLUTION[band])
        difference = data.astype(float) - product.field_dn(band, x, y)
        assert np.abs(difference[valid]).max() <= 100.5 and difference[valid].std() > 30


def test_defaults_match_the_compact_naming_and_tile_like_real_jp2(tmp_path):
    product = make_safe_product(tmp_path)  # L2A, baseline 05.09, 1098 px at 10 m
    assert product.name.startswith("S2B_MSIL2A_20200815T102559_N0509_R108_T32UPU_")
    assert product.path == tmp_path / (product.name + ".SAFE") and product.size_10m == 1098
    dataset = _open(product.band_files["B08"])
    assert dataset.GetRasterBand(1).GetBlockSize() == [1024, 1024]  # 2 x 2 JPEG2000 tiles
    np.testing.assert_array_equal(dataset.ReadAsArray(), product.expected_dn("B08"))
    subdataset = _open(f"SENTINEL2_L2A:{product.mtd_path}:10m:EPSG_32632")
    assert (subdataset.RasterXSize, subdataset.RasterYSize) == (1098, 1098)
    assert subdataset.GetGeoTransform() == (699960.0, 10.0, 0.0, 5400000.0, 0.0, -10.0)
