"""CDSE OData search against recorded real answers replayed on 127.0.0.1."""
import datetime as dt
import json
import re
import urllib.parse

import pytest

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.net.http import HttpError
from labelmigration.core.search.odata import ODataBackend, build_filter
from labelmigration.tests.support.loopback import closed_port_url
from labelmigration.tests.support.replay_server import replay_server

UTC = dt.timezone.utc
RECORDED_BASE = "https://catalogue.dataspace.copernicus.eu/odata/v1"
AREA = "POLYGON((137.7729 13.1342,153.7491 13.1342,153.7491 23.886,137.7729 23.886,137.7729 13.1342))"
START, END = dt.datetime(2020, 8, 8, tzinfo=UTC), dt.datetime(2020, 8, 16, tzinfo=UTC)
DOWNLOAD = "https://download.dataspace.copernicus.eu/odata/v1"


@pytest.fixture()
def odata_dir(catalogue_dir):
    folder = catalogue_dir / "odata"
    if not (folder / "cdse-odata-paging-page1.json").exists():
        pytest.skip(f"the recorded OData answers are missing from {folder}")
    return folder


def load(folder, name, server=None):
    text = (folder / name).read_text()
    return json.loads(text.replace(RECORDED_BASE, server.url + "/odata/v1") if server else text)


def backend(server, **kwargs):
    return ODataBackend(server.url + "/odata/v1", retries=kwargs.pop("retries", 0), backoff=0.01, **kwargs)


def test_filter_is_the_documented_one():
    text = build_filter("POLYGON((1 2,3 2,3 4,1 2))", START, END, 10, "L2A")
    assert text == (
        "Collection/Name eq 'SENTINEL-2' and "
        "OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((1.000000 2.000000,3.000000 2.000000,"
        "3.000000 4.000000,1.000000 2.000000))') and "
        "ContentDate/Start gt 2020-08-08T00:00:00.000Z and ContentDate/Start lt 2020-08-16T00:00:00.000Z and "
        "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
        "att/OData.CSC.DoubleAttribute/Value le 10.00) and "
        "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'productType' and "
        "att/OData.CSC.StringAttribute/Value eq 'S2MSI2A')")
    assert "S2MSI1C" in build_filter("POLYGON((1 2,3 2,3 4,1 2))", START, END, None, "L1C")


def test_scenes_are_parsed_from_a_real_answer(odata_dir):
    with replay_server() as server:
        recorded = load(odata_dir, "cdse-odata-sentinel2-search.json", server)
        recorded.pop("@odata.nextLink")
        server.add_json("/odata/v1/Products", recorded)
        scenes = backend(server).search(AREA, START, END, 100.0, "L1C")
        sent = server.requests[0].query
    assert sent["$filter"] == build_filter(AREA, START, END, 100.0, "L1C")
    assert sent["$expand"] == "Attributes" and sent["$top"] == "100"
    assert sent["$orderby"] == "ContentDate/Start asc"
    assert len(scenes) == len(recorded["value"]) == 2
    for scene, product in zip(scenes, recorded["value"]):
        attributes = {a["Name"]: a["Value"] for a in product["Attributes"]}
        assert scene.id == product["Id"]
        assert scene.title + ".SAFE" == product["Name"]
        assert scene.cloud_cover == attributes["cloudCover"]
        assert scene.tile == attributes["tileId"] and scene.product_type == attributes["productType"]
        assert scene.datetime.isoformat().startswith(product["ContentDate"]["Start"][:19])
        assert scene.checksums == {c["Algorithm"]: c["Value"] for c in product["Checksum"]}
        assert scene.size == product["ContentLength"] and scene.online is product["Online"]
        assert scene.url == f"https://download.dataspace.copernicus.eu/odata/v1/Products({product['Id']})/$value"
        first_lon, first_lat = product["GeoFootprint"]["coordinates"][0][0]
        assert scene.footprint_wkt.startswith(f"POLYGON (({first_lon} {first_lat}")
        assert scene.level == "L1C"


