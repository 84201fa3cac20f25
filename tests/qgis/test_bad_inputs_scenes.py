"""Bad-input table: searchscenes and downloadscenes against hostile servers and hostile scene layers
(core/net/http.py, core/net/download.py, core/search/*.py).

Expected answers come from issue 13's report, where each of these ended badly before:
* a server that accepts and never answers held searchscenes 250-363 s and downloadscenes 394 s; one
  that sends a byte every 5 s held downloadscenes forever. With the limits set small here
  (LABELMIGRATION_READ_TIMEOUT_S=1, ..._RETRY_DEADLINE_S=3) each run must end within seconds, naming
  the server and how often it was tried;
* an HTML page served with HTTP 200 was saved as a .zip;
* downloadscenes sent the auth configuration's user and password (or the CDSE bearer token) to the
  host a row's url named: the engine asserts that no Authorization header reached that host;
* a title of '../../victim' or an absolute path wrote outside FOLDER: now the file lands inside it
  under a safe name, with a warning, and the engine asserts nothing was written outside the case;
* OData answers without Id, malformed checksum JSON and DAYS_BEFORE=1e9 ended in tracebacks, a
  malformed STAC answer in "failed (ClientTypeError)": each must be one message naming the problem.
"""
import json

import pytest

from labelmigration.tests.support.bad_inputs import Case, ids
from labelmigration.tests.support.fault_server import Fault, fault_server
from labelmigration.tests.support.qgis_auth import auth_config
from labelmigration.tests.support.replay_server import HTML_PAGE, replay_server

pytestmark = pytest.mark.qgis

SHORT = {"LABELMIGRATION_READ_TIMEOUT_S": "1", "LABELMIGRATION_CONNECT_TIMEOUT_S": "1",
         "LABELMIGRATION_STALL_TIMEOUT_S": "1", "LABELMIGRATION_RETRY_DEADLINE_S": "3"}
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)
PRODUCT = "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_20200815T130000.SAFE"
CONFORMANCE = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"]


# -- the loopback servers (module fixtures) ---------------------------------------------------------
@pytest.fixture(scope="module")
def fault():
    with fault_server() as server:
        server.always("/hang/odata/v1/Products", Fault(hang=True))
        server.always("/hang-stac", Fault(hang=True))
        server.always("/hang/p.zip", Fault(hang=True))
        server.add_file("/drip/odata/v1/Products", json.dumps({"value": []}).encode() + b" " * 500,
                        content_type="application/json")
        server.always("/drip/odata/v1/Products", Fault(drip=0.2))
        server.add_file("/drip/p.zip", b"PK\x03\x04" + bytes(5000))
        server.always("/drip/p.zip", Fault(drip=0.2))
        server.add_file("/html/p.zip", EMPTY_ZIP)
        server.always("/html/p.zip", Fault(html_error=True))
        server.add_file("/json/blue.tif", b'{"detail": "Expired signature!"}', content_type="application/json")
        server.add_file("/ok.zip", EMPTY_ZIP, content_type="application/zip")
        yield server


def landing_page(url):
    return {"type": "Catalog", "id": "api", "stac_version": "1.0.0", "description": "test", "conformsTo": CONFORMANCE,
            "links": [{"rel": "self", "href": url}, {"rel": "root", "href": url},
                      {"rel": "search", "href": url + "/search", "type": "application/geo+json", "method": "GET"},
                      {"rel": "search", "href": url + "/search", "type": "application/geo+json", "method": "POST"}]}


@pytest.fixture(scope="module")
def replay():
    with replay_server() as server:
        server.add_json("/noid/odata/v1/Products", {"value": [{"Name": PRODUCT, "ContentDate": {
            "Start": "2020-08-15T10:25:59.024Z"}}]})
        server.add_json("/novalue/odata/v1/Products", {"products": []})
        server.add("/html/odata/v1/Products", lambda _request: (200, {"Content-Type": "text/html"}, HTML_PAGE))
        server.add("/busy/odata/v1/Products", lambda _request: (
            503, {"Retry-After": "600", "Content-Type": "text/plain"}, b"busy"))
        server.add_json("/not-a-catalog", {"type": "FeatureCollection", "features": []})
        for name, page in (("stac-no-features", {"type": "FeatureCollection", "features": "none"}),
                           ("stac-no-properties", {"type": "FeatureCollection", "features": [
                               {"type": "Feature", "id": "x", "geometry": None}]})):
            server.add_json(f"/{name}", landing_page(f"{server.url}/{name}"))
            server.add_json(f"/{name}/search", page)
        yield server


# -- parameters ---------------------------------------------------------------------------------------
def search(ws, **parameters):
    return {"FOOTPRINTS": ws["footprints"], "DATE_FIELD": "date", "OUTPUT": ws.out("scenes.gpkg"),
            "OUTPUT_TABLE": ws.out("matches.csv"), **parameters}


def odata(ws, server, path):
    return search(ws, BACKEND=0, URL=f"{ws.servers[server].url}/{path}/odata/v1")


