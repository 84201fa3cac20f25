"""A DHuS search at the closed Copernicus Open Access Hub ends with the reason and what to give instead.

Where the expected answer comes from: the hub's closure, as ESA announced it on the hub's own front page
and quoted in sentinelsat/sentinelsat#604 ("The Copernicus Open Access Hub ... will cease operations at the
end of October 2023"); its addresses, scihub.copernicus.eu and the API hub apihub.copernicus.eu that took
over on 28 April 2021 (ESA's news quoted in CS-SI/eodag-sentinelsat#18). A loopback listener stands in as the
proxy every request of the search would go through: it counts connection attempts, so the test sees that
nobody was asked.
"""
import datetime as dt
import socket
import threading

import pytest

from labelmigration.core.net.connections import use_proxy
from labelmigration.core.search import BACKENDS, make_backend
from labelmigration.core.search.dhus import DhusBackend
from labelmigration.core.util.errors import LabelMigrationError

UTC = dt.timezone.utc
AREA = "POLYGON((9 47,9.1 47,9.1 47.1,9 47.1,9 47))"
START, END = dt.datetime(2023, 5, 1, tzinfo=UTC), dt.datetime(2023, 5, 11, tzinfo=UTC)
CLOSED_ADDRESSES = ("https://apihub.copernicus.eu/apihub", "https://scihub.copernicus.eu/dhus/",
                    "HTTPS://SciHub.Copernicus.EU/apihub")


class CountingProxy:
    """Accepts and closes every connection on 127.0.0.1, counting them."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.socket.close()


@pytest.fixture()
def proxy():
    counting = CountingProxy()
    try:
        with use_proxy(counting.url):
            yield counting
    finally:
        counting.close()


@pytest.mark.parametrize("url", CLOSED_ADDRESSES)
def test_a_search_at_the_closed_hub_says_it_closed_and_asks_for_a_mirror(proxy, url):
    with pytest.raises(LabelMigrationError) as raised:
        DhusBackend(url, ("bob", "Secret-Pass-123"), retries=0).search(AREA, START, END, 30, "L2A")
    message = str(raised.value)
    assert "closed in 2023" in message and "mirror" in message and "(URL)" in message
    assert "Secret-Pass-123" not in message
    assert proxy.connections == 0  # refused before any request: nothing answers there


def test_the_default_address_is_the_closed_hub_and_says_so(proxy):
    """Without a URL the backend keeps the hub's old address (BACKEND=dhus with no URL still runs in saved
    models): the search ends with the closure, not a connection error."""
    assert BACKENDS["dhus"].default_url == "https://apihub.copernicus.eu/apihub"
    with pytest.raises(LabelMigrationError, match=r"public Copernicus DHuS hubs closed in 2023.*mirror's URL"):
        make_backend("dhus", None).search(AREA, START, END, 30, None)
    assert proxy.connections == 0


def test_a_mirror_on_another_host_is_asked(proxy):
    """A hub on any other host (here one whose name only contains the closed one's) is searched: the request
    reaches the proxy, and the error is the connection's, not the closure."""
    backend = DhusBackend("http://apihub.copernicus.eu.mirror.example/apihub", retries=0, timeout=5)
    with pytest.raises(LabelMigrationError) as raised:
        backend.search(AREA, START, END, 30, None)
    assert "closed in 2023" not in str(raised.value)
    assert proxy.connections >= 1
