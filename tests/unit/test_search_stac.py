"""STAC items mapped to scenes, and the STAC API backend against a minimal STAC API on 127.0.0.1.

The test server filters the real recorded items by datetime and cloud cover the way pystac-client
asks for it (query extension or CQL2 filter); a real pgstac server is the e2e tier's job.
"""
import datetime as dt
import json
import sys
import types

import pytest

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.search.timestamps import parse_datetime
from labelmigration.core.search.stac import StacBackend, cloud_arguments, item_scene
from labelmigration.tests.support.loopback import closed_port_url
from labelmigration.tests.support.replay_server import replay_server

QUERY_CONFORMANCE = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                     "https://api.stacspec.org/v1.0.0/item-search#query"]
FILTER_CONFORMANCE = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                      "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
                      "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"]
WORLD = "POLYGON((-180 -90,180 -90,180 90,-180 90,-180 -90))"


def fixture_items(catalogue_dir, name):
    path = catalogue_dir / "stac" / name
    if not path.exists():
        pytest.skip(f"the recorded STAC items are missing: {path}")
    return json.loads(path.read_text())["features"]


@pytest.fixture()
def earth_search(catalogue_dir):
    return fixture_items(catalogue_dir, "earth-search-sentinel-2-l2a-items.json")


@pytest.fixture()
def planetary(catalogue_dir):
    return fixture_items(catalogue_dir, "planetary-computer-sentinel-2-l2a-items.json")


# -- mapping ---------------------------------------------------------------------------------------

def test_earth_search_items_map_to_scenes(earth_search):
    for item in earth_search:
        scene = item_scene(item, "stac")
        properties = item["properties"]
        assert scene.id == item["id"] and scene.collection == item["collection"]
        assert scene.cloud_cover == properties["eo:cloud_cover"]
        assert scene.tile == properties["grid:code"].removeprefix("MGRS-")
        assert scene.tile == f"{properties['mgrs:utm_zone']:02d}{properties['mgrs:latitude_band']}" \
                             f"{properties['mgrs:grid_square']}"
        assert scene.product_type == properties["s2:product_type"] == "S2MSI2A"
        assert scene.title + ".SAFE" == properties["s2:product_uri"]
        assert scene.datetime == dt.datetime.fromisoformat(properties["datetime"].replace("Z", "+00:00"))
        assert scene.quicklook == item["assets"]["thumbnail"]["href"]
        assert scene.assets["red"] == item["assets"]["red"]["href"] and set(scene.assets) == set(item["assets"])
        assert scene.footprint_wkt.startswith("POLYGON")


def test_planetary_computer_items_map_to_scenes(planetary):
    for item in planetary:
        scene = item_scene(item, "stac")
        properties = item["properties"]
        assert scene.tile == properties["s2:mgrs_tile"]
        assert scene.cloud_cover == properties["eo:cloud_cover"]
        assert scene.product_type == "S2MSI2A" and scene.level == "L2A"
        assert scene.assets["B04"] == item["assets"]["B04"]["href"]
        assert scene.quicklook == item["assets"]["rendered_preview"]["href"]


def test_cloud_arguments_follow_conformance():
    assert cloud_arguments(QUERY_CONFORMANCE, 5) == {"query": {"eo:cloud_cover": {"lte": 5}}}
    assert cloud_arguments(FILTER_CONFORMANCE, 5)["filter"] == {
        "op": "<=", "args": [{"property": "eo:cloud_cover"}, 5]}
    assert cloud_arguments(["https://api.stacspec.org/v1.0.0/core"], 5) == {}


# -- a minimal STAC API ----------------------------------------------------------------------------

def landing_page(url, conformance):
    return {"type": "Catalog", "id": "test-api", "stac_version": "1.0.0", "description": "test STAC API",
            "conformsTo": conformance,
            "links": [{"rel": "self", "href": url + "/", "type": "application/json"},
                      {"rel": "root", "href": url + "/", "type": "application/json"},
                      {"rel": "search", "href": url + "/search", "type": "application/geo+json", "method": "GET"},
                      {"rel": "search", "href": url + "/search", "type": "application/geo+json", "method": "POST"}]}


def search_parameters(request):
    if request.method == "POST":
        return request.json()
    parameters = dict(request.query)
    for key in ("intersects", "query", "filter"):
        if key in parameters:
            parameters[key] = json.loads(parameters[key])
    return parameters


