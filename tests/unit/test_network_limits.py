"""Timeouts, stalls and the retry deadline (core.net.http, core.net.download) against hostile loopback servers.

Expected answers: issue 13 measured a server that accepts and never answers holding searchscenes
250-363 s and downloadscenes 394 s, and a server that sends one byte every 5 s holding
downloadscenes forever. With the limits set small here, every call must end within a few seconds
of its retry deadline, with a message naming the server (no query string), what happened and how
often it was tried.
"""
import datetime as dt
import json
import logging
import socket
import time

import pytest

from labelmigration.core.util import limits
from labelmigration.core.net.cdse import CdseToken
from labelmigration.core.net.download import download
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.net.http import HttpError, get_json, open_once
from labelmigration.core.net.timeouts import StallWatch
from labelmigration.core.search.odata import ODataBackend
from labelmigration.core.search.stac import StacBackend
from labelmigration.tests.support.fault_server import Fault, fault_server

ZIP = b"PK\x03\x04"
AREA = "POLYGON((10 50,11 50,11 51,10 51,10 50))"
START, END = dt.datetime(2020, 8, 1, tzinfo=dt.timezone.utc), dt.datetime(2020, 8, 20, tzinfo=dt.timezone.utc)


@pytest.fixture
def server():
    with fault_server() as running:
        yield running


def small(**values):
    """Limits in force for the block: short timeouts (what a user's settings or env vars would set)."""
    return limits.using(limits.with_values(**values))


@pytest.fixture
def clock():
    started = time.monotonic()
    return lambda: time.monotonic() - started


