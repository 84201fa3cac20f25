"""Bad-input table: raster reading, Sentinel-2 SAFE products and size guards, for geocodemask,
maskfootprint, cropscene, stackbands and safetogeotiff.

Where the expected answers come from:
* the issue's report (issue 13), "before" in the comments: a VRT declaring 1,000,000 x 1,000,000 pixels
  used all 23 GB in cropscene and ran until killed in geocodemask, maskfootprint and stackbands (even
  when nothing overlapped), leaving .part files behind; a 3 MB SAFE zip whose metadata XML inflates to
  1 GiB cost 3.3 GB of memory; quantification 0 with REFLECTANCE=true wrote 94 % infinities and `abc`
  gave a traceback; truncated JP2s in a SAFE zip gave a traceback in cropscene; TARGET_CRS=EPSG:999999
  silently became EPSG:4326; zip-slip entries are never extracted, billion-laughs/XXE and an IMAGE_FILE
  outside the product are refused (kept). "Too large" versus "corrupt" is in tests/unit/test_size_guards.py;
* the rest is what a hostile or clumsy user tries (files that are no raster, empty files, folders,
  link loops, rasters without CRS, NaN-only rasters, band counts and names that do not fit); the
  answer is the message the algorithm's help promises: the file or parameter named, and the problem.

The size-guard cases use the real 1,000,000 x 1,000,000 VRT and the real 1 GiB XML with the default
limits (they must be refused at once); smaller limits are set through the environment only where a
realistic default would need a huge product (safetogeotiff's pixel limit, cropscene's memory limit).
"""
import atexit
import functools
import os
import re
import shutil
import tempfile
import zipfile

import numpy as np
import pytest

from labelmigration.tests.support.bad_inputs import ULX, ULY, Case, ids
from labelmigration.tests.support.rasters import from_origin, write_png, write_raster

pytestmark = pytest.mark.qgis

GIGA_PIXELS = 1_000_000  # a side of the issue's VRT
TOO_LARGE = r"1,000,000 x 1,000,000 pixels .*more than the limit of 10,000 megapixels\. To go on, crop"
FAST = 15.0  # seconds: a refusal before reading


# -- hostile inputs, made in the case folder ------------------------------------------------------------------
# Approximate statistics as a VRT carries them once QGIS has shown it. Without them, QGIS computes them
# when it loads the layer (before the algorithm runs) and GDAL writes them into the .vrt itself when
# the layer is closed (GDAL issue 3222; other formats get a side-car .aux.xml, which the engine allows).
_VRT_STATISTICS = "".join(f'<MDI key="STATISTICS_{key}">{value}</MDI>' for key, value in (
    ("APPROXIMATE", "YES"), ("MINIMUM", 0), ("MAXIMUM", 0), ("MEAN", 0), ("STDDEV", 0), ("VALID_PERCENT", 100)))


def _vrt(ws, name, size=GIGA_PIXELS, origin=(ULX + 300, ULY - 300), pixel=10.0, crs="EPSG:32632", bands=1,
         data_type="Byte"):
    """A VRT declaring size x size pixels (no sources: GDAL reads zeros, so only the size is hostile)."""
    band_xml = "".join(f'<VRTRasterBand dataType="{data_type}" band="{b + 1}"><Metadata>{_VRT_STATISTICS}'
                       f"</Metadata></VRTRasterBand>" for b in range(bands))
    return ws.write(name, f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}"><SRS>{crs}</SRS>'
                          f"<GeoTransform>{origin[0]}, {pixel}, 0, {origin[1]}, 0, {-pixel}</GeoTransform>"
                          f"{band_xml}</VRTDataset>")


def _raster(ws, name, array, crs="EPSG:32632", origin=(ULX + 300, ULY - 300), pixel=10.0, nodata=None):
    transform = from_origin(origin[0], origin[1], pixel, pixel) if origin else None
    return str(write_raster(ws.path(name), array, crs, transform, nodata=nodata))


