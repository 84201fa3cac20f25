"""Running the tests' HTTP servers on 127.0.0.1, and a loopback URL nothing answers."""
import socket
import threading
from contextlib import contextmanager
from http.server import HTTPServer
from typing import Iterator


@contextmanager
def serving(server: HTTPServer, poll_interval: float = 0.05) -> Iterator[HTTPServer]:
    """Serve in a background thread for the duration of the block, then shut down and close."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url(path: str = "") -> str:
    """A loopback URL on a port nothing listens on (the port was just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
