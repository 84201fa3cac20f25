"""Bad-input table: the model algorithms and their label tools (cloudmask, segment, rasterizelabels,
evaluatesegmentation). Hostile models are built with onnx.helper in each case's folder.

Where the expected answers come from:
* the issue's report (issue 13), for what used to end with exit code 0 or a traceback: a model that
  outputs NaN gave 0 % cloud; an all-NaN input without declared nodata gave 100 % cloud; a layer that
  does not overlap the reference gave an all-background raster; a POSITIVE class not present was
  ignored; TILE_SIZE or a model input of 100,000 px asked for a 74.5 GiB allocation; a 1,000,000 x
  1,000,000 VRT ran until killed; class JSON nested 5,000 deep raised RecursionError; CSV outputs in
  folders that cannot be written raised PermissionError; m.tif stayed behind after the polygon step
  of cloudmask failed. Each must now fail with a message naming the file or parameter and the
  problem, leaving nothing behind.
* the parameter definitions (THRESHOLD 0..1, TILE_SIZE at most 8192, OVERLAP at most 4096) and the
  ONNX conventions of core/models/onnx_model.py (one float tensor (batch, bands, rows, cols) in, (batch,
  classes, rows, cols) out, at most 255 classes) for the other hostile models and values.
"""
import dataclasses
import json
import math
import os
import shutil

import numpy as np
import pytest

from labelmigration.tests.support.bad_inputs import ULX, ULY, Case, ids
from labelmigration.tests.support.onnx_models import (conv_model, integer_input_model, rank3_model, repeat_model,
                                                      scaled_model, slice_model, two_input_model)
from labelmigration.tests.support.rasters import from_origin, write_raster

pytestmark = pytest.mark.qgis

S2_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
CLOUD_METADATA = {"model_type": "Segmentor", "bands": ["B02", "B03", "B04", "B08"], "reflectance_scale": 1e-4,
                  "class_names": {"0": "clear", "1": "cloud"}, "tile_size": 64, "tiles_overlap": 10}
SCENE_GRID = from_origin(ULX + 200, ULY - 200, 10, 10)


# -- inputs a case breaks, made in its own folder ---------------------------------------------------------------
def _model(ws, name="model.onnx", channels=4, scale=1e-4, metadata=None, **kwargs):
    return str(scaled_model(ws.path(name), channels, scale, metadata=metadata, **kwargs))


def _huge_vrt(ws, source, bands, data_type="UInt16", name="huge.vrt", size=1_000_000):
    """A VRT declaring size x size pixels over a small real raster (the issue's 1,000,000 x 1,000,000).

    Not for cases run through qgis_process: QGIS computes approximate statistics of the layer as it loads
    it, and GDAL writes them into the .vrt itself, before the algorithm is even called."""
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    band_xml = "".join(
        f'<VRTRasterBand dataType="{data_type}" band="{number}"><Description>{description}</Description>'
        f'<SimpleSource><SourceFilename relativeToVRT="0">{source}</SourceFilename><SourceBand>{min(number, 4)}'
        f'</SourceBand></SimpleSource></VRTRasterBand>' for number, description in enumerate(bands, start=1))
    return ws.write(name, f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}"><SRS>{srs.ExportToWkt()}</SRS>'
                          f'<GeoTransform>{ULX + 200}, 10, 0, {ULY - 200}, 0, -10</GeoTransform>{band_xml}'
                          f'</VRTDataset>')


def _scene_like(ws, array, name="image.tif", crs="EPSG:32632", nodata=None):
    return str(write_raster(ws.path(name), array, crs, SCENE_GRID, nodata=nodata,
                            descriptions=("B02", "B03", "B04", "B08")[:array.shape[0]]))


def _classes_raster(ws, array, name, crs="EPSG:32632", transform=SCENE_GRID, nodata=None):
    return str(write_raster(ws.path(name), array, crs, transform, nodata=nodata))


def _own(ws, name):
    """A private copy of a library raster, for cases run through qgis_process: QGIS computes statistics of
    the rasters it loads and GDAL keeps them in '<raster>.aux.xml', which a shared input would accumulate."""
    target = ws.path("own_" + os.path.basename(ws[name]))
    shutil.copy(ws[name], target)
    return str(target)


