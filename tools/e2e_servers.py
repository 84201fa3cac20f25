"""Loopback servers for the e2e tests: PostgreSQL + PostGIS + pgstac, stac-fastapi-pgstac and nginx.

Everything runs from a throwaway folder, listens on 127.0.0.1 on free ports and is stopped by
``stop()``; no system-wide service is touched. tools/install_e2e_servers.sh installs what they need
(Debian packages and the separate venv .venv-stac).

Used by tests/e2e/conftest.py, and by hand::

    python3 tools/e2e_servers.py serve      # start all, load the fixture items, print the URLs

The ``load`` sub-command runs inside .venv-stac (it imports pypgstac) and is started by
``PgstacDatabase.load``; this module imports nothing outside the standard library at the top so
both interpreters can read it.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[1]
STAC_VENV = REPO_ROOT / ".venv-stac"
STAC_PYTHON = STAC_VENV / "bin" / "python"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
NGINX = Path(shutil.which("nginx") or "/usr/sbin/nginx")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
FIXTURES_STAC = REPO_ROOT.parent / "shared" / "fixtures" / "stac"  # recorded items, read in place (their README)

EARTH_SEARCH_ITEMS = "earth-search-sentinel-2-l2a-items.json"
PLANETARY_COMPUTER_ITEMS = "planetary-computer-sentinel-2-l2a-items.json"
PLANETARY_COMPUTER_COLLECTION = "planetary-computer-collection-sentinel-2-l2a.json"
EARTH_SEARCH_COLLECTION_ID = "sentinel-2-l2a"
PLANETARY_COMPUTER_COLLECTION_ID = "sentinel-2-l2a-pc"

DB_NAME = "stac"
DB_USER = "stac"
DB_PASSWORD = "stac-e2e"

# Never route loopback requests through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def missing_requirements() -> str | None:
    """Why the e2e servers cannot start here, or None when everything is installed."""
    missing = [str(path) for path in (STAC_PYTHON, STAC_VENV / "bin" / "uvicorn", PG_BIN / "initdb",
                                      PG_BIN / "postgres", POSTGIS_CONTROL, NGINX)
               if not path.exists()]
    if missing:
        return f"e2e servers not installed (missing {', '.join(missing)}); run tools/install_e2e_servers.sh"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs the postgres user (made by Debian's postgresql package)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _clean_environment(**extra: str) -> dict:
    """The environment for a server process: no Python or proxy settings leaking in from the tests."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.upper().startswith(("PYTHON", "PG", "POSTGRES", "VIRTUAL_ENV"))
                   and not k.lower().endswith("_proxy")}
    environment.update(extra)
    return environment


def _wait_until(check, timeout: float, what: str, process: subprocess.Popen | None = None,
                log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}" + _log_tail(log))
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout:.0f} s" + _log_tail(log))
        time.sleep(0.1)


def _log_tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return "\n--- " + str(log) + " ---\n" + log.read_text(errors="replace")[-3000:]