def _label_like(ws, name, array, nodata=None):
    """A raster on the library label's grid (EPSG:3035, 5 m)."""
    from osgeo import gdal
    label = gdal.Open(ws["label"])
    x, _, _, y, _, _ = label.GetGeoTransform()
    return _raster(ws, name, array, "EPSG:3035", (x, y), 5.0, nodata)


def _symlink_loop(ws, name):
    first, second = ws.path(name), ws.path("other_" + name)
    os.symlink(second.name, first)
    os.symlink(first.name, second)
    return str(first)


def _folder(ws, name):
    ws.path(name).mkdir()
    return str(ws.path(name))


def _copy(ws, name, as_name=None):
    target = ws.path(as_name or os.path.basename(ws[name]))
    shutil.copy(ws[name], target)
    return str(target)


def _product_zip(ws, name="product", change=None, extra=None, prefix=""):
    """A copy of the library's L2A SAFE zip; change(entry name, bytes) -> bytes rewrites entries (None
    drops one), extra adds entries, prefix is put before every entry name."""
    target = ws.path(f"{name}.SAFE.zip")
    with zipfile.ZipFile(ws["safe_zip"]) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            data = change(info.filename, data) if change else data
            if data is not None:
                out.writestr(prefix + info.filename, data)
        for entry, data in (extra or {}).items():
            out.writestr(entry, data)
    return str(target)


def _product_xml(pattern, replacement, count=1):
    """change() for _product_zip that edits MTD_MSIL2A.xml with a regular expression."""
    def change(entry, data):
        if not entry.endswith("MTD_MSIL2A.xml"):
            return data
        text, done = re.subn(pattern, replacement, data.decode("utf-8"), count=count)
        assert done, f"{pattern!r} is not in the product metadata"
        return text.encode("utf-8")
    return change


def _tile_xml(pattern, replacement):
    def change(entry, data):
        if not entry.endswith("MTD_TL.xml"):
            return data
        text, done = re.subn(pattern, replacement, data.decode("utf-8"))
        assert done, f"{pattern!r} is not in the tile metadata"
        return text.encode("utf-8")
    return change


def _truncated_jp2s(entry, data):
    return data[:3000] if entry.endswith(".jp2") else data