def _folder(ws, name):
    ws.path(name).mkdir()
    return str(ws.path(name))


def _config(entries):
    return json.dumps(entries)


WATER = {"name": "water", "color": "#0000ff", "filter": "label = 'label_20200815'"}
UNWRITABLE = "/proc/labelmigration-test/out.csv"  # /proc takes no new files, not even from root


def _empty_layer(ws):
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    path = str(ws.path("empty.gpkg"))
    source = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = source.CreateLayer("labels", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTString))
    source = None
    return path


# -- cloudmask ----------------------------------------------------------------------------------------------------
CLOUDMASK = [
    # the issue: a model that outputs NaN gave 0 % cloud with exit code 0
    Case("model-outputs-nan", "cloudmask", lambda ws: {
        "INPUT": _own(ws, "scene"), "MODEL": _model(ws, scale=math.nan, metadata=CLOUD_METADATA),
        "OUTPUT": ws.out("m.tif"), "OUTPUT_PROBABILITY": ws.out("p.tif")},
        message=r"model\.onnx' produced NaN \(not a number\) or infinity for 100 % of the valid pixels.*no output "
                r"was written", cli=True),
    # the issue: an all-NaN input without declared nodata gave 100 % cloud
    Case("all-nan-input-without-nodata", "cloudmask", lambda ws: {
        "INPUT": _scene_like(ws, np.full((4, 120, 120), np.nan, np.float32)), "MODEL": ws["model"],
        "OUTPUT": ws.out("m.tif")}, message=r"image\.tif' has no valid pixel in the bands used \(1, 2, 3, 4\)",
        cli=True),
    Case("all-nodata-input", "cloudmask", lambda ws: {
        "INPUT": _scene_like(ws, np.zeros((4, 120, 120), np.uint16), nodata=0), "MODEL": ws["model"],
        "OUTPUT": ws.out("m.tif")}, message=r"has no valid pixel.*nothing to predict"),
    # the issue: TILE_SIZE 100,000 asked for a 74.5 GiB allocation and tracebacked
    Case("tile-size-100000", "cloudmask", lambda ws: {
        "INPUT": _own(ws, "scene"), "MODEL": ws["model"], "TILE_SIZE": 100_000, "OUTPUT": ws.out("m.tif")},
        message=r"Tile size \(TILE_SIZE\): 100000 is above the maximum of 8192", cli=True),
    # the issue: a model input of 100,000 px (fixed in the model, no parameter can refuse it)
    Case("model-input-100000-px", "cloudmask", lambda ws: {
        "INPUT": _own(ws, "scene"), "MODEL": _model(ws, size=100_000, metadata=CLOUD_METADATA),
        "OUTPUT": ws.out("m.tif")},
        message=r"tiles of 100,000 x 100,000 pixels .* would need [\d,]+ MB of memory, more than the limit.*use a "
                r"model made for smaller tiles", cli=True),
    Case("tile-larger-than-memory-limit", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "TILE_SIZE": 8192, "OUTPUT": ws.out("m.tif")},
        env={"LABELMIGRATION_MAX_MEMORY_MB": "200"},
        message=r"would need [\d,]+ MB of memory, more than the limit of 200 MB\. To go on, use a tile size "
                r"\(TILE_SIZE\) of at most [\d,]+ pixels"),
    Case("overlap-over-half-the-tile", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "TILE_SIZE": 64, "OVERLAP": 60, "OUTPUT": ws.out("m.tif")},
        message=r"overlap of 60 pixels .* more than half of the 64-pixel tiles.*at most 32 pixels"),
    Case("overlap-above-maximum", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "OVERLAP": 50_000, "OUTPUT": ws.out("m.tif")},
        message=r"Overlap \(OVERLAP\): 50000 is above the maximum of 4096"),
    # the issue: a 1,000,000 x 1,000,000 VRT ran until killed, leaving a .part file of 185-264 MB
    Case("vrt-of-a-million-squared", "cloudmask", lambda ws: {
        "INPUT": _huge_vrt(ws, ws["scene"], ["B02", "B03", "B04", "B08"]), "MODEL": ws["model"],
        "OUTPUT": ws.out("m.tif")}, message=r"huge\.vrt' is 1,000,000 x 1,000,000 pixels .* more than the limit of "
                                            r"[\d,]+ megapixels\. To go on, crop it first"),
    Case("model-takes-13-bands", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": _model(ws, channels=13), "OUTPUT": ws.out("m.tif")},
        message=r"takes 13 bands but .*scene\.tif' has only 4 \(bands 5 to 13 missing\)"),
    Case("model-needs-13-named-bands", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": _model(ws, channels=13, metadata={"bands": S2_BANDS}),
        "OUTPUT": ws.out("m.tif")},
        message=r"needs band\(s\) B01, B05, B06, B07, B8A, B09, B10, B11, B12 which .*scene\.tif' lacks"),
    Case("bands-that-do-not-exist", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "BANDS": "B02,B03,B04,B99", "OUTPUT": ws.out("m.tif")},
        message=r"Asked for band\(s\) B99 which .*scene\.tif' lacks \(its bands: 1: 'B02'"),
    Case("band-number-out-of-range", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "BANDS": "1,2,3,9", "OUTPUT": ws.out("m.tif")},
        message=r"scene\.tif' has no band 9; it has bands 1 to 4"),
    Case("threshold-above-one", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "THRESHOLD": 1.5, "OUTPUT": ws.out("m.tif")},
        message=r"Threshold \(THRESHOLD\): 1\.5 is above the maximum of 1"),
    Case("file-that-is-not-onnx", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws.write("model.onnx", "not a model"), "OUTPUT": ws.out("m.tif")},
        message=r"model\.onnx' is not an ONNX model onnxruntime can load"),
    Case("model-is-a-folder", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": _folder(ws, "model.onnx"), "OUTPUT": ws.out("m.tif")},
        message=r"model\.onnx' is a folder; give the \.onnx file"),
    Case("model-input-is-not-float", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(integer_input_model(ws.path("u8.onnx"), 4)), "OUTPUT": ws.out("m.tif")},
        message=r"u8\.onnx' takes input of type tensor\(uint8\); only models that take floating-point tensors"),
    Case("model-input-rank-3", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(rank3_model(ws.path("r3.onnx"))), "OUTPUT": ws.out("m.tif")},
        message=r"r3\.onnx' takes input of shape \[1, 'rows', 'cols'\] \(rank 3\)"),
    Case("model-with-0-output-channels", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(slice_model(ws.path("empty.onnx"), 4, 0)), "OUTPUT": ws.out("m.tif")},
        message=r"empty\.onnx' returns 0 output channels"),
    Case("nan-standardization-in-metadata", "cloudmask", lambda ws: {
        "INPUT": ws["scene"],
        "MODEL": _model(ws, metadata={**CLOUD_METADATA, "standardization_std": [1, math.nan, 1, 1]}),
        "OUTPUT": ws.out("m.tif")}, message=r"standardization_std = \[1\.0, nan, 1\.0, 1\.0\], which holds a value "
                                            r"that is not a finite number"),
    # the issue: m.tif stayed behind after the polygon step failed
    Case("polygons-of-an-image-without-crs", "cloudmask", lambda ws: {
        "INPUT": str(write_raster(ws.path("nocrs.tif"), np.full((4, 40, 40), 3000, np.uint16), None, SCENE_GRID,
                                  descriptions=("B02", "B03", "B04", "B08"))),
        "MODEL": ws["model"], "OUTPUT": ws.out("m.tif"), "OUTPUT_VECTOR": ws.out("clouds.gpkg")},
        message=r"Cloud polygons \(OUTPUT_VECTOR\) need a georeferenced image.*nocrs\.tif"),
    Case("polygons-in-a-folder-that-cannot-be-written", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "OUTPUT": ws.out("m.tif"),
        "OUTPUT_VECTOR": "/proc/labelmigration-test/clouds.gpkg"},
        message=r"Cannot write the cloud polygons \(OUTPUT_VECTOR\) '/proc/labelmigration-test/clouds\.gpkg': the "
                r"folder '/proc' is not writable"),
    Case("model-returns-logits", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(conv_model(ws.path("logits.onnx"), np.full((1, 4, 1, 1), 1e-3, np.float32),
                                                      [-3.0], sigmoid=False, metadata=CLOUD_METADATA)),
        "OUTPUT": ws.out("m.tif")},
        warning=r"logits\.onnx' returned values outside 0\.\.1 for 100 % of the valid pixels.*output_activation",
        may_write=True),
]

