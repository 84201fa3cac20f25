"""A local stand-in for the Copernicus Data Space's STAC catalogue with token-bound assets: the README's
CDSE STAC examples run against it.

    .venv/bin/python tools/cdse_stac_servers.py FOLDER

Starts, on 127.0.0.1 and until Ctrl-C:

- a STAC API (stac-fastapi-pgstac on a throwaway PostgreSQL, tools/e2e_servers.py: `make setup` installs
  them) holding items built on CDSE STAC v1's real item structure (tests/data/cdse_stac, sources in
  SOURCE.md there) in the collections cdse-sentinel-2-l2a and cdse-sentinel-2-l1c: the items of
  tests/support/cdse_scene.py, as the e2e test makes them;
- the token endpoint and the download service of tests/support/cdse_servers.py: the assets' HTTPS
  alternates answer only with a bearer token the endpoint issued (tokens live 600 s, as CDSE's do);
- the JP2 band files (B02 B03 B04 B08 and SCL, synthetic pixels on the tile's real UTM grid) of the item
  S2B_MSIL2A_20220220T183459_N0510_R027_T13VEK_20240516T040101 under FOLDER/assets.

Writes labels on that item under FOLDER/labels and a QGIS authentication database under FOLDER/qgis-auth with
one Basic configuration (id cdse001) holding the stand-in's user name and a random password: qgis_process
reads it through QGIS_AUTH_DB_DIR_PATH and QGIS_AUTH_PASSWORD_FILE (the master password, in a file only the
user can read). Links pystac-client (the STAC search) into FOLDER/python-packages for QGIS's Python
(PYTHONPATH), as the plugin's installer would install it. Prints the qgis_process commands to try; Ctrl-C or
kill stops the servers.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
AUTH_ID = "cdse001"
USER = "labeller@example.org"
TOKEN_LIFETIME = 600.0
_KEEP = []


def write_auth_database(folder: Path, user: str, password: str) -> dict:
    """A QGIS authentication database in folder with the Basic configuration AUTH_ID; the environment
    qgis_process needs to read it."""
    folder.mkdir(parents=True, exist_ok=True)
    master = folder / "master-password"
    master.touch(mode=0o600)
    master.write_text(secrets.token_urlsafe(16))
    environment = {"QGIS_AUTH_DB_DIR_PATH": str(folder), "QGIS_AUTH_PASSWORD_FILE": str(master)}
    os.environ.update(environment)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsAuthMethodConfig
    # Debian's QGIS prints the master password's salt and hash, and the cipher's IV, as it sets and stores them
    with _quiet_output():
        application = QgsApplication([], False)
        application.initQgis()
        manager = QgsApplication.authManager()
        if not manager.masterPasswordIsSet() and not manager.setMasterPassword(master.read_text(), True):
            raise RuntimeError(f"cannot set the master password of the QGIS auth database in {folder}")
        manager.removeAuthenticationConfig(AUTH_ID)
        config = QgsAuthMethodConfig("Basic")
        config.setId(AUTH_ID)
        config.setName("CDSE (local stand-in)")
        config.setConfig("username", user)
        config.setConfig("password", password)
        if not manager.storeAuthenticationConfig(config, True):
            raise RuntimeError("cannot store the authentication configuration")
    _KEEP.append(application)  # exitQgis would deregister GDAL's drivers, which the servers' files still need
    return environment


@contextmanager
def _quiet_output():
    """Standard output and error of this process (C++ included) to /dev/null for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        for descriptor, copy in ((1, saved[0]), (2, saved[1])):
            os.dup2(copy, descriptor)
            os.close(copy)


def link_stac_client(folder: Path) -> str:
    """pystac-client and pystac of this Python linked into folder (tools/link_packages.py), for QGIS's Python
    (PYTHONPATH) as the plugin's installer would provide them; folder."""
    from link_packages import link
    folder.mkdir(parents=True, exist_ok=True)
    for module in ("pystac_client", "pystac"):
        link(folder, module)
    return str(folder)