def cloud_limit(parameters):
    if "query" in parameters:
        return parameters["query"]["eo:cloud_cover"]["lte"]
    if "filter" in parameters:
        assert parameters["filter"]["args"][0] == {"property": "eo:cloud_cover"}
        return parameters["filter"]["args"][1]
    return None


def stac_api(server, items, conformance, page_size=3):
    server.add_json("/", landing_page(server.url, conformance))

    def search(request):
        parameters = search_parameters(request)
        start, end = (parse_datetime(t) for t in parameters["datetime"].split("/"))
        limit = cloud_limit(parameters)
        chosen = [i for i in items if start <= parse_datetime(i["properties"]["datetime"]) <= end
                  and (limit is None or i["properties"]["eo:cloud_cover"] <= limit)
                  and (not parameters.get("collections") or i["collection"] in parameters["collections"])]
        offset = int(parameters.get("token") or 0)
        page = {"type": "FeatureCollection", "features": chosen[offset:offset + page_size], "links": []}
        if offset + page_size < len(chosen):
            token = str(offset + page_size)
            if request.method == "POST":
                page["links"].append({"rel": "next", "href": server.url + "/search", "method": "POST",
                                      "body": {"token": token}, "merge": True})
            else:
                page["links"].append({"rel": "next", "href": f"{server.url}/search?token={token}&datetime="
                                      f"{parameters['datetime']}" + (f"&query={json.dumps(parameters['query'])}"
                                                                     if "query" in parameters else "")})
        return 200, {"Content-Type": "application/geo+json"}, json.dumps(page).encode()

    server.add("/search", search)


def search_requests(server):
    return [search_parameters(r) for r in server.requests if r.path == "/search"]


def window_of(items):
    times = sorted(parse_datetime(i["properties"]["datetime"]) for i in items)
    return times[0] - dt.timedelta(hours=1), times[-1] + dt.timedelta(hours=1)


def test_query_extension_server(earth_search):
    pytest.importorskip("pystac_client")
    start, end = window_of(earth_search)
    limit = sorted(i["properties"]["eo:cloud_cover"] for i in earth_search)[3]
    expected = {i["id"] for i in earth_search if i["properties"]["eo:cloud_cover"] <= limit}
    with replay_server() as server:
        stac_api(server, earth_search, QUERY_CONFORMANCE, page_size=2)
        scenes = StacBackend(server.url).search(WORLD, start, end, limit, "L2A", "sentinel-2-l2a")
        sent = search_requests(server)
    assert {s.id for s in scenes} == expected and len(scenes) == len(expected)
    assert sent[0]["query"] == {"eo:cloud_cover": {"lte": limit}} and "filter" not in sent[0]
    assert sent[0]["intersects"]["type"] == "Polygon" and sent[0]["collections"] == ["sentinel-2-l2a"]
    assert len(sent) == -(-len(expected) // 2)  # every page fetched once


def test_filter_extension_server_and_datetime_window(planetary):
    pytest.importorskip("pystac_client")
    times = sorted(parse_datetime(i["properties"]["datetime"]) for i in planetary)
    start, end = times[5], times[20]
    expected = {i["id"] for i in planetary if start <= parse_datetime(i["properties"]["datetime"]) <= end
                and i["properties"]["eo:cloud_cover"] <= 30}
    assert expected
    with replay_server() as server:
        stac_api(server, planetary, FILTER_CONFORMANCE)
        scenes = StacBackend(server.url, sign=False).search(WORLD, start, end, 30, "L2A", None)
        sent = search_requests(server)
    assert {s.id for s in scenes} == expected
    assert sent[0]["filter"]["op"] == "<=" and "query" not in sent[0]


def test_planetary_computer_signing(planetary, monkeypatch):
    pytest.importorskip("pystac_client")
    start, end = window_of(planetary)
    signed = []

    def sign(item):
        signed.append(item["id"])
        item = dict(item, assets={k: dict(v, href=v["href"] + "?sig=x") for k, v in item["assets"].items()})
        return item

    monkeypatch.setitem(sys.modules, "planetary_computer", types.SimpleNamespace(sign=sign))
    with replay_server() as server:
        stac_api(server, planetary[:4], FILTER_CONFORMANCE)
        scenes = StacBackend(server.url, sign=True).search(WORLD, start, end, 100, None, None)
        monkeypatch.setitem(sys.modules, "planetary_computer", None)  # not installed
        with pytest.raises(LabelMigrationError, match="planetary_computer.*cannot be opened"):
            StacBackend(server.url, sign=True).search(WORLD, start, end, 100, None, None)
    assert len(signed) == len(scenes) and all(s.assets["B04"].endswith("?sig=x") for s in scenes)


def test_unreachable_stac_api_names_the_url():
    pytest.importorskip("pystac_client")
    url = closed_port_url()
    with pytest.raises(LabelMigrationError, match=f"Cannot reach {url}: it refused the connection"):
        StacBackend(url, retries=0).search(WORLD, dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1), 3, "L2A", None)


