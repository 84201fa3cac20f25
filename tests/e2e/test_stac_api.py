"""The loopback STAC API (stac-fastapi-pgstac on PostgreSQL + PostGIS) and the nginx asset server.

The expected answers are computed here from the fixture JSON itself (shapely for the geometry), not
from what the server says.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box, mapping, shape

pytestmark = pytest.mark.e2e

STAC_ANSWERS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "stac"  # recorded items, read in place
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request_json(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/geo+json"})
    with _OPENER.open(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def search_all(api_url: str, body: dict) -> list[dict]:
    """POST /search, following ``next`` links."""
    features = []
    page = request_json(api_url + "/search", body)
    while True:
        features.extend(page["features"])
        following = [link for link in page.get("links", []) if link["rel"] == "next"]
        if not following:
            return features
        link = following[0]
        assert link["href"].startswith(api_url)
        page = request_json(link["href"], link.get("body", body) if link.get("method") == "POST" else None)


def fixture_features(name: str) -> list[dict]:
    return json.loads((STAC_ANSWERS / name).read_text())["features"]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected_ids(features, area, start: str, end: str, max_cloud: float) -> set[str]:
    begin, finish = parse_time(start), parse_time(end)
    return {f["id"] for f in features
            if shape(f["geometry"]).intersects(area)
            and begin <= parse_time(f["properties"]["datetime"]) <= finish
            and f["properties"]["eo:cloud_cover"] < max_cloud}


def test_landing_page_lists_item_search_and_filtering(stac_api):
    landing = request_json(stac_api.url + "/")
    conforms = landing["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/core" in conforms
    assert "https://api.stacspec.org/v1.0.0/item-search" in conforms
    assert any(c.endswith("item-search#query") for c in conforms)
    assert any(c.endswith("item-search#filter") for c in conforms)
    assert {link["rel"] for link in landing["links"]} >= {"self", "root", "search", "conformance", "data"}
    assert all(link["href"].startswith(stac_api.url) for link in landing["links"])
    assert set(request_json(stac_api.url + "/conformance")["conformsTo"]) == set(conforms)


def test_collections_hold_all_fixture_items(stac_api):
    collections = {c["id"]: c for c in request_json(stac_api.url + "/collections")["collections"]}
    # other e2e modules load collections of their own into the session's database (CDSE, Landsat)
    assert {"sentinel-2-l2a", "sentinel-2-l2a-pc"} <= set(collections)
    for collection_id, fixture in (("sentinel-2-l2a", "earth-search-sentinel-2-l2a-items.json"),
                                   ("sentinel-2-l2a-pc", "planetary-computer-sentinel-2-l2a-items.json")):
        served = search_all(stac_api.url, {"collections": [collection_id], "limit": 100})
        assert sorted(f["id"] for f in served) == sorted(f["id"] for f in fixture_features(fixture))


# Each case: a polygon (not aligned with any footprint edge), a time range and a cloud cover bound,
# chosen so that the time or the cloud filter drops items the polygon alone would return.
SEARCHES = {
    "earth-search-brazil": ("sentinel-2-l2a", "earth-search-sentinel-2-l2a-items.json",
                            [(-40.2, -4.9), (-38.4, -5.05), (-38.3, -4.55), (-39.9, -4.45)],
                            "2025-07-31T00:00:00Z", "2025-07-31T23:59:59Z", 40.0),
    "planetary-computer-kamchatka-sea": ("sentinel-2-l2a-pc", "planetary-computer-sentinel-2-l2a-items.json",
                                         [(169.1, 55.3), (172.3, 55.1), (172.6, 57.2), (169.4, 57.5)],
                                         "2018-12-31T12:00:00Z", "2019-01-01T12:00:00Z", 50.0),
    "earth-search-2025-worldwide": ("sentinel-2-l2a", "earth-search-sentinel-2-l2a-items.json",
                                    [(-179.5, -80.5), (179.5, -80.5), (179.5, 80.5), (-179.5, 80.5)],
                                    "2025-01-01T00:00:00Z", "2025-12-31T23:59:59Z", 57.0),
}


@pytest.mark.parametrize("filtering", ["filter", "query"])
@pytest.mark.parametrize("case", sorted(SEARCHES))
def test_search_intersects_datetime_cloud_cover(stac_api, asset_server, case, filtering):
    collection_id, fixture, ring, start, end, max_cloud = SEARCHES[case]
    features = fixture_features(fixture)
    area = shape({"type": "Polygon", "coordinates": [ring + [ring[0]]]})
    expected = expected_ids(features, area, start, end, max_cloud)
    in_area = {f["id"] for f in features if shape(f["geometry"]).intersects(area)}
    assert expected and expected < in_area, "the case must make the time or cloud filter matter"

    body = {"collections": [collection_id], "intersects": mapping(area), "datetime": f"{start}/{end}",
            "limit": 100}
    if filtering == "filter":
        body.update({"filter-lang": "cql2-json",
                     "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, max_cloud]}})
    else:
        body["query"] = {"eo:cloud_cover": {"lt": max_cloud}}
    served = search_all(stac_api.url, body)

    assert sorted(f["id"] for f in served) == sorted(expected)
    for feature in served:
        assert feature["collection"] == collection_id
        for key, asset in feature["assets"].items():
            assert asset["href"].startswith(f"{asset_server.url}/assets/{feature['id']}/{key}."), asset["href"]


def test_datetime_outside_every_item_finds_nothing(stac_api):
    body = {"intersects": mapping(box(-180, -90, 180, 90)), "datetime": "2020-01-01T00:00:00Z/2020-12-31T23:59:59Z"}
    assert search_all(stac_api.url, body) == []


def test_every_asset_href_points_to_the_asset_server(stac_api, asset_server):
    served = search_all(stac_api.url, {"collections": ["sentinel-2-l2a", "sentinel-2-l2a-pc"], "limit": 100})
    assert len(served) == len(stac_api.items) == 40
    for feature in served:
        for key, asset in feature["assets"].items():
            assert asset["href"].startswith(f"{asset_server.url}/assets/{feature['id']}/{key}.")
    hrefs = [link["href"] for feature in served for link in feature["links"]]
    assert hrefs and all(href.startswith(stac_api.url) for href in hrefs)


def test_nginx_answers_range_requests(asset_server):
    target = asset_server.root / "assets" / "range-probe" / "data.bin"
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = bytes(range(256)) * 64
    target.write_bytes(payload)
    request = urllib.request.Request(f"{asset_server.url}/assets/range-probe/data.bin",
                                     headers={"Range": "bytes=1000-1099"})
    with _OPENER.open(request, timeout=10) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 1000-1099/{len(payload)}"
        assert response.read() == payload[1000:1100]
    with pytest.raises(urllib.error.HTTPError) as error:
        _OPENER.open(f"{asset_server.url}/assets/range-probe/missing.bin", timeout=10)
    assert error.value.code == 404


def test_gdal_reads_a_cog_window_through_vsicurl_with_range_requests(stac_api, asset_server):
    from osgeo import gdal

    used_exceptions = gdal.GetUseExceptions()
    gdal.UseExceptions()
    try:
        _read_cog_window(gdal, stac_api, asset_server)
    finally:
        if not used_exceptions:
            gdal.DontUseExceptions()


def _read_cog_window(gdal, stac_api, asset_server):
    feature = request_json(f"{stac_api.url}/collections/sentinel-2-l2a/items/S2B_24MVV_20250731_0_L2A")
    href = feature["assets"]["red"]["href"]
    target = asset_server.path_for(href)
    assert target.name == "red.tif"

    size = 2048
    rows, cols = np.mgrid[0:size, 0:size]
    data = ((rows * 7 + cols * 13) % 4096 + np.random.default_rng(0).integers(0, 64, (size, size))).astype("uint16")
    source = gdal.GetDriverByName("MEM").Create("", size, size, 1, gdal.GDT_UInt16)
    source.SetGeoTransform([500000, 10, 0, 9500020, 0, -10])
    source.SetProjection("EPSG:32724")
    source.GetRasterBand(1).WriteArray(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    gdal.Translate(str(target), source, format="COG",
                   creationOptions=["COMPRESS=DEFLATE", "BLOCKSIZE=256", "OVERVIEWS=NONE"])
    source = None
    file_size = target.stat().st_size
    log_before = len(asset_server.access_log_lines())

    options = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
               "GDAL_HTTP_MULTIRANGE": "SINGLE_GET", "VSI_CACHE": "FALSE", "GDAL_HTTP_PROXY": None,
               "CPL_VSIL_CURL_NON_CACHED": "/vsicurl/" + asset_server.url}
    previous = {key: gdal.GetConfigOption(key) for key in options}
    try:
        for key, value in options.items():
            gdal.SetConfigOption(key, value)
        gdal.VSICurlClearCache()
        remote = gdal.Open("/vsicurl/" + href)
        assert gdal.Info(remote, format="json")["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
        window = remote.GetRasterBand(1).ReadAsArray(1024, 768, 200, 150)
        remote = None
    finally:
        for key, value in previous.items():
            gdal.SetConfigOption(key, value)
        gdal.VSICurlClearCache()
    assert np.array_equal(window, data[768:918, 1024:1224])

    uri = "/" + str(target.relative_to(asset_server.root))
    requests = [line.split(" ", 4) for line in asset_server.access_log_lines()[log_before:]]
    ours = [r for r in requests if r[1] == uri]
    assert ours, f"nginx logged no request for {uri}"
    assert all(r[2] == "206" for r in ours if r[0] == "GET"), ours
    assert sum(r[0] == "GET" for r in ours) >= 2, "expected a header read and a tile read"
    sent = sum(int(r[3]) for r in ours)
    assert sent < file_size / 10, f"{sent} bytes sent for a {file_size}-byte file"
