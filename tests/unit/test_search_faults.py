"""Searches against busy and failing catalogues on 127.0.0.1 (issue 18): every backend retries 429,
502, 503, 504 and reset connections under core.net.retry's policy, honours Retry-After, gives up within
its count and the retry deadline, and says the server, the status and how often it tried.

The catalogues replay real recorded answers (tests/support/replay_server.py), with faults injected
before them:

- STAC, through pystac-client: the Earth Search items of
  ../shared/fixtures/stac/earth-search-sentinel-2-l2a-items.json behind a minimal STAC API (the one of
  test_search_stac.py), two items a page;
- CDSE OData: the five recorded pages of ../shared/fixtures/odata/cdse-odata-paging-page1..5.json
  (one real search, 47 products), the fault put on the second page;
- DHuS, through sentinelsat: ../shared/fixtures/dhus/dhus-opensearch-s2-cloudcover-0.json.

The expected result of a search with faults is the same search without them (the recorded answer,
mapped); the expected waits are the Retry-After values the server sent (measured loosely: at least
the value, between the failed request's arrival and the next one).
"""
import datetime as dt
import email.utils
import json
import logging
import time

import pytest

from labelmigration.core.util import limits
from labelmigration.core.net.http import HttpError
from labelmigration.core.search.dhus import DhusBackend
from labelmigration.core.search.odata import ODataBackend
from labelmigration.core.search.stac import StacBackend
from labelmigration.tests.support.replay_server import replay_server

UTC = dt.timezone.utc
TRANSIENT = ["503", "502", "504", "429", "reset"]
ODATA_RECORDED_BASE = "https://catalogue.dataspace.copernicus.eu/odata/v1"
QUERY_CONFORMANCE = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
                     "https://api.stacspec.org/v1.0.0/item-search#query"]


def fixture(catalogue_dir, *parts):
    path = catalogue_dir.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"the recorded answer is missing: {path}")
    return path


class Catalogue:
    """One backend on a replay server: search() runs the search and gives the scene ids; path and
    query say which request the faults hit."""

    def __init__(self, server, path, query, make, search_arguments):
        self.server, self.path, self.query = server, path, query
        self.make, self.arguments = make, search_arguments

    @property
    def shown(self):
        return self.server.url + self.path

    def fault(self, kind, times=1, retry_after="0"):
        self.server.fault(self.path, kind, times=times, retry_after=retry_after, query=self.query)

    def search(self, retries=3, backoff=0.01):
        return [scene.id for scene in self.make(retries, backoff).search(*self.arguments)]

    def hits(self):
        """The requests the faults were aimed at (same path and query)."""
        return [r for r in self.server.requests_to(self.path)
                if all(r.query.get(k) == v for k, v in (self.query or {}).items())]


def stac_catalogue(server, catalogue_dir, path):
    pytest.importorskip("pystac_client")
    from labelmigration.tests.unit.test_search_stac import stac_api, window_of

    items = json.loads(fixture(catalogue_dir, "stac", "earth-search-sentinel-2-l2a-items.json").read_text())["features"]
    stac_api(server, items, QUERY_CONFORMANCE, page_size=2)
    start, end = window_of(items)
    return Catalogue(server, path, None,
                     lambda retries, backoff: StacBackend(server.url, retries=retries, backoff=backoff),
                     ("POLYGON((-180 -90,180 -90,180 90,-180 90,-180 -90))", start, end, 100, "L2A",
                      "sentinel-2-l2a"))


def odata_catalogue(server, catalogue_dir):
    folder = fixture(catalogue_dir, "odata", "cdse-odata-paging-page1.json").parent
    pages = [json.loads((folder / f"cdse-odata-paging-page{n}.json").read_text()
                        .replace(ODATA_RECORDED_BASE, server.url + "/odata/v1")) for n in range(1, 6)]
    server.add_json("/odata/v1/Products", pages[0])
    for number, page in enumerate(pages[1:], start=1):
        server.add_json("/odata/v1/Products", page, query={"$skip": str(10 * number)})
    return Catalogue(server, "/odata/v1/Products", {"$skip": "10"},  # the second page: in the middle of paging
                     lambda retries, backoff: ODataBackend(server.url + "/odata/v1", retries=retries, backoff=backoff),
                     ("POLYGON((10 50,11 50,11 51,10 51,10 50))", dt.datetime(2014, 4, 1, tzinfo=UTC),
                      dt.datetime(2014, 5, 1, tzinfo=UTC), None, None))


def dhus_catalogue(server, catalogue_dir):
    pytest.importorskip("sentinelsat")
    recorded = json.loads(fixture(catalogue_dir, "dhus", "dhus-opensearch-s2-cloudcover-0.json").read_text())
    server.add_json("/hub/search", recorded)
    area = "POLYGON((-66.2695 -8.0592,-57.3047 -8.0592,-57.3047 0.7031,-66.2695 0.7031,-66.2695 -8.0592))"
    return Catalogue(server, "/hub/search", None,
                     lambda retries, backoff: DhusBackend(server.url + "/hub", ("bob", "pw"), retries=retries,
                                                          backoff=backoff),
                     (area, dt.datetime(2018, 12, 12, tzinfo=UTC), dt.datetime(2018, 12, 28, tzinfo=UTC), 10, None))