def scene_layer(path, rows):
    """A scene layer like searchscenes writes (fields as text), at path (a GeoPackage)."""
    from osgeo import ogr, osr

    path.parent.mkdir(parents=True, exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("scenes", srs, ogr.wkbPolygon)
    for name in ("id", "title", "backend", "url", "size", "checksums", "assets"):
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    for row in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, value in row.items():
            feature.SetField(name, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt("POLYGON((11 48,12 48,12 49,11 49,11 48))"))
        layer.CreateFeature(feature)
    source = None
    return str(path)


def download(ws, *rows, folder=None, **parameters):
    """downloadscenes of rows (dicts; id, title, backend, url by default) into the case's out/downloads."""
    base = {"id": "a1", "title": "S2A_MSIL2A_X.SAFE", "backend": "cdse-odata"}
    layer = scene_layer(ws.path("scenes.gpkg"), [{**base, **row} for row in rows])
    return {"SCENES": layer, "FOLDER": folder or ws.out("downloads"), **parameters}


def on(server, path):
    return lambda ws: ws.servers[server].url + path


def _onto_input(ws):
    """A row whose asset would be saved as the scene layer itself (FOLDER/<id>/<asset>.gpkg)."""
    layer = ws.path("dl") / "item" / "blue.gpkg"
    row = {"id": "item", "title": "item", "backend": "stac",
           "assets": json.dumps({"blue": ws.servers["fault"].url + "/blue.gpkg"})}
    return {"SCENES": scene_layer(layer, [row]), "FOLDER": str(ws.path("dl")), "ASSETS": "blue"}


def _folder_below_a_file(ws):
    return download(ws, {"url": ws.servers["fault"].url + "/ok.zip"}, folder=ws.write("a_file.txt", "x") + "/sub")


# -- the table ----------------------------------------------------------------------------------------
SEARCH = [
    Case("odata-never-answers", "searchscenes", lambda ws: odata(ws, "fault", "hang"),
         message=r"Cannot reach http://127\.0\.0\.1:\d+/hang/odata/v1/Products: it accepted the connection but sent "
                 r"no answer within 1 s .*tried \d times in \d+ s", env=SHORT, seconds=15, cli=True),
    Case("odata-drips", "searchscenes", lambda ws: odata(ws, "fault", "drip"),
         message=r"Cannot reach http://127\.0\.0\.1:\d+/drip/odata/v1/Products: (the transfer stalled|it sent its "
                 r"answer too slowly)", env=SHORT, seconds=15, cli=True),
    Case("odata-without-id", "searchscenes", lambda ws: odata(ws, "replay", "noid"),
         message=r"/noid/odata/v1 answered a product that is not a valid CDSE OData product \(entry 1 'S2B_MSIL2A_.*': "
                 r"it has no Id\)", cli=True),
    Case("odata-no-product-list", "searchscenes", lambda ws: odata(ws, "replay", "novalue"),
         message=r"/novalue/odata/v1/Products did not answer like a CDSE OData catalogue"),
    Case("odata-html-page", "searchscenes", lambda ws: odata(ws, "replay", "html"),
         message=r"/html/odata/v1/Products answered with an HTML page instead of JSON"),
    Case("odata-busy-beyond-the-deadline", "searchscenes", lambda ws: odata(ws, "replay", "busy"),
         message=r"/busy/odata/v1/Products answered HTTP 503 .*tried 1 time in \d+ s, and no time was left for "
                 r"another \(the retry deadline of 3 s", env=SHORT, seconds=10),
    Case("days-before-1e9", "searchscenes", lambda ws: search(ws, BACKEND=3, URL=ws["archive"], DAYS_BEFORE=1e9),
         message=r"Days before \(DAYS_BEFORE\): 1000000000(\.0)? is above the maximum of 3650", cli=True),
    Case("days-after-negative", "searchscenes", lambda ws: search(ws, BACKEND=3, URL=ws["archive"], DAYS_AFTER=-5),
         message=r"Days after \(DAYS_AFTER\): -5 is below the minimum of 0"),
    Case("stac-landing-page-no-catalog", "searchscenes",
         lambda ws: search(ws, BACKEND=1, URL=ws.servers["replay"].url + "/not-a-catalog"),
         message=r"The STAC API at http://127\.0\.0\.1:\d+/not-a-catalog answered something that is not a STAC API "
                 r"landing page"),
    Case("stac-search-no-features", "searchscenes",
         lambda ws: search(ws, BACKEND=1, URL=ws.servers["replay"].url + "/stac-no-features"),
         message=r"The STAC API at .*/stac-no-features answered something that is not a valid STAC search result: "
                 r"page 1 holds no list of features"),
    Case("stac-item-without-properties", "searchscenes",
         lambda ws: search(ws, BACKEND=1, URL=ws.servers["replay"].url + "/stac-no-properties"),
         message=r"not a valid STAC search result: item 1 'x' has no properties"),
    Case("stac-never-answers", "searchscenes",
         lambda ws: search(ws, BACKEND=1, URL=ws.servers["fault"].url + "/hang-stac"),
         message=r"Cannot reach http://127\.0\.0\.1:\d+/hang-stac: it accepted the connection but sent no answer",
         env=SHORT, seconds=15),
]

DOWNLOAD = [
    Case("download-never-answers", "downloadscenes", lambda ws: download(ws, {"url": on("fault", "/hang/p.zip")(ws)}),
         message=r"Downloading http://127\.0\.0\.1:\d+/hang/p\.zip failed: .*sent no answer within 1 s.*tried \d times "
                 r"in \d+ s, and the retry deadline of 3 s has passed", env=SHORT, seconds=15, cli=True),
    Case("download-drips", "downloadscenes", lambda ws: download(ws, {"url": on("fault", "/drip/p.zip")(ws)}),
         message=r"Downloading http://127\.0\.0\.1:\d+/drip/p\.zip failed: the transfer stalled \(fewer than 16 KiB "
                 r"in 1 s", env=SHORT, seconds=15, cli=True),
    Case("html-instead-of-zip", "downloadscenes",
         lambda ws: download(ws, {"title": "S2A_HTML.SAFE", "url": on("fault", "/html/p.zip")(ws)}),
         message=r"/html/p\.zip sent an HTML page instead of a zip archive for 'S2A_HTML\.zip'", cli=True),
    Case("json-instead-of-geotiff", "downloadscenes", lambda ws: download(ws, {
        "backend": "stac", "assets": json.dumps({"blue": on("fault", "/json/blue.tif")(ws)})}, ASSETS="blue"),
        message=r"/json/blue\.tif sent 'application/json' text instead of a TIFF image for 'blue\.tif'"),
    Case("token-to-a-foreign-host", "downloadscenes", lambda ws: download(
        ws, {"url": on("foreign", "/product.zip")(ws)}, AUTHCFG=auth_config("alice", "secret")),
        warning=r"127\.0\.0\.1:\d+ got no credentials \(the Copernicus Data Space token\): they are sent only to "
                r"the hosts of the service they were configured for \(\*\.dataspace\.copernicus\.eu", may_write=True),
    Case("password-to-a-foreign-host", "downloadscenes", lambda ws: download(
        ws, {"backend": "dhus", "url": on("foreign", "/product.zip")(ws)}, AUTHCFG=auth_config("alice", "secret")),
        warning=r"got no credentials \(the user name and password\): no server was named for them", may_write=True),
    Case("title-climbs-out-of-the-folder", "downloadscenes", lambda ws: download(
        ws, {"title": "../../../../victim", "url": on("fault", "/ok.zip")(ws)}),
        warning=r"The scene title '\.\./\.\./\.\./\.\./victim' is not a safe file name .* named 'victim'",
        may_write=True),
    Case("absolute-title", "downloadscenes", lambda ws: download(
        ws, {"title": str(ws.root / "level1" / "victim"), "url": on("fault", "/ok.zip")(ws)}),
        warning=r"The scene title '/.*/level1/victim' is not a safe file name", may_write=True),
    Case("control-characters-and-10k-title", "downloadscenes", lambda ws: download(
        ws, {"title": "S2A\n\x07" + "x" * 10_000, "url": on("fault", "/ok.zip")(ws)}),
        warning=r"The scene title 'S2A\?\?x+…' is not a safe file name", may_write=True),
    Case("malformed-checksum-json", "downloadscenes", lambda ws: download(
        ws, {"title": "S2A_BAD", "url": on("fault", "/ok.zip")(ws), "checksums": '{"MD5": "abc'}),
        message=r"The checksums field of the scene 'S2A_BAD' is not valid JSON \(Unterminated string", cli=True),
    Case("malformed-assets-json", "downloadscenes", lambda ws: download(
        ws, {"title": "S2A_BAD", "backend": "stac", "assets": "{blue: x}"}, ASSETS="blue"),
        message=r"The assets field of the scene 'S2A_BAD' is not valid JSON"),
    Case("size-not-a-number", "downloadscenes", lambda ws: download(
        ws, {"title": "S2A_BAD", "url": on("fault", "/ok.zip")(ws), "size": "twelve"}),
        message=r"The scene 'S2A_BAD' has a size that is not a number of bytes"),
    Case("url-not-downloadable", "downloadscenes", lambda ws: download(ws, {"url": "s3://eodata/Sentinel-2/x.zip"}),
         message=r"has a url that is a s3:// address, which cannot be downloaded over HTTP\(S\)"),
    Case("folder-below-a-file", "downloadscenes", _folder_below_a_file,
         message=r"download 'S2A_MSIL2A_X\.zip' .* cannot be written: '.*a_file\.txt' is a file, not a folder"),
    Case("download-onto-the-scene-layer", "downloadscenes", _onto_input,
         message=r"The output download 'blue\.gpkg' .* would overwrite the input SCENES"),
]

CASES = SEARCH + DOWNLOAD


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_scene_inputs(case, check_bad_input, fault, replay):
    check_bad_input(case, fault=fault, replay=replay)


CLI_CASES = [case for case in CASES if case.cli]


@pytest.mark.cli
@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_bad_scene_inputs_through_qgis_process(case, check_bad_input_cli, fault, replay):
    check_bad_input_cli(case, fault=fault, replay=replay)