def write_served_files(root: Path, item: dict) -> None:
    """The item's band JP2s and SCL where the download service serves its alternates' OData paths."""
    import numpy as np
    from labelmigration.tests.support import cdse_scene as cdse
    rng = np.random.default_rng(11)
    for band in cdse.BANDS:
        path = cdse.served_file(root, item["assets"][f"{band}_10m"]["alternate"]["https"]["href"])
        cdse.write_jp2(path, rng.integers(1, 4000, (cdse.SIZE, cdse.SIZE)).astype(np.uint16), 10.0)
    scl = cdse.SCL_CLEAR[rng.integers(0, len(cdse.SCL_CLEAR), (cdse.SIZE, cdse.SIZE))]
    cdse.write_jp2(cdse.served_file(root, item["assets"]["SCL_20m"]["alternate"]["https"]["href"]), scl, 20.0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    import e2e_servers
    from eopf_stac_servers import _import_plugin
    _import_plugin()
    from labelmigration.tests.support import cdse_scene as cdse
    from labelmigration.tests.support.cdse_servers import asset_server, token_server

    reason = e2e_servers.missing_requirements()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    folder = Path(args.folder).resolve()
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    password = "Pw-" + secrets.token_hex(8)
    auth = write_auth_database(folder / "qgis-auth", USER, password)
    auth["PYTHONPATH"] = link_stac_client(folder / "python-packages")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill stops the servers as Ctrl-C does
    database = stac = None
    with ExitStack() as stack:
        try:
            tokens = stack.enter_context(token_server(USER, password, TOKEN_LIFETIME))
            assets = stack.enter_context(asset_server(folder / "assets", tokens.issued))
            template = json.loads(cdse.TEMPLATE.read_text())
            items = [cdse.cdse_item(template, *spec[:3], spec[3], "L2A", assets.url) for spec in cdse.ITEMS]
            items += [cdse.cdse_item(template, *spec[:3], spec[3], "L1C", assets.url) for spec in cdse.ITEMS[:2]]
            write_served_files(folder / "assets", next(item for item in items if item["id"] == cdse.MIGRATED))
            labels = sorted(cdse.write_labels(folder / "labels"))
            database = e2e_servers.PgstacDatabase()
            database.start()
            l2a = [item for item in items if item["collection"] == cdse.L2A]
            database.load([cdse.cdse_collection(cdse.L2A, l2a),
                           cdse.cdse_collection(cdse.L1C, [item for item in items if item not in l2a])], items)
            stac = e2e_servers.StacApi(database, folder / "servers" / "stac-api")
            stac.start()
            run = " ".join(f"{name}={value}" for name, value in auth.items()) + \
                " QT_QPA_PLATFORM=offscreen qgis_process.bin run labelmigration:"
            print(f"STAC API: {stac.url} (collections {cdse.L2A}, {cdse.L1C})\ntoken endpoint: {tokens.url}\n"
                  f"download service: {assets.url} (files under {folder / 'assets'})\n"
                  f"auth config: {AUTH_ID} (user {USER}) in {auth['QGIS_AUTH_DB_DIR_PATH']}\n"
                  f"labels: {folder / 'labels'} ({len(labels)}, dated 2022-02-20)\n\nTry:\n"
                  f"{run}maskfootprint -- INPUT={folder / 'labels' / labels[0]}.tif "
                  f"OUTPUT={folder}/footprints.gpkg\n"
                  f"{run}searchscenes -- FOOTPRINTS={folder}/footprints.gpkg DATE_FIELD=date BACKEND=stac "
                  f"URL={stac.url} COLLECTION={cdse.L2A} DAYS_BEFORE=5 DAYS_AFTER=5 MAX_CLOUD=50 "
                  f"OUTPUT={folder}/scenes.gpkg OUTPUT_TABLE={folder}/scenes.csv\n"
                  f"{run}migratelabels -- LABELS={folder / 'labels'} BACKEND=stac URL={stac.url} "
                  f"COLLECTION={cdse.L2A} AUTHCFG={AUTH_ID} TOKEN_URL={tokens.url} DOWNLOAD_URL={assets.url} "
                  f"DAYS_BEFORE=2 DAYS_AFTER=1 MAX_CLOUD=60 CLOUD_MASKS=false OUTPUT_FOLDER={folder}/migrated\n"
                  f"Ctrl-C stops the servers.", flush=True)
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            for server in (stac, database):
                if server is not None:
                    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
