"""The floor of bench_migrate (issue 17): the time to decode, once each, only the JPEG 2000 blocks that the
pairs' bands (B02, B03, B04, B08 of each label's chosen product, as a run's matches.csv names it) have
under the labels, on one thread per core (each thread with its own datasets), GDAL's block cache off.
A second figure adds the SCL (20 m) blocks under the labels of every product within the search window:
the candidates rating reads."""
import datetime as dt
import os
import time
from pathlib import Path

from common import own_peak_rss_mb

WINDOW_DAYS = 10  # the search window before and after a label's date (bench_migrate's options)


def label_blocks(labels, archive, matches, scl_days=None):
    """The JPEG 2000 blocks (band file, x, y, width, height) of the pairs' bands under the done labels, each once;
    with scl_days, instead the SCL (20 m) blocks under the done labels of every product within scl_days of the
    label's date (the candidates rating reads)."""
    import csv
    from osgeo import gdal
    from labelmigration.core.migration.options import DEFAULT_BANDS
    from labelmigration.core.sentinel2.safe import open_safe
    products = {path.name[:-len(".zip")]: open_safe(str(path)) for path in Path(archive).glob("*.SAFE.zip")}
    with open(matches, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["status"] == "done"]
    blocks = set()
    for row in rows:
        label = gdal.Open(str(Path(labels) / f"{row['label']}.tif"))
        if scl_days is None:
            chosen = [products[row["scene"] if row["scene"].endswith(".SAFE") else row["scene"] + ".SAFE"]]
        else:
            date = dt.datetime.strptime(row["label"].rsplit("_", 1)[1], "%Y%m%d")
            chosen = [product for name, product in products.items()
                      if abs((dt.datetime.strptime(name.split("_")[2][:8], "%Y%m%d") - date).days) <= scl_days]
        for product in chosen:
            _add_blocks(blocks, product, label, [("SCL", 20)] if scl_days is not None else
                        [(band, 10) for band in DEFAULT_BANDS])
    return sorted(blocks), len(rows)


def _add_blocks(blocks, product, label, bands):
    from osgeo import gdal
    lx, lpx, _, ly, _, lpy = label.GetGeoTransform()
    for band, resolution in bands:
        ulx, res, _, uly, _, _ = product.grid.transform(resolution)
        x0, x1 = int((lx - ulx) // res), int(-(-(lx + label.RasterXSize * lpx - ulx) // res))
        y0, y1 = int((uly - ly) // res), int(-(-(uly - ly - label.RasterYSize * lpy) // res))
        path, _ = product.band_file(band, resolution)
        dataset = gdal.Open(path)
        bw, bh = dataset.GetRasterBand(1).GetBlockSize()
        for by in range(y0 // bh, (y1 - 1) // bh + 1):
            for bx in range(x0 // bw, (x1 - 1) // bw + 1):
                blocks.add((path, bx * bw, by * bh, min(bw, dataset.RasterXSize - bx * bw),
                            min(bh, dataset.RasterYSize - by * bh)))


def step_floor(labels, archive, out, matches):
    """Decode each block of label_blocks once, one thread per core (each with its own datasets), no block cache."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from osgeo import gdal
    blocks, labels_done = label_blocks(labels, archive, matches)
    scl_blocks, _ = label_blocks(labels, archive, matches, scl_days=WINDOW_DAYS)
    gdal.SetCacheMax(0)
    local = threading.local()

    def decode(block):
        path, x, y, width, height = block
        opened = local.__dict__.setdefault("datasets", {})
        if path not in opened:
            opened[path] = gdal.Open(path)
        return len(opened[path].GetRasterBand(1).ReadRaster(x, y, width, height))

    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        decoded = sum(pool.map(decode, blocks))
    floor_seconds, floor_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        decoded += sum(pool.map(decode, scl_blocks))
    return {"floor_seconds": floor_seconds, "floor_cpu": floor_cpu, "blocks": len(blocks), "labels_done": labels_done,
            "bytes": decoded, "scl_seconds": time.perf_counter() - started, "scl_blocks": len(scl_blocks),
            "workers_mb": [own_peak_rss_mb()]}
