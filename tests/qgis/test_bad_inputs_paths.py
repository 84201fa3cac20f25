"""Bad-input table: the path guard every algorithm runs before it writes (processing/parameter_checks.py,
core/util/paths.py). Outputs onto inputs or onto each other, output folders nested with input folders.

Expected answers: the issue's list of overwrites that ended with exit code 0 (a GeoTIFF that became a
78-byte CSV, a GeoPackage that became a CSV, a label folder used as the output folder, two outputs on
one file); each must now fail before anything is written, with the inputs unchanged.
"""
import shutil

import pytest

from labelmigration.tests.support.bad_inputs import Case, ids

pytestmark = pytest.mark.qgis


def _copy(ws, name):
    """A private copy of a library input, for cases that would damage it if the guard failed."""
    source = ws[name]
    target = ws.path("own_" + source.rsplit("/", 1)[-1])
    shutil.copy(source, target)
    return str(target)


def _labels_copy(ws):
    target = ws.path("labels")
    shutil.copytree(ws["labels"], target)
    return str(target)


CASES = [
    Case("counts-onto-input", "segment", lambda ws: {
        "INPUT": (image := _copy(ws, "scene")), "MODEL": ws["model"], "OUTPUT": ws.out("classes.tif"),
        "OUTPUT_COUNTS": image}, message=r"OUTPUT_COUNTS .* would overwrite the input INPUT", cli=True),
    Case("table-onto-prediction", "evaluatesegmentation", lambda ws: {
        "PREDICTION": (prediction := _copy(ws, "prediction")), "GROUND_TRUTH": ws["truth"],
        "OUTPUT_TABLE": prediction}, message=r"OUTPUT_TABLE .* would overwrite the input PREDICTION", cli=True),
    Case("table-onto-footprints", "searchscenes", lambda ws: {
        "FOOTPRINTS": (footprints := _copy(ws, "footprints")), "DATE_FIELD": "date", "BACKEND": 3,
        "URL": ws["archive"], "OUTPUT": ws.out("scenes.gpkg"), "OUTPUT_TABLE": footprints},
        message=r"OUTPUT_TABLE .* would overwrite the input FOOTPRINTS", cli=True),
    Case("raster-onto-gpkg-input", "rasterizelabels", lambda ws: {
        "INPUT": (footprints := _copy(ws, "footprints")), "CLASSES": ws["classes"], "REFERENCE": ws["scene"],
        "OUTPUT": footprints},
        message=r"would overwrite the input INPUT"),
    Case("output-folder-is-label-folder", "migratelabels", lambda ws: {
        "LABELS": (labels := _labels_copy(ws)), "BACKEND": 3, "URL": ws["archive"], "OUTPUT_FOLDER": labels},
        message=r"output folder OUTPUT_FOLDER .* is the input folder LABELS", cli=True),
    Case("output-folder-inside-label-folder", "migratelabels", lambda ws: {
        "LABELS": (labels := _labels_copy(ws)), "BACKEND": 3, "URL": ws["archive"],
        "OUTPUT_FOLDER": labels + "/migrated"}, message=r"is nested with the input folder LABELS"),
    Case("mask-onto-probability", "cloudmask", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "OUTPUT": ws.out("same.tif"),
        "OUTPUT_PROBABILITY": ws.out("same.tif")}, message=r"outputs OUTPUT and OUTPUT_PROBABILITY are the same file",
        cli=True),
    Case("classes-onto-rgb", "rasterizelabels", lambda ws: {
        "INPUT": ws["footprints"], "CLASSES": ws["classes"], "REFERENCE": ws["scene"], "OUTPUT": ws.out("same.tif"),
        "OUTPUT_RGB": ws.out("same.tif")}, message=r"are the same file"),
    Case("image-onto-label-input", "cropscene", lambda ws: {
        "SCENE": ws["scene"], "LABEL": (label := _copy(ws, "label")), "OUTPUT_IMAGE": label,
        "OUTPUT_LABEL": ws.out("l.tif")}, message=r"OUTPUT_IMAGE .* would overwrite the input LABEL"),
    Case("output-onto-sidecar-of-input", "stackbands", lambda ws: {
        "INPUTS": [(scene := _copy(ws, "scene"))], "OUTPUT": scene + ".aux.xml"},
        message=r"would overwrite the input INPUTS"),
    Case("footprints-onto-label", "maskfootprint", lambda ws: {
        "INPUT": [(label := _copy(ws, "label"))], "OUTPUT": label}, message=r"would overwrite the input INPUT"),
    Case("geocoded-onto-reference", "geocodemask", lambda ws: {
        "INPUT": ws["label_png"], "REFERENCE": (reference := _copy(ws, "reference")), "OUTPUT": reference},
        message=r"would overwrite the input REFERENCE"),
    Case("geotiff-onto-product", "safetogeotiff", lambda ws: {
        "INPUT": (product := _copy(ws, "safe_zip")), "OUTPUT": product}, message=r"would overwrite the input INPUT"),
    Case("download-folder-is-a-file", "downloadscenes", lambda ws: {
        "SCENES": ws["footprints"], "FOLDER": _copy(ws, "scene")}, message=r"output folder FOLDER .* is a file"),
    Case("output-below-a-file", "segment", lambda ws: {
        "INPUT": ws["scene"], "MODEL": ws["model"], "OUTPUT": _copy(ws, "truth") + "/classes.tif"},
        message=r"is a file, not a folder"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_paths(case, check_bad_input):
    check_bad_input(case)


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_paths_through_qgis_process(case, check_bad_input_cli):
    check_bad_input_cli(case)