# -- the connection: connect timeout to connect, read timeout afterwards -------------------------
def test_connect_uses_the_connect_timeout_and_reads_the_read_timeout(server, monkeypatch):
    url = server.add_file("/a.json", b"{}", content_type="application/json")
    asked = []
    real = socket.create_connection

    def create_connection(address, timeout=None, *args, **kwargs):
        asked.append(timeout)
        return real(address, timeout, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with small(connect_timeout_s=3, read_timeout_s=7):
        with open_once(url) as response:
            assert response.fp.raw._sock.gettimeout() == 7
            assert response.read() == b"{}"
    assert asked == [3]
    with open_once(url, timeout=2) as response:  # a caller's single timeout is both, as before
        assert response.fp.raw._sock.gettimeout() == 2
    assert asked[-1] == 2


# -- searches ------------------------------------------------------------------------------------
def test_never_answering_catalogue_ends_within_the_retry_deadline(server, clock):
    server.always("/odata/v1/Products", Fault(hang=True))
    with small(read_timeout_s=0.5, retry_deadline_s=2):
        with pytest.raises(HttpError) as caught:
            ODataBackend(server.url + "/odata/v1", retries=10, backoff=0.1).search(AREA, START, END, 10, "L2A")
    message = str(caught.value)
    assert clock() < 3.5, message
    assert f"Cannot reach {server.url}/odata/v1/Products: it accepted the connection but sent no answer within " \
           f"0.5 s" in message
    assert "$filter" not in message and "tried " in message and "retry deadline of 2 s" in message
    assert len(server.requests_to("/odata/v1/Products")) >= 2  # it was retried, then given up


def test_catalogue_that_drips_its_answer_is_cut_off(server, clock):
    page = json.dumps({"value": []}).encode() + b" " * 200
    server.add_file("/odata/v1/Products", page, content_type="application/json")
    server.always("/odata/v1/Products", Fault(drip=0.1))
    with small(read_timeout_s=2, stall_timeout_s=0.8, retry_deadline_s=10):
        stalled = r"the transfer stalled \(fewer than 16 KiB in 0.8 s.*tried 2 times"
        with pytest.raises(HttpError, match=stalled) as caught:
            ODataBackend(server.url + "/odata/v1", retries=1, backoff=0.1).search(AREA, START, END, 10, "L2A")
    assert clock() < 3, str(caught.value)


def test_dripped_status_line_is_cut_by_the_read_timeout(server, clock):
    """A socket timeout alone never fires here: a byte comes every 0.1 s, forever."""
    server.add_file("/a.json", b"{}" + b" " * 500, content_type="application/json")
    server.always("/a.json", Fault(drip=0.1, drip_headers=True))
    with small(read_timeout_s=0.8):
        with pytest.raises(HttpError, match=r"did not send a complete answer within 0.8 s"):
            get_json(server.url + "/a.json", retries=0)
    assert clock() < 2.5


def test_slow_but_steady_answer_still_arrives(server):
    page = json.dumps({"value": [], "padding": "x" * 40_000}).encode()
    url = server.add_file("/a.json", page, content_type="application/json")
    server.throttle = 0.05  # 64 KiB blocks: well above the stall minimum
    with small(read_timeout_s=1, stall_timeout_s=0.5):
        assert get_json(url, retries=0)["value"] == []


def test_answer_larger_than_the_metadata_limit_is_refused(server):
    url = server.add_file("/big.json", b"[" + b"0," * 600_000 + b"0]", content_type="application/json")
    with small(max_metadata_mb=1):
        with pytest.raises(LabelMigrationError, match=r"The answer of .*/big.json is 1.2 MB, more than the limit"):
            get_json(url, retries=0)


def test_never_answering_token_endpoint_names_the_token_url(server, clock):
    server.always("/token", Fault(hang=True))
    with small(read_timeout_s=0.5, retry_deadline_s=1.5):
        token = CdseToken("alice", "secret", token_url=server.url + "/token", backoff=0.1, retries=10)
        with pytest.raises(HttpError) as caught:
            token.access_token()
    assert f"Cannot reach {server.url}/token: it accepted the connection but sent no answer" in str(caught.value)
    assert "secret" not in str(caught.value) and clock() < 3


def test_never_answering_stac_api_ends_within_the_retry_deadline(server, clock):
    pytest.importorskip("pystac_client")
    server.always("/", Fault(hang=True))
    with small(read_timeout_s=0.5, retry_deadline_s=1.5):
        with pytest.raises(LabelMigrationError, match=f"Cannot reach {server.url}/?: it accepted the connection"):
            StacBackend(server.url, retries=10, backoff=0.1).search(AREA, START, END, 10, "L2A", None)
    assert clock() < 3


def test_never_answering_dhus_hub_ends_within_the_retry_deadline(server, clock):
    """sentinelsat sets a timeout requests never reads (Session.timeout); the retrying adapter gives
    each try the read timeout in force, so a silent hub no longer holds the search for ever."""
    pytest.importorskip("sentinelsat")
    from labelmigration.core.search.dhus import DhusBackend

    server.always("/hub/search", Fault(hang=True))
    with small(read_timeout_s=0.5, retry_deadline_s=2):
        with pytest.raises(HttpError) as caught:
            DhusBackend(server.url + "/hub", retries=10, backoff=0.1).search(AREA, START, END, 10, "L2A")
    message = str(caught.value)
    assert clock() < 3.5, message
    assert f"Cannot reach {server.url}/hub/search: it accepted the connection but sent no answer within 0.5 s" \
           in message and "retry deadline of 2 s" in message, message
    assert len(server.requests_to("/hub/search")) >= 2


def test_every_retry_is_logged_with_its_reason(server, caplog):
    url = server.add_file("/a.json", b"[]", content_type="application/json")
    server.script("/a.json", Fault(status=503), Fault(status=502))
    with caplog.at_level(logging.WARNING, logger="labelmigration.core.net.retry"):
        assert get_json(url, backoff=0.01) == []
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"HTTP 503 from {url}, retry 1 of 3 in 0.01 s", f"HTTP 502 from {url}, retry 2 of 3 in 0.02 s"]


def test_retry_after_beyond_the_deadline_gives_up_at_once(server, clock):
    url = server.add_file("/a.json", b"[]", content_type="application/json")
    server.script("/a.json", Fault(status=503, retry_after="60"))
    with small(retry_deadline_s=5):
        with pytest.raises(HttpError, match=r"HTTP 503 .*tried 1 time in 0 s, and no time was left"):
            get_json(url, retries=5)
    assert clock() < 1


