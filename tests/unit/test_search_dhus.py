"""DHuS OpenSearch against a recorded hub answer replayed on 127.0.0.1, and the backend registry."""
import datetime as dt
import json

import pytest

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.net.http import HttpError
from labelmigration.core.search import BACKENDS, make_backend
from labelmigration.core.search.dhus import DhusBackend, build_query
from labelmigration.core.search.local import LocalArchiveBackend
from labelmigration.core.search.odata import DEFAULT_URL as ODATA_URL, ODataBackend
from labelmigration.tests.support.loopback import closed_port_url
from labelmigration.tests.support.replay_server import replay_server

UTC = dt.timezone.utc
AREA = "POLYGON((-66.2695 -8.0592,-57.3047 -8.0592,-57.3047 0.7031,-66.2695 0.7031,-66.2695 -8.0592))"
START, END = dt.datetime(2018, 12, 12, tzinfo=UTC), dt.datetime(2018, 12, 28, tzinfo=UTC)


@pytest.fixture()
def recorded(catalogue_dir):
    path = catalogue_dir / "dhus" / "dhus-opensearch-s2-cloudcover-0.json"
    if not path.exists():
        pytest.skip(f"the recorded DHuS answer is missing: {path}")
    return json.loads(path.read_text())


def fields(entry):
    out = {}
    for kind in ("str", "int", "double", "date"):
        values = entry.get(kind, [])
        for item in values if isinstance(values, list) else [values]:
            out[item["name"]] = item["content"]
    return out


def test_entries_map_to_scenes(recorded):
    with replay_server() as server:
        server.add_json("/hub/search", recorded)
        scenes = DhusBackend(server.url + "/hub", ("bob", "pw")).search(AREA, START, END, 10, None)
        sent = server.requests[0]
    entries = recorded["feed"]["entry"]
    assert [s.id for s in scenes] == [e["id"] for e in entries]
    for scene, entry in zip(scenes, entries):
        values = fields(entry)
        assert scene.title == entry["title"] == values["identifier"]
        assert scene.cloud_cover == float(values["cloudcoverpercentage"])
        assert scene.product_type == values["producttype"]
        assert scene.datetime == dt.datetime.fromisoformat(values["beginposition"].replace("Z", "+00:00"))
        assert scene.tile == values.get("tileid", entry["title"].split("_")[5][1:])
        assert scene.url == entry["link"][0]["href"]
        assert scene.quicklook.endswith("/Products('Quicklook')/$value")
        assert scene.footprint_wkt.split(" ")[0] in ("POLYGON", "MULTIPOLYGON")
    assert sent.query["q"] == build_query(AREA, START, END, 10, None)
    assert sent.query["format"] == "json" and sent.query["start"] == "0"
    assert sent.headers["Authorization"].startswith("Basic ")


def test_query_terms():
    query = build_query(AREA, START, END, 10, "L2A")
    assert "beginPosition:[2018-12-12T00:00:00.000Z TO 2018-12-28T00:00:00.000Z]" in query
    assert "cloudcoverpercentage:[0 TO 10]" in query and "producttype:S2MSI2A" in query
    assert 'footprint:"Intersects(POLYGON ((-66.2695 -8.0592' in query


def test_level_filter_is_applied_to_the_answer(recorded):
    with replay_server() as server:
        server.add_json("/hub/search", recorded)
        scenes = DhusBackend(server.url + "/hub").search(AREA, START, END, 10, "L2A")
    assert [s.title for s in scenes] == [e["title"] for e in recorded["feed"]["entry"] if "MSIL2A" in e["title"]]


def test_wrong_credentials_never_show_the_password():
    with replay_server() as server:
        server.fault("/hub/search", "401")
        with pytest.raises(HttpError) as caught:
            DhusBackend(server.url + "/hub", ("bob", "Secret-Pass-123")).search(AREA, START, END, 3, None)
    message = str(caught.value)
    assert "401" in message and f"{server.url}/hub/search" in message
    assert "Secret-Pass-123" not in message and "bob" not in message


def test_html_page_and_unreachable_hub():
    with replay_server() as server:
        server.fault("/hub/search", "html")
        with pytest.raises(HttpError, match="HTML page instead of JSON"):
            DhusBackend(server.url + "/hub").search(AREA, START, END, 3, None)
    url = closed_port_url()
    with pytest.raises(HttpError, match=f"Cannot reach {url}/hub/search: it refused the connection"):
        DhusBackend(url + "/hub", retries=0).search(AREA, START, END, 3, None)


def test_registry_and_make_backend(tmp_path):
    assert set(BACKENDS) == {"cdse-odata", "stac", "dhus", "local"}
    odata = make_backend("cdse-odata")
    assert isinstance(odata, ODataBackend) and odata.url == ODATA_URL
    assert isinstance(make_backend("local", str(tmp_path)), LocalArchiveBackend)
    assert make_backend("dhus", "http://127.0.0.1:1/hub", ("u", "p")).headers["Authorization"].startswith("Basic ")
    with pytest.raises(LabelMigrationError, match="needs a URL"):
        make_backend("local")
    with pytest.raises(LabelMigrationError, match="Unknown search backend 'scihub'"):
        make_backend("scihub")


def test_missing_sentinelsat_says_what_to_install(monkeypatch):
    import sys

    from labelmigration.core.util.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "sentinelsat", None)  # as if it were not installed
    with pytest.raises(MissingDependency, match=r'pip install "sentinelsat==1\.2\.1"'):
        DhusBackend("http://127.0.0.1:1/hub").search(AREA, START, END, 3, None)


def test_hub_gets_the_connect_and_read_timeouts_of_the_limits(monkeypatch):
    """requests takes (connect, read); the hub never waits on the default of no timeout."""
    import requests
    import sentinelsat

    from labelmigration.core.util import limits

    seen = {}

    class Api:
        def __init__(self, user, password, url, timeout=None, show_progressbars=True):
            seen["timeout"] = timeout
            self.session = requests.Session()

        def query(self, **_arguments):
            return {}

    monkeypatch.setattr(sentinelsat, "SentinelAPI", Api)
    with limits.using(limits.with_values(connect_timeout_s=4, read_timeout_s=9)):
        assert DhusBackend("http://127.0.0.1:1/hub").search(AREA, START, END, 3, None) == []
    assert seen["timeout"] == (4.0, 9.0)