_LAUGHS = ('<!DOCTYPE Level-2A_User_Product [<!ENTITY a "aaaaaaaaaa">'
           + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>")
_XXE = '<!DOCTYPE Level-2A_User_Product [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def _with_doctype(doctype, entity):
    """The product metadata with a DOCTYPE before its root and the entity used in PRODUCT_TYPE."""
    def change(entry, data):
        if not entry.endswith("MTD_MSIL2A.xml"):
            return data
        text = data.decode("utf-8")
        root = text.index("<n1:Level-2A_User_Product") if "<n1:Level" in text else text.index("<Level-2A")
        text = text[:root] + doctype.replace("Level-2A_User_Product", text[root + 1:].split()[0]) + text[root:]
        return re.sub(r"<PRODUCT_TYPE>", f"<PRODUCT_TYPE>&{entity};", text, count=1).encode("utf-8")
    return change


_TEMPORARY = []


@functools.lru_cache(maxsize=None)
def _bomb_zip(source: str) -> str:
    """The issue's decompression bomb, built once per session: the library product whose
    MTD_MSIL2A.xml inflates to over 1 GiB (an XML comment of spaces) in a zip of a few MB."""
    folder = tempfile.mkdtemp(prefix="labelmigration-bomb-")
    _TEMPORARY.append(folder)
    target = os.path.join(folder, os.path.basename(source))
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(source) as original, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in original.infolist():
            data = original.read(info)
            if not info.filename.endswith("MTD_MSIL2A.xml"):
                out.writestr(info.filename, data)
                continue
            declaration, rest = data.split(b"?>", 1)
            with out.open(info.filename, "w", force_zip64=True) as member:
                member.write(declaration + b"?><!--")
                for _ in range(1024):
                    member.write(chunk)
                member.write(b"-->" + rest)
    return target


atexit.register(lambda: [shutil.rmtree(folder, ignore_errors=True) for folder in _TEMPORARY])


def _bomb(ws):
    target = ws.path(os.path.basename(ws["safe_zip"]))
    shutil.copy(_bomb_zip(ws["safe_zip"]), target)
    return str(target)


def _product_metadata(ws):
    """The library product's MTD_MSIL2A.xml, copied out of its zip: GDAL opens it as a raster dataset
    with no band (the subdatasets need the product's other files)."""
    with zipfile.ZipFile(ws["safe_zip"]) as archive:
        entry = next(name for name in archive.namelist() if name.endswith("MTD_MSIL2A.xml"))
        return ws.write("MTD_MSIL2A.xml", archive.read(entry))


def _pair(ws):
    return {"OUTPUT_IMAGE": ws.out("image.tif"), "OUTPUT_LABEL": ws.out("label.tif")}


# -- the table ------------------------------------------------------------------------------------------------
GEOCODE = [
    # before: ran until killed, leaving a .part file of 185-264 MB
    Case("reference-of-a-million-squared-pixels", "geocodemask", lambda ws: {
        "INPUT": ws["label_png"], "REFERENCE": _vrt(ws, "huge.vrt"), "OUTPUT": ws.out("g.tif")},
        message=r"reference raster .*huge\.vrt' is " + TOO_LARGE, seconds=FAST, cli=True),
    Case("resized-label-of-a-million-squared-pixels", "geocodemask", lambda ws: {
        "INPUT": _vrt(ws, "huge_label.vrt", origin=(0, 0)), "REFERENCE": ws["reference"], "RESIZE": True,
        "OUTPUT": ws.out("g.tif")}, message=r"label .*huge_label\.vrt' is " + TOO_LARGE, seconds=FAST),
    Case("label-is-text-named-png", "geocodemask", lambda ws: {
        "INPUT": ws.write("label.png", "not an image"), "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")},
        message=r"label .*label\.png' cannot be read as an image", cli=True),
    Case("label-is-an-empty-file", "geocodemask", lambda ws: {
        "INPUT": ws.write("label.png", b""), "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")},
        message=r"label\.png' is an empty file"),
    Case("label-is-a-folder", "geocodemask", lambda ws: {
        "INPUT": _folder(ws, "label.png"), "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")},
        message=r"label\.png' .*(cannot be read as an image|folder)"),
    Case("label-is-a-link-loop", "geocodemask", lambda ws: {
        "INPUT": _symlink_loop(ws, "label.png"), "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")},
        message=r"label\.png' is a link that loops back on itself"),
    Case("reference-without-crs", "geocodemask", lambda ws: {
        "INPUT": ws["label_png"], "REFERENCE": _raster(ws, "nocrs.tif", np.ones((100, 100), np.uint8), crs=None,
                                                       origin=None), "OUTPUT": ws.out("g.tif")},
        message=r"nocrs\.tif' is not georeferenced: it has no coordinate reference system"),
    Case("label-drawn-on-another-image", "geocodemask", lambda ws: {
        "INPUT": str(write_png(ws.path("small.png"), np.ones((40, 60), np.uint8))), "REFERENCE": ws["reference"],
        "OUTPUT": ws.out("g.tif")}, message=r"small\.png' is 60 x 40 pixels but the reference .* is 100 x 100"),
    Case("label-of-floats", "geocodemask", lambda ws: {
        "INPUT": _raster(ws, "float.tif", np.ones((100, 100), np.float32), crs=None, origin=None),
        "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")},
        message=r"float\.tif' holds Float32 values; labels must be 8-bit"),
    Case("label-with-five-bands", "geocodemask", lambda ws: {
        "INPUT": _raster(ws, "five.tif", np.ones((5, 100, 100), np.uint8), crs=None, origin=None),
        "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")}, message=r"five\.tif' has 5 bands"),
    Case("label-is-a-photo", "geocodemask", lambda ws: {
        "INPUT": str(write_png(ws.path("photo.png"), np.random.default_rng(1).integers(0, 255, (3, 100, 100),
                                                                                        dtype=np.uint8))),
        "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")}, message=r"more than 255 distinct colours"),
    # a NaN-only reference without declared nodata: before, every pixel was marked valid
    Case("reference-of-nan-only", "geocodemask", lambda ws: {
        "INPUT": ws["label_png"], "REFERENCE": _label_like(ws, "nan.tif", np.full((100, 100), np.nan, np.float32)),
        "OUTPUT": ws.out("g.tif")}, message=r"reference raster .*nan\.tif' holds only nodata"),
    Case("label-is-a-container-of-subdatasets", "geocodemask", lambda ws: {
        "INPUT": _product_metadata(ws), "REFERENCE": ws["reference"], "OUTPUT": ws.out("g.tif")},
        message=r"MTD_MSIL2A\.xml' has no raster bands"),
    Case("reference-missing", "geocodemask", lambda ws: {
        "INPUT": ws["label_png"], "REFERENCE": str(ws.path("gone.tif")), "OUTPUT": ws.out("g.tif")},
        message=r"gone\.tif' does not exist"),
]