# -- segment ------------------------------------------------------------------------------------------------------
SEGMENT = [
    # the issue: CSV outputs in folders that cannot be written tracebacked (PermissionError)
    Case("counts-in-a-folder-that-cannot-be-written", "segment", lambda ws: {
        "INPUT": _own(ws, "scene"), "MODEL": ws["model"], "OUTPUT": ws.out("c.tif"), "OUTPUT_COUNTS": UNWRITABLE},
        message=r"Cannot write the counts output '/proc/labelmigration-test/out\.csv': the folder '/proc' is not "
                r"writable", cli=True),
    # the issue: segment ran until killed on a 1,000,000 x 1,000,000 VRT
    Case("vrt-of-a-million-squared", "segment", lambda ws: {
        "INPUT": _huge_vrt(ws, ws["scene"], ["B02", "B03", "B04", "B08"]), "MODEL": ws["model"],
        "OUTPUT": ws.out("c.tif"), "OUTPUT_COUNTS": ws.out("counts.csv")},
        message=r"huge\.vrt' is 1,000,000 x 1,000,000 pixels"),  # not through qgis_process: see _huge_vrt
    Case("model-outputs-nan", "segment", lambda ws: {
        "INPUT": _own(ws, "scene"), "MODEL": _model(ws, scale=math.nan, classes=3), "OUTPUT": ws.out("c.tif"),
        "OUTPUT_HEATMAPS": ws.out("h.tif"), "OUTPUT_COUNTS": ws.out("counts.csv")},
        message=r"produced NaN \(not a number\) or infinity for 100 % of the valid pixels", cli=True),
    Case("model-with-300-classes", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(repeat_model(ws.path("many.onnx"), 4, 300)), "OUTPUT": ws.out("c.tif")},
        message=r"many\.onnx' returns 300 classes; a class raster holds at most 255"),
    Case("model-with-0-output-channels", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(slice_model(ws.path("empty.onnx"), 4, 0)), "OUTPUT": ws.out("c.tif")},
        message=r"returns 0 output channels"),
    Case("model-with-two-inputs", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(two_input_model(ws.path("two.onnx"), 4)), "OUTPUT": ws.out("c.tif")},
        message=r"two\.onnx' takes 2 inputs \(input, mask\)"),
    Case("model-is-an-empty-file", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws.write("empty.onnx", ""), "OUTPUT": ws.out("c.tif")},
        message=r"empty\.onnx' is an empty file"),
    Case("model-input-is-not-float", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(integer_input_model(ws.path("u8.onnx"), 4)), "OUTPUT": ws.out("c.tif")},
        message=r"takes input of type tensor\(uint8\)"),
    Case("fewer-bands-chosen-than-the-model-takes", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "BANDS": "1,2", "OUTPUT": ws.out("c.tif")},
        message=r"takes 4 bands but 2 were chosen \(\[1, 2\]\); name 4 bands in BANDS"),
    # the issue: class JSON nested 5,000 deep raised RecursionError
    Case("class-config-nested-5000-deep", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "CLASSES": "[" * 5000 + "]" * 5000, "OUTPUT": ws.out("c.tif")},
        message=r"class configuration is not valid JSON for a class configuration: it is nested too deeply"),
    Case("class-colour-that-is-no-colour", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "OUTPUT": ws.out("c.tif"),
        "CLASSES": _config([{**WATER, "color": "banana"}])},
        message=r"Class 1 \('water'\) has the colour 'banana', which is not a colour"),
    Case("class-config-file-too-large", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "OUTPUT": ws.out("c.tif"),
        "CLASSES": ws.write("classes.json", _config([WATER]) + " " * 4000)},
        env={"LABELMIGRATION_MAX_METADATA_MB": "0.001"},
        message=r"class configuration file .*classes\.json' is [\d.]+ MB, more than the limit"),
    Case("nan-input-scale-in-metadata", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": _model(ws, metadata={"reflectance_scale": "NaN"}), "OUTPUT": ws.out("c.tif")},
        message=r"reflectance_scale = \[nan\], which holds a value that is not a finite number"),
    Case("class-without-a-name-in-the-config", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": str(conv_model(ws.path("three.onnx"), np.zeros((3, 4, 1, 1), np.float32),
                                                      [0.0, 0.0, 5.0])),  # class 2 wins everywhere
        "CLASSES": _config([WATER]),
        "OUTPUT": ws.out("c.tif"), "OUTPUT_COUNTS": ws.out("counts.csv")},
        warning=r"Class 2 \(\d+ pixels\) has no name in the class config", may_write=True),
]