def test_html_page_instead_of_a_landing_page():
    pytest.importorskip("pystac_client")
    with replay_server() as server:
        server.fault("/", "html")
        with pytest.raises(LabelMigrationError, match="answered with an HTML page instead of JSON"):
            StacBackend(server.url).search(WORLD, dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1), 3, "L2A", None)


def test_401_without_the_password():
    pytest.importorskip("pystac_client")
    from labelmigration.core.search import make_backend

    with replay_server() as server:
        server.fault("/", "401")
        backend = make_backend("stac", server.url, ("alice", "s3cret-Pa55"))
        with pytest.raises(LabelMigrationError) as caught:
            backend.search(WORLD, dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1), 3, "L2A", None)
        assert server.requests[0].headers["Authorization"].startswith("Basic ")
    assert "401" in str(caught.value) and "s3cret-Pa55" not in str(caught.value)


# -- malformed answers (issue 13: they ended in "failed (ClientTypeError)") --------------------------
JAN = (dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1))


def test_landing_page_that_is_no_catalog_is_named():
    pytest.importorskip("pystac_client")
    with replay_server() as server:
        server.add_json("/", {"type": "FeatureCollection", "features": []})
        with pytest.raises(LabelMigrationError) as caught:
            StacBackend(server.url).search(WORLD, *JAN, 3, "L2A", None)
    message = str(caught.value)
    assert message.startswith(f"The STAC API at {server.url} answered something that is not a STAC API landing page")
    assert "ClientTypeError" in message and "FeatureCollection" in message


@pytest.mark.parametrize("page, problem", [
    ({"type": "FeatureCollection", "features": "none"}, "page 1 holds no list of features"),
    ({"type": "FeatureCollection", "features": ["text"]}, "item 1 is not a JSON object"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "x"}]}, "item 1 'x' has no properties"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "x", "properties": {}}]},
     "item 1 The STAC item 'x' has no datetime"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"datetime": "x"}}]},
     "item 1 has no id"),
])
def test_search_result_that_is_not_stac_is_named(page, problem):
    pytest.importorskip("pystac_client")
    with replay_server() as server:
        server.add_json("/", landing_page(server.url, QUERY_CONFORMANCE))
        server.add_json("/search", page)
        with pytest.raises(LabelMigrationError) as caught:
            StacBackend(server.url).search(WORLD, *JAN, 3, "L2A", None)
    message = str(caught.value)
    assert message.startswith(f"The STAC API at {server.url} answered something that is not a valid STAC search "
                              f"result"), message
    assert problem in message


def test_basic_credentials_go_to_the_stac_api_only(earth_search):
    """A next link to another host (a hostile or misconfigured API) gets no credentials."""
    pytest.importorskip("pystac_client")
    from labelmigration.core.search import make_backend

    with replay_server() as server, replay_server() as other:
        server.add_json("/", landing_page(server.url, QUERY_CONFORMANCE))
        page = {"type": "FeatureCollection", "features": earth_search[:1],
                "links": [{"rel": "next", "href": other.url + "/search?token=1"}]}
        server.add_json("/search", page)
        other.add_json("/search", {"type": "FeatureCollection", "features": []})
        make_backend("stac", server.url, ("alice", "s3cret")).search(WORLD, *JAN, 3, "L2A", None)
        assert all(r.headers.get("Authorization", "").startswith("Basic ") for r in server.requests)
        assert [r.headers.get("Authorization") for r in other.requests] == [None]