FOOTPRINT = [
    # before: ran until killed
    Case("label-of-a-million-squared-pixels", "maskfootprint", lambda ws: {
        "INPUT": [ws["label"], _vrt(ws, "huge.vrt")], "OUTPUT": ws.out("f.gpkg")},
        message=r"label .*huge\.vrt' is " + TOO_LARGE, seconds=FAST, cli=True),
    # before: silently became EPSG:4326
    Case("target-crs-unknown-code", "maskfootprint", lambda ws: {
        "INPUT": [ws["label"]], "TARGET_CRS": "EPSG:999999", "OUTPUT": ws.out("f.gpkg")},
        message=r"TARGET_CRS\)?: '?EPSG:999999'? is not a coordinate reference system", cli=True),
    Case("target-crs-nonsense", "maskfootprint", lambda ws: {
        "INPUT": [ws["label"]], "TARGET_CRS": "north-up please", "OUTPUT": ws.out("f.gpkg")},
        message=r"TARGET_CRS\)?: .*north-up please.* is not a coordinate reference system"),
    Case("label-png-without-georeferencing", "maskfootprint", lambda ws: {
        "INPUT": [ws["label_png"]], "OUTPUT": ws.out("f.gpkg")},
        message=r"drawn_label\.png' is not georeferenced.*Geocode label mask"),
    Case("label-with-transform-but-no-crs", "maskfootprint", lambda ws: {
        "INPUT": [_raster(ws, "nocrs.tif", np.ones((10, 10), np.uint8), crs=None)], "OUTPUT": ws.out("f.gpkg")},
        message=r"nocrs\.tif' is not georeferenced: it has no coordinate reference system\."),
    Case("label-all-nodata", "maskfootprint", lambda ws: {
        "INPUT": [_label_like(ws, "blank.tif", np.full((20, 20), 255, np.uint8), nodata=255)],
        "OUTPUT": ws.out("f.gpkg")}, message=r"blank\.tif' is empty: it has no valid"),
    # NaN without declared nodata: before, the footprint was the whole raster
    Case("label-of-nan-only", "maskfootprint", lambda ws: {
        "INPUT": [_label_like(ws, "nan.tif", np.full((20, 20), np.nan, np.float32))], "OUTPUT": ws.out("f.gpkg")},
        message=r"nan\.tif' is empty: it has no valid"),
    Case("label-is-text-named-tif", "maskfootprint", lambda ws: {
        "INPUT": [ws.write("label.tif", "GeoTIFF? no.")], "OUTPUT": ws.out("f.gpkg")},
        message=r"label\.tif' cannot be read as an image"),
    Case("label-is-an-empty-file", "maskfootprint", lambda ws: {
        "INPUT": [ws.write("label.tif", b"")], "OUTPUT": ws.out("f.gpkg")}, message=r"label\.tif' is an empty file"),
    Case("label-is-a-link-loop", "maskfootprint", lambda ws: {
        "INPUT": [_symlink_loop(ws, "label.tif")], "OUTPUT": ws.out("f.gpkg")},
        message=r"label\.tif' is a link that loops back on itself"),
    Case("label-without-bands", "maskfootprint", lambda ws: {
        "INPUT": [_vrt(ws, "bandless.vrt", size=10, bands=0)], "OUTPUT": ws.out("f.gpkg")},
        message=r"bandless\.vrt' cannot be read as an image: Missing one of rasterXSize, rasterYSize or bands"),
    Case("label-is-a-container-of-subdatasets", "maskfootprint", lambda ws: {
        "INPUT": [_product_metadata(ws)], "OUTPUT": ws.out("f.gpkg")},
        message=r"MTD_MSIL2A\.xml' has no raster bands"),
    Case("second-label-missing", "maskfootprint", lambda ws: {
        "INPUT": [ws["label"], str(ws.path("gone.tif"))], "OUTPUT": ws.out("f.gpkg")},
        message=r"gone\.tif' does not exist"),
]