# -- rasterizelabels ----------------------------------------------------------------------------------------------
_FAR_REFERENCE = lambda ws: str(write_raster(  # noqa: E731 (a reference 200 km east of the labels)
    ws.path("far.tif"), np.zeros((50, 50), np.uint8), "EPSG:32632", from_origin(ULX + 200_000, ULY, 10, 10)))

RASTERIZE = [
    # the issue: a layer that does not overlap the reference gave an all-background raster
    Case("labels-do-not-overlap-the-reference", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": ws["classes"], "REFERENCE": _FAR_REFERENCE(ws),
        "OUTPUT": ws.out("l.tif")},
        message=r"labels layer INPUT \('footprints'\) does not overlap the reference raster REFERENCE \('.*far\.tif'\)"
                r".*all background", cli=True),
    # the issue: class JSON nested 5,000 deep raised RecursionError
    Case("class-config-nested-5000-deep", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": "[" * 5000 + "]" * 5000, "REFERENCE": _own(ws, "scene"),
        "OUTPUT": ws.out("l.tif")}, message=r"nested too deeply", cli=True),
    Case("class-config-file-too-large", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": ws.write("classes.json", _config([WATER]) + " " * 4000),
        "REFERENCE": ws["scene"], "OUTPUT": ws.out("l.tif")}, env={"LABELMIGRATION_MAX_METADATA_MB": "0.001"},
        message=r"classes\.json' is [\d.]+ MB, more than the limit of [\d.]+ MB for a metadata file"),
    Case("class-colour-that-is-no-colour", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": _config([{**WATER, "color": [300, 0, 0]}]), "REFERENCE": ws["scene"],
        "OUTPUT": ws.out("l.tif")}, message=r"Class 1 \('water'\) has the colour \[300, 0, 0\], which is not a colour"),
    Case("filter-that-is-no-expression", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": _config([{**WATER, "filter": "label = = 'x'"}]),
        "REFERENCE": ws["scene"], "OUTPUT": ws.out("l.tif")},
        message=r"The filter of class 'water' is not a valid expression"),
    Case("filter-naming-a-missing-field", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": _config([{**WATER, "filter": "\"landuse\" = 'water'"}]),
        "REFERENCE": ws["scene"], "OUTPUT": ws.out("l.tif")},
        message=r"filter of class 'water' .* names the field\(s\) landuse, which the labels layer INPUT does not "
                r"have; its fields are: .*label"),
    Case("reference-without-crs", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": ws["classes"], "OUTPUT": ws.out("l.tif"),
        "REFERENCE": str(write_raster(ws.path("nocrs.tif"), np.zeros((20, 20), np.uint8), None, SCENE_GRID))},
        message=r"reference raster REFERENCE \('.*nocrs\.tif'\) has no coordinate reference system"),
    Case("reference-vrt-of-a-million-squared", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": ws["classes"], "REFERENCE": _huge_vrt(ws, ws["scene"], ["B02"]),
        "OUTPUT": ws.out("l.tif")}, message=r"reference raster '.*huge\.vrt' is 1,000,000 x 1,000,000 pixels"),
    Case("layer-without-features", "rasterizelabels", lambda ws: {
        "INPUT": _empty_layer(ws), "CLASSES": ws["classes"], "REFERENCE": ws["scene"], "OUTPUT": ws.out("l.tif")},
        message=r"labels layer INPUT \('.*'\) has no features"),
    Case("class-entry-that-is-no-object", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": '["water"]', "REFERENCE": ws["scene"], "OUTPUT": ws.out("l.tif")},
        message=r"Class 1 of the class configuration is not a \{name, color, filter\} object"),
    Case("class-config-not-json", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": '[{"name": "water",', "REFERENCE": ws["scene"],
        "OUTPUT": ws.out("l.tif")}, message=r"class configuration is not valid JSON: .* at line 1"),
    Case("class-config-neither-json-nor-file", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": str(ws.path("missing.json")), "REFERENCE": ws["scene"],
        "OUTPUT": ws.out("l.tif")},
        message=r"neither JSON nor a file that can be read: .*missing\.json' does not exist"),
    Case("two-classes-one-colour", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": _config([WATER, {**WATER, "name": "lake"}]), "REFERENCE": ws["scene"],
        "OUTPUT": ws.out("l.tif")}, message=r"Class 2 \('lake'\) has the same colour as class 1"),
    Case("filter-matching-nothing", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": _config([{**WATER, "filter": "label = 'no such label'"}]),
        "REFERENCE": ws["scene"], "OUTPUT": ws.out("l.tif")},
        warning=r"No class covers any pixel of the reference grid: the class raster is all background",
        may_write=True),
]