# -- downloads -----------------------------------------------------------------------------------
def test_never_answering_download_ends_within_the_retry_deadline(server, tmp_path, clock):
    url = server.always("/p.zip", Fault(hang=True))
    with small(read_timeout_s=0.5, retry_deadline_s=2):
        with pytest.raises(HttpError) as caught:
            download(url, str(tmp_path / "p.zip"), retries=50, backoff=0.1)
    message = str(caught.value)
    assert clock() < 3.5, message
    assert f"Downloading {server.url}/p.zip failed" in message and "sent no answer within 0.5 s" in message
    assert "the retry deadline of 2 s has passed" in message and "tried " in message
    assert list(tmp_path.iterdir()) == []


def test_drip_download_is_stalled_although_bytes_come(server, tmp_path, clock):
    """Before: each dripped byte reset the failure count, so the download never ended."""
    server.add_file("/p.zip", ZIP + bytes(2000))
    url = server.always("/p.zip", Fault(drip=0.05))
    with small(read_timeout_s=2, stall_timeout_s=0.5, retry_deadline_s=30):
        with pytest.raises(HttpError) as caught:
            download(url, str(tmp_path / "p.zip"), retries=2, backoff=0.05)
    message = str(caught.value)
    assert "failed after 2 retries (tried 3 times in" in message and "the transfer stalled" in message
    assert clock() < 4, message
    assert list(tmp_path.iterdir()) == []  # a few dripped bytes are not worth a part file


def test_stalled_download_stops_at_the_retry_deadline(server, tmp_path, clock):
    server.add_file("/p.zip", ZIP + bytes(2000))
    url = server.always("/p.zip", Fault(drip=0.05))
    with small(read_timeout_s=2, stall_timeout_s=0.4, retry_deadline_s=1.2):
        with pytest.raises(HttpError, match=r"the transfer stalled .*the retry deadline of 1.2 s has passed"):
            download(url, str(tmp_path / "p.zip"), retries=100, backoff=0.05)
    assert clock() < 3


def test_slow_download_that_progresses_is_not_stalled(server, tmp_path):
    data = ZIP + bytes(300_000)
    url = server.add_file("/p.zip", data)
    server.throttle = 0.1  # 64 KiB every 0.1 s
    with small(read_timeout_s=1, stall_timeout_s=0.25, retry_deadline_s=1):
        result = download(url, str(tmp_path / "p.zip"), expected_size=len(data), backoff=0.01)
    assert result.requests == 1 and (tmp_path / "p.zip").read_bytes() == data


def test_progressing_download_outlives_the_deadline_over_cut_connections(server, tmp_path):
    """Each try brings data: the deadline counts from the last try that did, so it goes on."""
    data = ZIP + bytes(400_000)
    url = server.add_file("/p.zip", data)
    server.script("/p.zip", *[Fault(cut_after=70_000, throttle=0.2)] * 5)
    with small(retry_deadline_s=0.5):
        result = download(url, str(tmp_path / "p.zip"), expected_size=len(data), backoff=0.01, retries=1)
    assert (tmp_path / "p.zip").read_bytes() == data and result.requests == 6


def test_big_part_file_is_kept_and_the_message_says_so(server, tmp_path, monkeypatch):
    from labelmigration.core.net import download as dl

    monkeypatch.setattr(dl, "RESUME_MIN_BYTES", 1000)
    data = ZIP + bytes(200_000)
    url = server.add_file("/p.zip", data)
    server.script("/p.zip", Fault(cut_after=50_000), *[Fault(status=503)] * 3)
    with pytest.raises(HttpError, match=r"0.05 MB received are kept in .*p.zip.part' for the next try"):
        download(url, str(tmp_path / "p.zip"), retries=2, backoff=0.01)
    assert (tmp_path / "p.zip.part").stat().st_size == 50_000


def test_stall_watch_counts_windows():
    now = [0.0]
    watch = StallWatch(10, min_bytes=100, clock=lambda: now[0])
    now[0] = 5
    assert not watch.stalled(50)  # the window is not over
    now[0] = 10
    assert watch.stalled(10)  # 60 bytes in 10 s
    now[0] = 20
    assert not watch.stalled(200)  # enough in the next window
    now[0] = 40
    assert watch.stalled(0)