CROP = [
    # before: all 23 GB used, OOM-killed
    Case("label-of-a-million-squared-pixels", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": _vrt(ws, "huge.vrt"), **_pair(ws)},
        message=r"label .*huge\.vrt' is " + TOO_LARGE, seconds=FAST, cli=True),
    # before: ran until killed although nothing overlaps; now the extents are compared first
    Case("huge-label-far-from-the-scene", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": _vrt(ws, "far.vrt", origin=(200000, 1000000), pixel=0.001), **_pair(ws)},
        message=r"far\.vrt' and the scene .* do not overlap", seconds=FAST, cli=True),
    Case("scene-pixels-too-fine-for-the-label", "cropscene", lambda ws: {
        "SCENE": _vrt(ws, "fine.vrt", pixel=0.001), "LABEL": ws["label"], **_pair(ws)},
        message=r"part of the scene .*fine\.vrt' under the label .* more than the limit .*To go on, use a smaller "
                r"label", seconds=FAST),
    # 2 cm pixels: the window under the label is 640 megapixels (within the pixel limit) and would need about
    # 5.8 GB at once; the memory limit is set, as the default (half the machine's memory) depends on the machine
    Case("window-beyond-the-memory-limit", "cropscene", lambda ws: {
        "SCENE": _vrt(ws, "orthophoto.vrt", pixel=0.02), "LABEL": ws["label"], **_pair(ws)},
        env={"LABELMIGRATION_MAX_MEMORY_MB": "1000"},
        message=r"Cropping the scene .*orthophoto\.vrt' to the label .* would need 5,\d{3} MB of memory, more than the "
                r"limit of 1,000 MB\. To go on, use a smaller label", seconds=FAST),
    Case("label-png-without-georeferencing", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": ws["label_png"], **_pair(ws)},
        message=r"drawn_label\.png' is not georeferenced.*Geocode label mask"),
    Case("band-number-out-of-range", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": ws["label"], "BANDS": [2, 9], **_pair(ws)},
        message=r"scene .* has no band 9 \(it has 4\)"),
    Case("band-name-unknown", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": ws["label"], "BAND_NAMES": "B04,NIR2", **_pair(ws)},
        message=r"has no band named NIR2 \(its bands: B02, B03, B04, B08\)"),
    Case("scene-of-nan-only", "cropscene", lambda ws: {
        "SCENE": _raster(ws, "nan.tif", np.full((2, 120, 120), np.nan, np.float32), origin=(ULX + 200, ULY - 200)),
        "LABEL": ws["label"], **_pair(ws)}, message=r"nan\.tif' has no data under the label"),
    # before: a traceback
    Case("product-with-truncated-jp2s", "cropscene", lambda ws: {
        "SCENE": _product_zip(ws, change=_truncated_jp2s), "LABEL": ws["label"], "BAND_NAMES": "B02,B8A",
        **_pair(ws)}, message=r"band file '.*_B02_10m\.jp2' is corrupt or unreadable", cli=True),
    # before: a traceback
    Case("product-quantification-not-a-number", "cropscene", lambda ws: {
        "SCENE": _product_zip(ws, change=_product_xml(r"(QUANTIFICATION_VALUE[^>]*>)10000", r"\g<1>abc")),
        "LABEL": ws["label"], **_pair(ws)}, message=r"gives the BOA_QUANTIFICATION_VALUE as 'abc'"),
    # before: 3.3 GB of memory
    Case("product-metadata-bomb", "cropscene", lambda ws: {
        "SCENE": _bomb(ws), "LABEL": ws["label"], **_pair(ws)},
        message=r"MTD_MSIL2A\.xml' is 1,07\d MB, more than the limit of 64 MB", seconds=FAST),
    Case("product-image-file-outside", "cropscene", lambda ws: {
        "SCENE": _product_zip(ws, change=_product_xml(r"<IMAGE_FILE>GRANULE", "<IMAGE_FILE>../../../GRANULE")),
        "LABEL": ws["label"], **_pair(ws)}, message=r"lists the image file '\.\./\.\./\.\./GRANULE.*outside the product"),
    Case("label-is-an-empty-file", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": ws.write("label.tif", b""), **_pair(ws)},
        message=r"label\.tif' is an empty file"),
    Case("label-is-text-named-tif", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": ws.write("label.tif", "<html>not found</html>"), **_pair(ws)},
        message=r"label\.tif' cannot be read as an image"),
]