# -- evaluatesegmentation -----------------------------------------------------------------------------------------
MULTI = np.tile(np.arange(3, dtype=np.uint8), (120, 40))  # classes 0, 1, 2

EVALUATE = [
    # the issue: POSITIVE not among the classes present was ignored
    Case("positive-class-not-present", "evaluatesegmentation", lambda ws: {
        "PREDICTION": _own(ws, "prediction"), "GROUND_TRUTH": _own(ws, "truth"), "POSITIVE": 7,
        "OUTPUT_TABLE": ws.out("confusion.csv")},
        message=r"positive class 7 \(POSITIVE\) is not among the classes present in the two rasters: 0, 1", cli=True),
    Case("no-overlap", "evaluatesegmentation", lambda ws: {
        "PREDICTION": _classes_raster(ws, np.ones((50, 50), np.uint8), "far.tif",
                                      transform=from_origin(ULX + 200_000, ULY, 10, 10)),
        "GROUND_TRUTH": _own(ws, "truth"), "OUTPUT_TABLE": ws.out("confusion.csv")},
        message=r"prediction '.*far\.tif' and the ground truth '.*truth\.tif' do not overlap", cli=True),
    # the issue: CSV outputs in folders that cannot be written tracebacked (PermissionError)
    Case("table-in-a-folder-that-cannot-be-written", "evaluatesegmentation", lambda ws: {
        "PREDICTION": _own(ws, "prediction"), "GROUND_TRUTH": _own(ws, "truth"), "OUTPUT_TABLE": UNWRITABLE},
        message=r"Cannot write the confusion matrix \(OUTPUT_TABLE\) '/proc/labelmigration-test/out\.csv'", cli=True),
    Case("truth-of-fractional-floats", "evaluatesegmentation", lambda ws: {
        "PREDICTION": ws["prediction"], "OUTPUT_TABLE": ws.out("confusion.csv"),
        "GROUND_TRUTH": _classes_raster(ws, np.full((120, 120), 0.25, np.float32), "float_truth.tif")},
        message=r"ground truth '.*float_truth\.tif' holds fractional values \(such as 0\.25\)"),
    Case("truth-that-is-an-image", "evaluatesegmentation", lambda ws: {
        "PREDICTION": ws["prediction"], "OUTPUT_TABLE": ws.out("confusion.csv"),
        "GROUND_TRUTH": _classes_raster(ws, np.arange(120 * 120, dtype=np.uint16).reshape(120, 120), "image.tif")},
        message=r"ground truth '.*image\.tif' holds more than 1024 distinct values"),
    Case("truth-of-huge-floats", "evaluatesegmentation", lambda ws: {
        "PREDICTION": ws["prediction"], "OUTPUT_TABLE": ws.out("confusion.csv"),
        "GROUND_TRUTH": _classes_raster(ws, np.full((120, 120), 1e20, np.float32), "huge_values.tif")},
        message=r"huge_values\.tif' holds values such as 1e\+20, far beyond any class number"),
    Case("truth-without-crs", "evaluatesegmentation", lambda ws: {
        "PREDICTION": ws["prediction"], "OUTPUT_TABLE": ws.out("confusion.csv"),
        "GROUND_TRUTH": _classes_raster(ws, np.zeros((120, 120), np.uint8), "nocrs.tif", crs=None)},
        message=r"ground truth '.*nocrs\.tif' is not georeferenced: it has no coordinate reference system"),
    Case("different-crs-without-overlap", "evaluatesegmentation", lambda ws: {
        "PREDICTION": _classes_raster(ws, np.ones((50, 50), np.uint8), "other_crs.tif", crs="EPSG:3035",
                                      transform=from_origin(2_000_000, 2_000_000, 10, 10)),
        "GROUND_TRUTH": ws["truth"], "OUTPUT_TABLE": ws.out("confusion.csv")}, message=r"do not overlap"),
    Case("truth-all-nodata", "evaluatesegmentation", lambda ws: {
        "PREDICTION": ws["prediction"], "OUTPUT_TABLE": ws.out("confusion.csv"),
        "GROUND_TRUTH": _classes_raster(ws, np.full((120, 120), 255, np.uint8), "empty_truth.tif", nodata=255)},
        message=r"have no valid pixels in common"),
    Case("truth-vrt-of-a-million-squared", "evaluatesegmentation", lambda ws: {
        "PREDICTION": ws["prediction"], "GROUND_TRUTH": _huge_vrt(ws, ws["truth"], ["class"], data_type="Byte"),
        "OUTPUT_TABLE": ws.out("confusion.csv")},
        message=r"ground truth '.*huge\.vrt' is 1,000,000 x 1,000,000 pixels"),
    Case("single-class-and-another-positive", "evaluatesegmentation", lambda ws: {
        "PREDICTION": _classes_raster(ws, np.zeros((120, 120), np.uint8), "clear_prediction.tif"),
        "GROUND_TRUTH": _classes_raster(ws, np.zeros((120, 120), np.uint8), "clear_truth.tif"),
        "OUTPUT_TABLE": ws.out("confusion.csv")},
        message=r"positive class 1 \(POSITIVE\) is not among the classes present in the two rasters: 0\. .*undefined"),
    Case("positive-with-three-classes", "evaluatesegmentation", lambda ws: {
        "PREDICTION": _classes_raster(ws, MULTI, "multi_prediction.tif"),
        "GROUND_TRUTH": _classes_raster(ws, MULTI, "multi_truth.tif"), "POSITIVE": 2,
        "OUTPUT_TABLE": ws.out("confusion.csv")},
        warning=r"POSITIVE \(2\) is used only when the rasters hold two classes; these hold 3", may_write=True),
]

