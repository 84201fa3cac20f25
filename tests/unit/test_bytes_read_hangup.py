"""The counting server of bench/bench_bytes_read.py counts what reached the client, not what a response would
have held: GDAL's /vsicurl_streaming/ (which the Zarr driver used for each chunk of a /vsicurl/ store, before the
reader switched to the /vsicurl?url= form) opened each remote Zarr chunk with a GET it abandoned after the first
bytes, then read it with a second one; counting the first one whole made every large chunk count twice. Any
client that hangs up must still be counted by what reached it.

Expected answers: the file's own size for a response read to its end (HTTP/1.1 Content-Length, RFC 9110); for a
client that reads the headers and 1 KiB, then hangs up, at least that KiB and less than a quarter of the 4 MiB
file (what the loopback socket buffers can hold, the server's send buffer being 32 KiB; Linux's default receive
buffer, net.ipv4.tcp_rmem, is 128 KiB).
"""
import importlib.util
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SIZE = 4 << 20


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))  # the benchmark imports its neighbour common.py
    try:
        spec = importlib.util.spec_from_file_location("bench_bytes_read_hangup", BENCH / "bench_bytes_read.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _settled(server, timeout: float = 10.0) -> int:
    """The data count once it has stopped changing (the handler ended on the hang-up)."""
    last, deadline = -1, time.monotonic() + timeout
    while time.monotonic() < deadline:
        with server.lock:
            now = server.data
        if now == last:
            return now
        last = now
        time.sleep(0.3)
    return last


def test_a_client_that_hangs_up_after_the_headers_is_counted_for_what_it_got(bench, tmp_path):
    chunk = tmp_path / "store.zarr" / "b02" / "0.0"
    chunk.parent.mkdir(parents=True)
    chunk.write_bytes(bytes(range(256)) * (SIZE // 256))
    with bench.counting_server(tmp_path) as server:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{server.url}/store.zarr/b02/0.0", timeout=30) as answer:
            assert len(answer.read()) == SIZE
        assert _settled(server) == SIZE
        with server.lock:
            server.data = server.metadata = 0
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
            client.sendall(b"GET /store.zarr/b02/0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            while b"\r\n\r\n" not in received or len(received.split(b"\r\n\r\n", 1)[1]) < 1024:
                received += client.recv(4096)
        counted = _settled(server)
    print(f"counted {counted} bytes of {SIZE} for a client that hung up after the headers")
    assert 1024 <= counted < SIZE // 4