STACK = [
    # before: ran until killed
    Case("inputs-of-a-million-squared-pixels", "stackbands", lambda ws: {
        "INPUTS": [_vrt(ws, "huge.vrt"), _vrt(ws, "huge2.vrt")], "OUTPUT": ws.out("s.tif")},
        message=r"input raster .*huge\.vrt' is " + TOO_LARGE, seconds=FAST, cli=True),
    Case("multiband-input", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], ws["scene"]], "OUTPUT": ws.out("s.tif")},
        message=r"scene\.tif' has 4 bands; stacking takes single-band rasters", cli=True),
    Case("two-band-input", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _raster(ws, "two.tif", np.ones((2, 120, 120), np.uint8))], "OUTPUT": ws.out("s.tif")},
        message=r"two\.tif' has 2 bands"),
    Case("colour-rgb-input", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _raster(ws, "rgb.tif", np.stack([np.full((120, 120), v, np.uint8) for v in (1, 2, 3)]),
                                        origin=(ULX + 200, ULY - 200))], "OUTPUT": ws.out("s.tif")},
        message=r"rgb\.tif' has 3 different bands"),
    Case("sizes-differ", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _raster(ws, "small.tif", np.ones((60, 60), np.uint8), origin=(ULX + 200, ULY - 200))],
        "OUTPUT": ws.out("s.tif")}, message=r"small\.tif' is 60 x 60 pixels but .*truth\.tif' is 120 x 120"),
    Case("grids-differ", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _raster(ws, "shifted.tif", np.ones((120, 120), np.uint8), origin=(ULX + 210, ULY - 200))],
        "OUTPUT": ws.out("s.tif")}, message=r"shifted\.tif' lies on a different grid"),
    Case("crs-differs", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _raster(ws, "utm33.tif", np.ones((120, 120), np.uint8), crs="EPSG:32633",
                                        origin=(ULX + 200, ULY - 200))], "OUTPUT": ws.out("s.tif")},
        message=r"utm33\.tif' has a different coordinate reference system"),
    Case("georeferenced-and-not", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _raster(ws, "plain.tif", np.ones((120, 120), np.uint8), crs=None, origin=None)],
        "OUTPUT": ws.out("s.tif")}, message=r"truth\.tif' is georeferenced but .*plain\.tif' is not"),
    Case("band-names-count", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], ws["prediction"]], "BAND_NAMES": "red,green,blue", "OUTPUT": ws.out("s.tif")},
        message=r"3 band names were given for 2 input rasters"),
    Case("band-name-empty", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], ws["prediction"]], "BAND_NAMES": "red,", "OUTPUT": ws.out("s.tif")},
        message=r"include an empty name"),
    Case("input-is-text-named-tif", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], ws.write("band.tif", "no pixels here")], "OUTPUT": ws.out("s.tif")},
        message=r"band\.tif' cannot be read as an image"),
    Case("input-is-an-empty-file", "stackbands", lambda ws: {
        "INPUTS": [ws.write("band.tif", b""), ws["truth"]], "OUTPUT": ws.out("s.tif")},
        message=r"band\.tif' is an empty file"),
    Case("input-is-a-link-loop", "stackbands", lambda ws: {
        "INPUTS": [ws["truth"], _symlink_loop(ws, "band.tif")], "OUTPUT": ws.out("s.tif")},
        message=r"band\.tif' is a link that loops back on itself"),
    # a NaN-only band is stacked as it is, but the user is told
    Case("input-of-nan-only", "stackbands", lambda ws: {
        "INPUTS": [_raster(ws, "nan.tif", np.full((20, 20), np.nan, np.float32)),
                   _raster(ws, "ones.tif", np.ones((20, 20), np.float32))], "OUTPUT": ws.out("s.tif")},
        warning=r"nan\.tif' holds no data", may_write=True),
]