CASES = CLOUDMASK + SEGMENT + RASTERIZE + EVALUATE


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_model_inputs(case, check_bad_input):
    check_bad_input(case)


CLI_CASES = [case for case in CASES if case.cli]


@pytest.fixture(scope="session")
def onnxruntime_path(tmp_path_factory):
    """onnxruntime alone on qgis_process's PYTHONPATH, as a user installs it into the Python QGIS runs."""
    from labelmigration.tests.gui.desktop_session import onnxruntime_folder

    return os.pathsep.join(filter(None, [str(onnxruntime_folder(tmp_path_factory.mktemp("onnxruntime"))),
                                         os.environ.get("PYTHONPATH")]))


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_model_inputs_through_qgis_process(case, check_bad_input_cli, onnxruntime_path):
    check_bad_input_cli(dataclasses.replace(case, env={**case.env, "PYTHONPATH": onnxruntime_path}))


def test_the_table_covers_each_algorithm():
    """The issue asks for at least 10 bad inputs per algorithm, some of them through qgis_process."""
    for algorithm in ("cloudmask", "segment", "rasterizelabels", "evaluatesegmentation"):
        cases = [case for case in CASES if case.algorithm == algorithm]
        assert len(cases) >= 10 and sum(case.cli for case in cases) >= 2, algorithm
    assert len(set(ids(CASES))) == len(CASES)