def test_paging_follows_next_link_and_yields_every_product_once(odata_dir):
    with replay_server() as server:
        pages = [load(odata_dir, f"cdse-odata-paging-page{n}.json", server) for n in range(1, 6)]
        server.add_json("/odata/v1/Products", pages[0])
        for number, page in enumerate(pages[1:], start=1):
            server.add_json("/odata/v1/Products", page, query={"$skip": str(10 * number)})
        scenes = backend(server).search(AREA, dt.datetime(2014, 4, 1), dt.datetime(2014, 5, 1), None, None)
        skips = [r.query.get("$skip") for r in server.requests]
    expected = [p["Id"] for page in pages for p in page["value"]]
    assert [s.id for s in scenes] == expected and len(set(expected)) == 47
    assert skips == [None, "10", "20", "30", "40"]


def test_download_host_is_configurable(odata_dir):
    with replay_server() as server:
        recorded = load(odata_dir, "cdse-odata-sentinel2-search.json")
        recorded.pop("@odata.nextLink")
        server.add_json("/odata/v1/Products", recorded)
        scenes = backend(server, download_url="http://127.0.0.1:9/odata/v1").search(AREA, START, END, None, None)
    assert scenes[0].url.startswith("http://127.0.0.1:9/odata/v1/Products(")


def test_unreachable_url_names_it():
    url = closed_port_url() + "/odata/v1"
    with pytest.raises(HttpError, match=f"Cannot reach {url}/Products"):
        ODataBackend(url, retries=0).search(AREA, START, END, 3.0, "L2A")


def test_html_page_instead_of_json():
    with replay_server() as server:
        server.fault("/odata/v1/Products", "html")
        with pytest.raises(HttpError, match="HTML page instead of JSON"):
            backend(server).search(AREA, START, END, 3.0, "L2A")


def test_busy_server_is_retried_after_retry_after(odata_dir):
    with replay_server() as server:
        recorded = load(odata_dir, "cdse-odata-sentinel2-search.json")
        recorded.pop("@odata.nextLink")
        server.add_json("/odata/v1/Products", recorded)
        server.fault("/odata/v1/Products", "503", times=2, retry_after="0")
        scenes = backend(server, retries=3).search(AREA, START, END, None, None)
        assert len(server.requests) == 3
    assert len(scenes) == 2


# -- malformed answers (issue 13: an answer without Id ended searchscenes in a traceback) -------------
def product_entry(**fields):
    return {"Id": "a1b2c3", "Name": "S2A_MSIL2A_20200810T011301_N0214_R074_T54PYT_20200810T025812.SAFE",
            "ContentDate": {"Start": "2020-08-10T01:13:01.024Z"}, "Attributes": [], **fields}


@pytest.mark.parametrize("entry, problem", [
    ({k: v for k, v in product_entry().items() if k != "Id"}, "entry 2 'S2A_MSIL2A_2020.*': it has no Id"),
    (product_entry(Name=None), "entry 2: it has no Name"),
    ("just text", "entry 2: it is not a JSON object"),
    (product_entry(ContentDate=None), "it has no acquisition time"),
    (product_entry(ContentDate={"Start": "yesterday"}), "'yesterday' is not a date and time"),
    (product_entry(ContentLength="big"), "entry 2 .*invalid literal"),
])
def test_malformed_product_is_named_with_the_server(entry, problem):
    with replay_server() as server:
        server.add_json("/odata/v1/Products", {"value": [product_entry(), entry]})
        with pytest.raises(LabelMigrationError) as caught:
            backend(server).search(AREA, START, END, None, None)
    message = str(caught.value)
    assert message.startswith(f"{server.url}/odata/v1 answered a product that is not a valid CDSE OData product")
    assert re.search(problem, message), message


@pytest.mark.parametrize("page", [{"value": "none"}, {"products": []}, [1, 2]])
def test_answer_that_is_no_product_list_is_named(page):
    with replay_server() as server:
        server.add_json("/odata/v1/Products", page)
        with pytest.raises(LabelMigrationError, match=r"/odata/v1/Products did not answer like a CDSE OData catalogue"):
            backend(server).search(AREA, START, END, None, None)