@pytest.fixture(params=["stac-landing", "stac-search", "odata", "dhus"])
def catalogue(request, catalogue_dir):
    with replay_server() as server:
        if request.param == "stac-landing":
            yield stac_catalogue(server, catalogue_dir, "/")
        elif request.param == "stac-search":
            yield stac_catalogue(server, catalogue_dir, "/search")
        elif request.param == "odata":
            yield odata_catalogue(server, catalogue_dir)
        else:
            yield dhus_catalogue(server, catalogue_dir)


def gap_after_first_fault(catalogue):
    hits = catalogue.hits()
    assert len(hits) >= 2, hits
    return hits[1].at - hits[0].at


# -- transient faults: the same result as without them ------------------------------------------------------
@pytest.mark.parametrize("kind", TRANSIENT)
def test_transient_fault_is_retried_to_the_same_result(catalogue, kind, caplog):
    expected = catalogue.search()
    assert expected  # the recorded answer holds scenes
    before = len(catalogue.hits())
    catalogue.fault(kind)
    with caplog.at_level(logging.WARNING, logger="labelmigration.core.net.retry"):
        assert catalogue.search() == expected
    assert len(catalogue.hits()) == 2 * before + 1  # the failed request, once more
    retries = [r.getMessage() for r in caplog.records if r.name.endswith("core.net.retry")]
    assert len(retries) == 1, retries
    if kind == "reset":
        assert catalogue.server.url in retries[0] and "closed the connection without answering" in retries[0]
        assert "retry 1 of 3 in " in retries[0]
    else:
        assert retries[0].startswith(f"HTTP {kind} from {catalogue.server.url}")
        assert ", retry 1 of 3 in " in retries[0]


def test_retry_after_in_seconds_is_waited_for(catalogue):
    expected = catalogue.search()
    catalogue.server.requests.clear()
    catalogue.fault("429", retry_after="1")
    assert catalogue.search(backoff=0.01) == expected
    assert gap_after_first_fault(catalogue) >= 0.95  # the server's 1 s, not the 0.01 s backoff


def test_retry_after_as_an_http_date_is_waited_for(catalogue):
    expected = catalogue.search()
    catalogue.server.requests.clear()
    catalogue.fault("503", retry_after=email.utils.formatdate(time.time() + 2.0, usegmt=True))
    assert catalogue.search(backoff=0.01) == expected
    assert gap_after_first_fault(catalogue) >= 0.8  # 1 to 2 s: the date has whole seconds


# -- faults that do not end: bounded by the count and the deadline -------------------------------------------
def test_busy_for_good_gives_up_after_the_retries_and_says_so(catalogue):
    catalogue.server.always(catalogue.path, "503")
    started = time.monotonic()
    with pytest.raises(HttpError) as caught:
        catalogue.search(retries=2, backoff=0.01)
    message = str(caught.value)
    assert catalogue.server.url in message and "HTTP 503" in message, message
    assert "tried 3 times in " in message and "(all 2 retries used)" in message, message
    assert caught.value.status == 503
    assert len(catalogue.server.requests_to(catalogue.path)) == 3
    assert time.monotonic() - started < 30  # loose: only the 0.01 + 0.02 s backoff was waited


def test_busy_for_good_gives_up_at_the_retry_deadline(catalogue):
    catalogue.server.always(catalogue.path, "503", retry_after="1")
    started = time.monotonic()
    with limits.using(limits.with_values(retry_deadline_s=2.5)):
        with pytest.raises(HttpError) as caught:
            catalogue.search(retries=50, backoff=0.01)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    tries = len(catalogue.server.requests_to(catalogue.path))
    assert 2 <= tries <= 4, tries  # a try at 0, 1 and 2 s; a wait to 3 s would pass the deadline
    assert catalogue.server.url in message and "HTTP 503" in message, message
    assert f"tried {tries} times in " in message, message
    assert "no time was left for another (the retry deadline of 2.5 s" in message, message
    assert 1.9 <= elapsed < 2.5 + 20, elapsed  # it waited Retry-After each time, and stopped at the deadline


def test_connection_reset_for_good_names_the_server(catalogue):
    catalogue.server.always(catalogue.path, "reset")
    with pytest.raises(HttpError) as caught:
        catalogue.search(retries=1, backoff=0.01)
    message = str(caught.value)
    assert f"Cannot reach {catalogue.server.url}" in message, message
    assert "it closed the connection without answering" in message and "tried 2 times in " in message, message
    assert caught.value.status is None
