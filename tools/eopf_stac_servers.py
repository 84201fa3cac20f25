"""A local STAC catalogue of EOPF Zarr products, as ESA's EOPF Sentinel Zarr Samples catalogue
(https://stac.core.eopf.eodc.eu) serves them: the README's EOPF examples run against it.

    .venv/bin/python tools/eopf_stac_servers.py FOLDER [--size 1098]

Writes under FOLDER a synthetic Sentinel-2 L2A scene as an EOPF Zarr v3 product (the test suite's
generator, tests/support/eopf_products.py) and a label on it (FOLDER/labels), starts nginx serving the
product with range requests and a STAC API (stac-fastapi-pgstac on a throwaway PostgreSQL, from
tools/e2e_servers.py: `make setup` installs them) holding its item in the collection sentinel-2-l2a-eopf,
prints the commands to try, and stops the servers on Ctrl-C.

The item is tests/data/eopf_stac/sentinel-2-l2a-item.json (the EOPF catalogue's item structure, sources in
SOURCE.md there) filled in from the product's own ``stac_discovery`` root attribute; tests/e2e/test_eopf_stac.py
builds its items with the same functions.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = REPO_ROOT / "tests" / "data" / "eopf_stac"
COLLECTION = "sentinel-2-l2a-eopf"
# the template's example values that a generated product's stac_discovery does not carry
_TEMPLATE_ONLY = ("eopf:datatake_id", "proj:bbox", "eo:snow_cover", "created", "updated")
_FROM_PRODUCT = ("datetime", "start_datetime", "end_datetime", "eo:cloud_cover", "platform", "sat:relative_orbit",
                 "processing:version", "grid:code", "mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square",
                 "proj:code")


def item_template(level: str) -> dict:
    return json.loads((TEMPLATES / f"sentinel-2-{level.lower()}-item.json").read_text())


def stac_discovery(product: Path) -> dict:
    """The product's root attribute stac_discovery (Zarr v3 zarr.json or v2 .zattrs)."""
    if (product / "zarr.json").is_file():
        return json.loads((product / "zarr.json").read_text())["attributes"]["stac_discovery"]
    return json.loads((product / ".zattrs").read_text())["stac_discovery"]


def eopf_item(level: str, product: Path, href: str, collection: str) -> dict:
    """The template item for a served product: identity, footprint, times and properties from its
    stac_discovery, every asset href moved under href (the template's product URL prefix replaced)."""
    item, discovery = item_template(level), stac_discovery(product)
    template_href = item["assets"]["product"]["href"]
    for key, asset in item["assets"].items():
        if not asset["href"].startswith(template_href):
            raise ValueError(f"the template's asset {key} does not point inside its product")
        asset["href"] = href + asset["href"][len(template_href):]
    properties = item["properties"]
    if properties["product:type"] != discovery["properties"]["product:type"]:
        raise ValueError(f"{product} is a {discovery['properties']['product:type']}, not a {level} product")
    for key in _TEMPLATE_ONLY:
        properties.pop(key, None)
    properties.update({key: discovery["properties"][key] for key in _FROM_PRODUCT})
    item.update(id=product.name[:-len(".zarr")], collection=collection, geometry=discovery["geometry"],
                bbox=discovery["bbox"], links=[])
    return item


def eopf_collection(collection_id: str, items: list) -> dict:
    times = sorted(item["properties"]["datetime"] for item in items)
    return {"type": "Collection", "stac_version": "1.1.0", "id": collection_id, "license": "proprietary",
            "description": "EOPF Sentinel Zarr Samples items (local copy: generated products on loopback)",
            "links": [], "stac_extensions": [],
            "extent": {"spatial": {"bbox": [item["bbox"] for item in items]},
                       "temporal": {"interval": [[times[0], times[-1]]]}}}


def _import_plugin() -> None:
    """The checkout as the package 'labelmigration' (never the repository root itself on sys.path)."""
    root = tempfile.mkdtemp(prefix="labelmigration-tools-")
    os.symlink(REPO_ROOT, os.path.join(root, "labelmigration"))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != str(REPO_ROOT)]
    sys.path.insert(0, root)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--size", type=int, default=1098, help="tile side in 10 m pixels, a multiple of 6")
    args = parser.parse_args(argv)
    _import_plugin()
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    import e2e_servers
    from labelmigration.tests.support.eopf_products import describe_safe_product, make_eopf_product
    from labelmigration.tests.support.rasters import from_origin, write_raster
    import numpy as np

    reason = e2e_servers.missing_requirements()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    folder = Path(args.folder).resolve()
    assets = e2e_servers.AssetServer(folder / "servers" / "nginx")
    database = stac = None
    try:
        assets.start()
        safe = describe_safe_product(level="L2A", baseline="05.12", size_10m=args.size, nodata_corner=False)
        product = make_eopf_product(assets.root / "eopf", safe, 3).path
        href = f"{assets.url}/eopf/{product.name}"
        (folder / "labels").mkdir(parents=True, exist_ok=True)
        label = write_raster(folder / "labels" / f"field_{safe.sensing:%Y%m%d}.tif",
                             (np.arange(30 * 40).reshape(30, 40) % 5 + 1).astype(np.uint8), f"EPSG:{safe.epsg}",
                             from_origin(safe.ulx + 1200, safe.uly - 1500, 10, 10))
        item = eopf_item("L2A", product, href, COLLECTION)
        database = e2e_servers.PgstacDatabase()
        database.start()
        database.load([eopf_collection(COLLECTION, [item])], [item])
        stac = e2e_servers.StacApi(database, folder / "servers" / "stac-api")
        stac.start()
        run = "QT_QPA_PLATFORM=offscreen qgis_process.bin run labelmigration:"
        print(f"STAC API: {stac.url} (collection {COLLECTION})\nZarr product: {href}\n  on disk: {product}\n"
              f"label: {label}\n\nTry:\n"
              f"{run}safetogeotiff -- INPUT={product} BANDS=B02,B03,B04,B08 RESOLUTION=10 "
              f"OUTPUT={folder}/scene.tif\n"
              f"{run}cropscene -- SCENE={href} LABEL={label} BAND_NAMES=B02,B03,B04,B08,B11 "
              f"OUTPUT_IMAGE={folder}/pair_image.tif OUTPUT_LABEL={folder}/pair_label.tif\n"
              f"{run}migratelabels -- LABELS={folder / 'labels'} BACKEND=stac URL={stac.url} "
              f"COLLECTION={COLLECTION} DAYS_BEFORE=2 DAYS_AFTER=2 OUTPUT_FOLDER={folder}/migrated\n"
              f"Ctrl-C stops the servers.", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for server in (stac, database, assets):
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