def _stop_process(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


# --- STAC items ---------------------------------------------------------------------------------

def asset_path(owner_id: str, asset_key: str, original_href: str) -> str:
    """Where an asset lives on the asset server: /assets/<item id>/<asset key>.<original extension>."""
    extension = os.path.splitext(urlparse(original_href).path)[1]
    return f"/assets/{owner_id}/{asset_key}{extension}"


def rewrite_items(feature_collection: dict, collection_id: str, asset_base_url: str) -> list[dict]:
    """The fixture's items for ``collection_id`` with every asset href on the asset server.

    Links are dropped: they point to the original catalogue, and the API makes its own
    self/parent/collection/root links.
    """
    items = []
    for original in feature_collection["features"]:
        item = json.loads(json.dumps(original))
        item["collection"] = collection_id
        item["links"] = []
        for key, asset in item["assets"].items():
            asset["href"] = asset_base_url.rstrip("/") + asset_path(item["id"], key, asset["href"])
            asset.pop("alternate", None)  # alternate hrefs would point outside again
        items.append(item)
    return items


def _extent(items: list[dict]) -> dict:
    bboxes = [item["bbox"] for item in items]
    times = sorted(item["properties"]["datetime"] for item in items)
    return {"spatial": {"bbox": [[min(b[0] for b in bboxes), min(b[1] for b in bboxes),
                                  max(b[2] for b in bboxes), max(b[3] for b in bboxes)]]},
            "temporal": {"interval": [[times[0], times[-1]]]}}


def earth_search_collection(items: list[dict]) -> dict:
    return {
        "type": "Collection", "stac_version": "1.0.0", "id": EARTH_SEARCH_COLLECTION_ID,
        "title": "Sentinel-2 Level-2A (Earth Search items, e2e copy)",
        "description": "Real Earth Search v1 Sentinel-2 L2A items, assets served over loopback.",
        "license": "proprietary", "links": [], "extent": _extent(items),
        "stac_extensions": [],
    }


def planetary_computer_collection(document: dict, items: list[dict], asset_base_url: str) -> dict:
    collection = json.loads(json.dumps(document))
    collection["id"] = PLANETARY_COMPUTER_COLLECTION_ID
    # the recorded document predates STAC 1.0's required "type"; the API lists only typed collections
    collection.setdefault("type", "Collection")
    collection["links"] = []
    collection["extent"] = _extent(items)
    for key, asset in collection.get("assets", {}).items():
        asset["href"] = asset_base_url.rstrip("/") + asset_path(PLANETARY_COMPUTER_COLLECTION_ID, key, asset["href"])
    return collection


def fixture_catalogue(asset_base_url: str, fixtures: Path = FIXTURES_STAC) -> tuple[list[dict], list[dict]]:
    """(collections, items) to load: the Earth Search and Planetary Computer fixture items."""
    def read(name):
        return json.loads((fixtures / name).read_text())

    es_items = rewrite_items(read(EARTH_SEARCH_ITEMS), EARTH_SEARCH_COLLECTION_ID, asset_base_url)
    pc_items = rewrite_items(read(PLANETARY_COMPUTER_ITEMS), PLANETARY_COMPUTER_COLLECTION_ID, asset_base_url)
    collections = [earth_search_collection(es_items),
                   planetary_computer_collection(read(PLANETARY_COMPUTER_COLLECTION), pc_items, asset_base_url)]
    return collections, es_items + pc_items


# --- PostgreSQL + pgstac ------------------------------------------------------------------------

class PgstacDatabase:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 with PostGIS and pgstac."""

    def __init__(self) -> None:
        # Not under pytest's tmp folders: those are private to the user running the tests, and as
        # root the cluster has to run as the postgres user.
        self.directory = Path(tempfile.mkdtemp(prefix="labelmigration-e2e-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{DB_NAME}"

    def environment(self) -> dict:
        """The connection settings stac-fastapi-pgstac reads."""
        return {"PGUSER": DB_USER, "PGPASSWORD": DB_PASSWORD, "PGHOST": "127.0.0.1",
                "PGPORT": str(self.port), "PGDATABASE": DB_NAME}

    def _as_owner(self) -> dict:
        """As root, PostgreSQL has to run as an unprivileged user: the Debian package's postgres."""
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.directory, timeout=timeout,
                                env=_clean_environment(LC_ALL="C.UTF-8", PGPASSWORD=DB_PASSWORD),
                                **self._as_owner())
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                               f"{result.stderr}" + _log_tail(self.log))
        return result

    def start(self, timeout: float = 60.0) -> None:
        password_file = self.directory / "password"
        password_file.write_text(DB_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        self.directory.chmod(0o700)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", DB_USER, "--pwfile", str(password_file),
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
        # The postmaster is our own child (not daemonised by pg_ctl), so it is reaped when it stops.
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-c", "listen_addresses=127.0.0.1",
                 "-p", str(self.port), "-k", str(self.directory),
                 # a throwaway database: durability buys nothing here
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "shared_buffers=64MB", "-c", "max_connections=50", "-c", "jit=off"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, start_new_session=True,
                env=_clean_environment(LC_ALL="C.UTF-8"), **self._as_owner())
        _wait_until(lambda: subprocess.run(
            [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"],
            env=_clean_environment()).returncode == 0, timeout, "PostgreSQL", self.process, self.log)
        self._run(str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                  "-p", str(self.port), "-U", DB_USER, "-d", "postgres", "-c", f"CREATE DATABASE {DB_NAME}")

    def load(self, collections: list[dict], items: list[dict]) -> None:
        """CREATE EXTENSION postgis, pypgstac migrate, then load the collections and items."""
        collections_file = self.directory / "collections.ndjson"
        items_file = self.directory / "items.ndjson"
        collections_file.write_text("".join(json.dumps(c) + "\n" for c in collections))
        items_file.write_text("".join(json.dumps(i) + "\n" for i in items))
        result = subprocess.run(
            [str(STAC_PYTHON), str(Path(__file__).resolve()), "load", self.dsn, str(collections_file),
             str(items_file)],
            capture_output=True, text=True, env=_clean_environment(), cwd=self.directory, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"loading pgstac failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                               + _log_tail(self.log))

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                # SIGQUIT: immediate shutdown; the data is thrown away anyway
                self.process.send_signal(signal.SIGQUIT)
                try:
                    self.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(10)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _load_into_pgstac(dsn: str, collections_file: str, items_file: str) -> None:
    """Runs inside .venv-stac."""
    import psycopg
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader, Methods
    from pypgstac.migrate import Migrate

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    with PgstacDB(dsn=dsn) as db:
        Migrate(db).run_migration()
    with PgstacDB(dsn=dsn) as db:
        loader = Loader(db=db)
        loader.load_collections(collections_file, insert_mode=Methods.insert)
        loader.load_items(items_file, insert_mode=Methods.insert)


# --- stac-fastapi-pgstac ------------------------------------------------------------------------

class StacApi:
    """stac-fastapi-pgstac under uvicorn from .venv-stac on 127.0.0.1."""

    def __init__(self, database: PgstacDatabase, directory: Path) -> None:
        self.database = database
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "stac-api.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        environment = _clean_environment(**self.database.environment(), DB_MIN_CONN_SIZE="1",
                                          DB_MAX_CONN_SIZE="5")
        with open(self.log, "wb") as log:
            # cwd: the settings also read a .env file from the working directory
            self.process = subprocess.Popen(
                [str(STAC_VENV / "bin" / "uvicorn"), "stac_fastapi.pgstac.app:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                 "--no-access-log"],
                stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=self.directory,
                start_new_session=True)
        _wait_until(lambda: http_get(self.url + "/", timeout=2)[0] == 200, timeout, "stac-fastapi-pgstac",
                    self.process, self.log)

    def stop(self) -> None:
        _stop_process(self.process)


# --- nginx --------------------------------------------------------------------------------------

NGINX_CONFIG = """\
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format range_log '$request_method $uri $status $body_bytes_sent "$http_range"';
    access_log {directory}/access.log range_log;
    client_body_temp_path {directory}/tmp/client_body;
    proxy_temp_path {directory}/tmp/proxy;
    fastcgi_temp_path {directory}/tmp/fastcgi;
    uwsgi_temp_path {directory}/tmp/uwsgi;
    scgi_temp_path {directory}/tmp/scgi;
    sendfile on;
    keepalive_timeout 30;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        location / {{
            # byte ranges are on for static files; say so on every answer
            add_header Accept-Ranges bytes always;
            max_ranges 64;
            etag on;
        }}
    }}
}}
"""


class AssetServer:
    """nginx serving the files under ``root`` at ``url``, with HTTP range requests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = directory / "root"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = directory / "access.log"
        self.error_log = directory / "error.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> None:
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        # As root the workers would drop to nobody, who cannot read a test's private tmp folder.
        user = "user root root;" if os.geteuid() == 0 else ""
        config = self.directory / "nginx.conf"
        config.write_text(NGINX_CONFIG.format(directory=self.directory, root=self.root, port=self.port, user=user))
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(self.directory), "-c", str(config), "-e", str(self.error_log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=_clean_environment(),
            start_new_session=True)
        probe = self.root / ".e2e-alive"
        probe.write_text("ok")
        _wait_until(lambda: http_get(self.url + "/.e2e-alive", timeout=2)[0] == 200, timeout, "nginx",
                    self.process, self.error_log)
        probe.unlink()

    def access_log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def stop(self) -> None:
        # SIGQUIT: graceful shutdown of master and worker
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# --- all together -------------------------------------------------------------------------------

class E2EServers:
    """nginx, PostgreSQL with the fixture items (asset hrefs on nginx) and the STAC API."""

    def __init__(self, directory: Path, fixtures: Path = FIXTURES_STAC) -> None:
        self.directory = Path(directory)
        self.fixtures = fixtures
        self.assets = AssetServer(self.directory / "nginx")
        self.database: PgstacDatabase | None = None
        self.stac: StacApi | None = None
        self.collections: list[dict] = []
        self.items: list[dict] = []
        self.timings: dict[str, float] = {}

    def start(self) -> "E2EServers":
        try:
            started = time.monotonic()
            self.assets.start()
            self.timings["nginx"] = time.monotonic() - started
            self.database = PgstacDatabase()
            started = time.monotonic()
            self.database.start()
            self.timings["postgres"] = time.monotonic() - started
            self.collections, self.items = fixture_catalogue(self.assets.url, self.fixtures)
            started = time.monotonic()
            self.database.load(self.collections, self.items)
            self.timings["pgstac migrate + load"] = time.monotonic() - started
            self.stac = StacApi(self.database, self.directory / "stac-api")
            started = time.monotonic()
            self.stac.start()
            self.timings["stac-fastapi"] = time.monotonic() - started
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in (self.stac, self.database, self.assets):
            if server is None:
                continue
            try:
                server.stop()
            except Exception as error:  # keep stopping the others
                print(f"stopping {type(server).__name__} failed: {error}", file=sys.stderr)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "load":
        _load_into_pgstac(*argv[1:])
        return 0
    if argv == ["serve"]:
        reason = missing_requirements()
        if reason:
            print(reason, file=sys.stderr)
            return 1
        directory = Path(tempfile.mkdtemp(prefix="labelmigration-e2e-"))
        servers = E2EServers(directory).start()
        print(f"STAC API: {servers.stac.url}\nassets:   {servers.assets.url}/ -> {servers.assets.root}\n"
              f"timings:  {servers.timings}\nCtrl-C stops them.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            servers.stop()
            shutil.rmtree(directory, ignore_errors=True)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