def test_product_id_cannot_reshape_the_download_url():
    with replay_server() as server:
        server.add_json("/odata/v1/Products", {"value": [product_entry(Id="../../admin?x=1")]})
        scene, = backend(server).search(AREA, START, END, None, None)
    assert scene.url == f"{DOWNLOAD}/Products(..%2F..%2Fadmin%3Fx%3D1)/$value"


# -- the $skip cap (issue 18: the catalogue refuses $skip above 10,000) -----------------------------------
class _CappedCatalogue:
    """A catalogue that pages like CDSE's (@odata.nextLink with $skip, sorted by ContentDate/Start, "ge" filters on
    it) and answers HTTP 400 to a $skip above ``cap``, as CDSE does above 10,000. Its products: real-shaped entries
    (product_entry), several sharing an acquisition time at the window boundaries."""

    def __init__(self, starts, cap):
        self.products = [product_entry(Id=f"id{n:03d}", Name=f"S2A_MSIL2A_{n:03d}.SAFE",
                                       ContentDate={"Start": start}) for n, start in enumerate(starts)]
        self.cap, self.requests = cap, []

    def __call__(self, handler):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        self.requests.append(query)
        skip, top = int(query.get("$skip", ["0"])[0]), int(query.get("$top", ["2"])[0])
        if skip > self.cap:
            return 400, {"detail": f"$skip must be at most {self.cap}"}
        since = re.search(r"ContentDate/Start ge (\S+?)\)?$", query.get("$filter", [""])[0])
        rows = [p for p in self.products if not since or p["ContentDate"]["Start"] >= since.group(1)]
        page = {"value": rows[skip:skip + top]}
        if skip + top < len(rows):
            following = dict((k, v[0]) for k, v in query.items())
            following["$skip"] = str(skip + top)
            page["@odata.nextLink"] = f"{handler.base}/odata/v1/Products?{urllib.parse.urlencode(following)}"
        return 200, page


def _serve(catalogue):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.base = f"http://127.0.0.1:{server.server_address[1]}"
            status, body = catalogue(self)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_result_longer_than_the_skip_cap_is_read_in_windows(monkeypatch):
    """With the cap lowered to 4 and pages of 2, 13 products (two pairs sharing a time at window boundaries)
    come back each exactly once and in order, and no request asks for a $skip above the cap."""
    import labelmigration.core.search.odata as odata

    monkeypatch.setattr(odata, "MAX_SKIP", 4)
    hours = [1, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11]
    catalogue = _CappedCatalogue([f"2020-08-10T{h:02d}:00:00.000Z" for h in hours], cap=4)
    server = _serve(catalogue)
    try:
        found = ODataBackend(f"http://127.0.0.1:{server.server_address[1]}/odata/v1", page_size=2,
                             retries=0).search(AREA, START, END, None, None)
    finally:
        server.shutdown()
    assert [scene.id for scene in found] == [p["Id"] for p in catalogue.products]
    assert max(int(q.get("$skip", ["0"])[0]) for q in catalogue.requests) <= 4
    assert sum("ContentDate/Start ge" in q["$filter"][0] for q in catalogue.requests) >= 2  # new windows began


def test_more_products_at_one_time_than_the_cap_is_refused_with_the_reason(monkeypatch):
    import labelmigration.core.search.odata as odata

    monkeypatch.setattr(odata, "MAX_SKIP", 2)
    catalogue = _CappedCatalogue(["2020-08-10T10:00:00.000Z"] * 7, cap=2)
    server = _serve(catalogue)
    try:
        with pytest.raises(LabelMigrationError, match=r"more than 2 products taken at 2020-08-10T10:00:00.000Z"):
            ODataBackend(f"http://127.0.0.1:{server.server_address[1]}/odata/v1", page_size=2,
                         retries=0).search(AREA, START, END, None, None)
    finally:
        server.shutdown()