SAFE = [
    # before: 3.3 GB of memory
    Case("metadata-bomb", "safetogeotiff", lambda ws: {"INPUT": _bomb(ws), "OUTPUT": ws.out("s.tif")},
         message=r"MTD_MSIL2A\.xml' is 1,07\d MB, more than the limit of 64 MB for a metadata file .*raise "
                 r"'Largest metadata file \(MB\)'", seconds=FAST, cli=True),
    # before: 94 % infinities, exit code 0
    Case("quantification-zero", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_product_xml(r"(QUANTIFICATION_VALUE[^>]*>)10000", r"\g<1>0")),
        "REFLECTANCE": True, "OUTPUT": ws.out("s.tif")},
        message=r"gives the BOA_QUANTIFICATION_VALUE as '0', which is not a positive number", cli=True),
    Case("quantification-negative", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_product_xml(r"(QUANTIFICATION_VALUE[^>]*>)10000", r"\g<1>-10000")),
        "REFLECTANCE": True, "OUTPUT": ws.out("s.tif")}, message=r"BOA_QUANTIFICATION_VALUE as '-10000'"),
    # before: a traceback
    Case("quantification-not-a-number", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_product_xml(r"(QUANTIFICATION_VALUE[^>]*>)10000", r"\g<1>abc")),
        "OUTPUT": ws.out("s.tif")}, message=r"BOA_QUANTIFICATION_VALUE as 'abc'", cli=True),
    Case("offset-not-a-number", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_product_xml(r'(<BOA_ADD_OFFSET band_id="1">)-1000', r"\g<1>NaN")),
        "REFLECTANCE": True, "OUTPUT": ws.out("s.tif")}, message=r"BOA_ADD_OFFSET of band B02 as 'NaN'"),
    Case("truncated-jp2s", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_truncated_jp2s), "BANDS": "B03", "OUTPUT": ws.out("s.tif")},
        message=r"band file '.*_B03_10m\.jp2' is corrupt or unreadable"),
    # zip-slip: every entry under ../../ (never extracted, so nothing can land outside)
    Case("zip-slip-entries", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, prefix="../../"), "OUTPUT": ws.out("s.tif")},
        message=r"is not a Sentinel-2 SAFE product"),
    Case("image-file-outside-the-product", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_product_xml(r"<IMAGE_FILE>GRANULE", "<IMAGE_FILE>/etc/GRANULE")),
        "OUTPUT": ws.out("s.tif")}, message=r"lists the image file '/etc/GRANULE.*outside the product"),
    Case("billion-laughs", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_with_doctype(_LAUGHS, "i")), "OUTPUT": ws.out("s.tif")},
        message=r"MTD_MSIL2A\.xml' of .* is not valid XML: it declares a document type", seconds=FAST),
    Case("external-entity", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_with_doctype(_XXE, "secret")), "OUTPUT": ws.out("s.tif")},
        message=r"is not valid XML: it declares a document type"),
    Case("tile-size-not-a-number", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_tile_xml(r"<NCOLS>120</NCOLS>", "<NCOLS>12O</NCOLS>")),
        "OUTPUT": ws.out("s.tif")}, message=r"MTD_TL\.xml' gives NCOLS as '12O'"),
    Case("tile-grid-of-a-million-squared-pixels", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_tile_xml(r"<(NCOLS|NROWS)>120<", r"<\1>1000000<")),
        "BANDS": "B02", "OUTPUT": ws.out("s.tif")},
        message=r"B02_10m\.jp2' of product .* is 120 x 120 pixels, but the product's tile grid at 10 m is "
                r"1000000 x 1000000", seconds=FAST),
    Case("tile-crs-unknown", "safetogeotiff", lambda ws: {
        "INPUT": _product_zip(ws, change=_tile_xml(r"EPSG:32632", "EPSG:999999")), "OUTPUT": ws.out("s.tif")},
        message=r"names EPSG:999999, which is no coordinate reference system"),
    # a realistic product beyond the pixel limit would take minutes to build: a small limit instead
    Case("product-beyond-the-pixel-limit", "safetogeotiff", lambda ws: {
        "INPUT": ws["safe_zip"], "OUTPUT": ws.out("s.tif")}, env={"LABELMIGRATION_MAX_MEGAPIXELS": "0.01"},
        message=r"product .* at 10 m is 120 x 120 pixels .*more than the limit .*choose a coarser resolution"),
    Case("band-unknown", "safetogeotiff", lambda ws: {
        "INPUT": ws["safe_zip"], "BANDS": "B02,NIR", "OUTPUT": ws.out("s.tif")},
        message=r"'NIR' is not a Sentinel-2 band"),
    Case("band-missing-from-l2a", "safetogeotiff", lambda ws: {
        "INPUT": ws["safe_zip"], "BANDS": "B10", "OUTPUT": ws.out("s.tif")},
        message=r"L2A product .* has no band B10"),
    Case("zip-is-text", "safetogeotiff", lambda ws: {
        "INPUT": ws.write("product.zip", "PK? not really"), "OUTPUT": ws.out("s.tif")},
        message=r"product\.zip' is not a Sentinel-2 SAFE product"),
    Case("zip-is-an-empty-file", "safetogeotiff", lambda ws: {
        "INPUT": ws.write("product.zip", b""), "OUTPUT": ws.out("s.tif")}, message=r"product\.zip' is an empty file"),
    Case("folder-without-metadata", "safetogeotiff", lambda ws: {
        "INPUT": _folder(ws, "S2B_MSIL2A_X.SAFE"), "OUTPUT": ws.out("s.tif")},
        message=r"S2B_MSIL2A_X\.SAFE' is not a Sentinel-2 SAFE product"),
    Case("product-is-a-link-loop", "safetogeotiff", lambda ws: {
        "INPUT": _symlink_loop(ws, "product.zip"), "OUTPUT": ws.out("s.tif")},
        message=r"product\.zip' is a link that loops back on itself"),
]

CASES = GEOCODE + FOOTPRINT + CROP + STACK + SAFE
# Cases that wait for a change outside this table's files; strict, so that the change makes them fail
# until they are taken off this list.
PENDING = {}


def _params(cases):
    return [pytest.param(case, id=str(case), marks=[pytest.mark.xfail(strict=True, reason=PENDING[str(case)])]
                         if str(case) in PENDING else []) for case in cases]


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_rasters(case, check_bad_input):
    check_bad_input(case)


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_rasters_through_qgis_process(case, check_bad_input_cli):
    check_bad_input_cli(case)


def test_every_algorithm_has_ten_cases_and_two_through_qgis_process():
    for algorithm in ("geocodemask", "maskfootprint", "cropscene", "stackbands", "safetogeotiff"):
        cases = [case for case in CASES if case.algorithm == algorithm and str(case) not in PENDING]
        assert len(cases) >= 10 and sum(case.cli for case in cases) >= 2, algorithm
