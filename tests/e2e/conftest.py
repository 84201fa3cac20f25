"""The e2e tier's real servers on 127.0.0.1, started once per session and stopped at its end.

- ``stac_api``: stac-fastapi-pgstac (from .venv-stac) on a throwaway PostgreSQL + PostGIS cluster,
  loaded with the real items of ../shared/fixtures/stac: Earth Search ones in ``sentinel-2-l2a``,
  Planetary Computer ones in ``sentinel-2-l2a-pc``, every asset href rewritten to
  ``<asset server>/assets/<item id>/<asset key>.<extension>``;
- ``asset_server``: nginx serving what the tests write under its ``root``, with range requests.

The tier is skipped, with the reason, where tools/install_e2e_servers.sh has not run (``make setup``
runs it).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_servers_module():
    spec = importlib.util.spec_from_file_location("labelmigration_e2e_servers", REPO_ROOT / "tools" / "e2e_servers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


e2e_servers = _load_servers_module()


def pytest_configure(config):
    # Also registered in pytest.ini; repeated here so --strict-markers never trips on it.
    config.addinivalue_line("markers", "e2e: runs against real servers the suite starts on 127.0.0.1")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@dataclass
class AssetServer:
    """nginx on 127.0.0.1: files written under ``root`` are served at ``url``."""

    root: Path
    url: str
    access_log: Path
    _server: object = field(repr=False)

    def path_for(self, href: str) -> Path:
        """The file under ``root`` that an asset href on this server names."""
        assert href.startswith(self.url + "/"), f"{href} is not on the asset server {self.url}"
        return self.root / href[len(self.url) + 1:]

    def access_log_lines(self) -> list[str]:
        """``METHOD URI STATUS BODY_BYTES "RANGE"`` per request, oldest first."""
        return self._server.access_log_lines()


@dataclass
class StacApi:
    url: str
    collections: list[dict]
    items: list[dict]
    timings: dict[str, float]

    def items_of(self, collection_id: str) -> list[dict]:
        return [item for item in self.items if item["collection"] == collection_id]


def _bypass_proxies_for_loopback() -> None:
    """Clients that honour *_proxy (GDAL's curl, requests) must reach 127.0.0.1 directly."""
    for name in ("no_proxy", "NO_PROXY"):
        current = [entry for entry in os.environ.get(name, "").split(",") if entry]
        os.environ[name] = ",".join(current + [h for h in ("127.0.0.1", "localhost") if h not in current])


@pytest.fixture(scope="session")
def e2e_servers_started(tmp_path_factory):
    reason = e2e_servers.missing_requirements()
    if reason:
        pytest.skip(reason)
    if not (e2e_servers.FIXTURES_STAC / e2e_servers.EARTH_SEARCH_ITEMS).is_file():
        pytest.skip(f"the recorded STAC items are missing (looked in {e2e_servers.FIXTURES_STAC})")
    _bypass_proxies_for_loopback()
    directory = tmp_path_factory.mktemp("e2e-servers")
    started = time.monotonic()
    servers = e2e_servers.E2EServers(directory, e2e_servers.FIXTURES_STAC).start()
    servers.timings["total"] = time.monotonic() - started
    try:
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def stac_api(e2e_servers_started) -> StacApi:
    servers = e2e_servers_started
    return StacApi(servers.stac.url, servers.collections, servers.items, servers.timings)


@pytest.fixture(scope="session")
def asset_server(e2e_servers_started) -> AssetServer:
    assets = e2e_servers_started.assets
    return AssetServer(assets.root, assets.url, assets.access_log, assets)
