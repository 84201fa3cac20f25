"""Benchmark: migrating a label set from a local archive of full-size Sentinel-2 products (issue 7).

    .venv/bin/python bench/bench_migrate.py [--workdir /tmp/lm-bench-migrate] [--labels 200] [--size 10980]
        [--repeat 3] (the fastest of so many runs of each contender and floor, on a busy machine)

Makes once, cached in --workdir (outside git): --dates full-size synthetic L2A products of one tile
(10980 x 10980 at 10 m, zipped, with per-pixel noise so the JP2s are as large and slow to decode as
real ones) a few days apart, and --labels GeoTIFF labels (500 m x 500 m at 5 m, EPSG:32632) on a grid
over the tile, dated between the products. Then times, each contender in a fresh subprocess:

- sequential: the seed's approach, one label after another in name order: a plain loop calling the same
  per-label core function (core.migration.pair.migrate_label: search, rate by footprint cloud, crop, verify),
  with band files kept open between labels as migrate_labels keeps them
  (core.sentinel2.band_files.reusing_band_files);
- pool: core.migration.run.migrate_labels with its local thread pool (the default; one thread per core),
  which works the labels in the order they lie (core.migration.labels.label_place), whatever their names;
- dask: migrate_labels with EXECUTOR = a dask.distributed LocalCluster of 2 worker processes
  (1 thread each), started inside the contender's process.

Prints labels per minute, the CPU used per second of wall time (GDAL's JPEG 2000 decoding runs on
several threads, so even the sequential loop keeps more than one core busy), the peak RSS of each
worker process (the contender's own process for sequential and pool; each Dask worker's, asked through
client.run, and the client's), the ratios, and
whether the three matches.csv are equal. No QA report is written (the same for all three).
Each contender runs twice on the same places: labels named row by row over the grid ("sorted") and
named in a random order of places ("shuffled"); the pool should be as fast on both. Then, per order, the
floor (bench/migrate_floor.py): the time to decode, once each, only the JPEG 2000 blocks of the pairs' bands
(B02, B03, B04, B08 of each label's chosen product, as that order's matches.csv names it) under the labels,
on one thread per core, with GDAL's block cache off; each contender's labels per minute are compared with it.
(Rating also reads the SCL of every candidate product, which the floor leaves out: a second figure, "+ SCL",
adds the time to decode, once each, the SCL blocks under the labels of every product within
the search window. Each contender's time is also given without its process start-up, as measured inside it.)
Small-scale check: --labels 10 --size 1098 --dates 2 --workdir /tmp/lm-bench-migrate-small.
"""
import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import import_plugin, own_peak_rss_mb
from migrate_floor import WINDOW_DAYS, step_floor


ULX, ULY = 699960.0, 5400000.0
LABEL_PIXEL, LABEL_SIDE = 5.0, 100  # 500 m x 500 m
FIRST_DATE = dt.datetime(2020, 8, 10, 10, 25, 59)
DATE_STEP_DAYS = 5
CONTENDERS = ("sequential", "pool", "dask")


def make_archive(folder: Path, size: int, dates: int, noise_dn: int) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(folder.glob("S2*_MSIL2A_*.SAFE.zip"))
    if len(found) >= dates:
        return found[:dates]
    from labelmigration.tests.support.safe_products import make_safe_product
    for path in found:
        path.unlink()
    paths = []
    for index in range(dates):
        started = time.perf_counter()
        product = make_safe_product(folder, "L2A", size_10m=size, ulx=ULX, uly=ULY, zipped=True, noise_dn=noise_dn,
                                    sensing=FIRST_DATE + dt.timedelta(days=DATE_STEP_DAYS * index),
                                    cloud_cover=5.0 + 7.0 * index, seed=index, spacecraft=("S2A", "S2B")[index % 2])
        print(f"generated {product.path.name} ({product.path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        paths.append(product.path)
    return paths


def make_labels(folder: Path, count: int, size: int, dates: int, shuffled: bool = False) -> Path:
    """count labels on a regular grid over the tile (inside its valid part), dates between the products.
    Labels run in name order: row by row over the grid, or, shuffled, in a random order of places."""
    import numpy as np
    from osgeo import gdal, osr
    if folder.is_dir() and len(list(folder.glob("*.tif"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    side = size * 10.0
    # the generator's nodata triangle covers the top-left 35 %: use the lower-right part of the tile
    per_row = int(np.ceil(np.sqrt(count)))
    span = side * 0.6
    step = span / per_row
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    rng = np.random.default_rng(7)
    places = np.random.default_rng(11).permutation(count) if shuffled else np.arange(count)
    for index in range(count):
        row, col = divmod(int(places[index]), per_row)
        x0 = ULX + side * 0.38 + col * step
        y0 = ULY - side * 0.38 - row * step
        date = (FIRST_DATE + dt.timedelta(days=1 + (index % max(1, dates)) * DATE_STEP_DAYS)).strftime("%Y%m%d")
        path = folder / f"label{index:04d}_{date}.tif"
        dataset = gdal.GetDriverByName("GTiff").Create(str(path), LABEL_SIDE, LABEL_SIDE, 1, gdal.GDT_Byte,
                                                       ["COMPRESS=DEFLATE"])
        dataset.SetGeoTransform([x0, LABEL_PIXEL, 0, y0, 0, -LABEL_PIXEL])
        dataset.SetProjection(srs.ExportToWkt())
        dataset.GetRasterBand(1).WriteArray(rng.integers(0, 3, (LABEL_SIDE, LABEL_SIDE), dtype=np.uint8))
        dataset = None
    return folder


def options(archive: Path, **changes):
    from labelmigration.core.migration.options import MigrationOptions
    values = dict(backend="local", url=str(archive), days_before=WINDOW_DAYS, days_after=WINDOW_DAYS, max_cloud=100.0,
                  product="L2A", write_report=False, cloud_masks=False)
    values.update(changes)
    return MigrationOptions(**values)


def step_sequential(labels, archive, out):
    from labelmigration.core.migration.match_table import write_matches
    from labelmigration.core.migration.pair import migrate_label
    from labelmigration.core.migration.run import prepare_tasks
    from labelmigration.core.sentinel2.band_files import reusing_band_files
    from labelmigration.core.util.gdal_settings import gdal_errors
    started, cpu = time.perf_counter(), time.process_time()
    tasks = prepare_tasks(str(labels), options(archive), out)
    with gdal_errors(), reusing_band_files():  # as migrate_labels does: decoded JP2 tiles serve the next label
        rows = [migrate_label(task).row for task in tasks]
    write_matches(os.path.join(out, "matches.csv"), rows)
    return {"workers_mb": [own_peak_rss_mb()], "seconds_in_process": time.perf_counter() - started,
            "cpu_in_process": time.process_time() - cpu}


def step_pool(labels, archive, out):
    from labelmigration.core.migration.run import migrate_labels
    started, cpu = time.perf_counter(), time.process_time()
    result = migrate_labels(str(labels), options(archive), out)
    return {"workers_mb": [own_peak_rss_mb()], "threads": len(os.sched_getaffinity(0)), "pairs": result.pairs,
            "seconds_in_process": time.perf_counter() - started, "cpu_in_process": time.process_time() - cpu}


def step_dask(labels, archive, out):
    from distributed import Client, LocalCluster
    from labelmigration.core.migration.run import migrate_labels
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(lambda: None)  # the workers are up before the clock of the run matters
        started = time.perf_counter()
        result = migrate_labels(str(labels), options(archive, executor=cluster.scheduler_address), out)
        seconds = time.perf_counter() - started
        workers = client.run(own_peak_rss_mb)
    return {"workers_mb": sorted(workers.values()), "client_mb": own_peak_rss_mb(), "pairs": result.pairs,
            "seconds_without_startup": seconds, "seconds_in_process": seconds, "cpu_in_process": None}


STEPS = {"sequential": step_sequential, "pool": step_pool, "dask": step_dask, "floor": step_floor}


def run_contender(name, labels, archive, workdir, matches=None):
    out = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    report = out / "result.json"
    command = [sys.executable, __file__, "--step", name, "--labels-dir", str(labels), "--archive", str(archive),
               "--out", str(out / "migrated"), "--report", str(report)] + (["--matches", matches] if matches else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.run(command)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"contender {name} failed with status {process.returncode}")
    result = json.loads(report.read_text())
    result["seconds"] = seconds
    # CPU time of the contender and everything it waited for (Dask's worker processes too) per second
    result["cpu_percent"] = 100.0 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / seconds
    if name != "floor":
        result["matches"] = (out / "migrated" / "matches.csv").read_text()
    shutil.rmtree(out, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/lm-bench-migrate", help="cache of products and labels")
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--size", type=int, default=10980, help="tile side in 10 m pixels (10980 = full size)")
    parser.add_argument("--dates", type=int, default=3, help="products (acquisition dates) in the archive")
    parser.add_argument("--noise-dn", type=int, default=100, help="per-pixel noise (real-size JP2s)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each contender and floor so many times and keep the fastest (a busy machine)")
    parser.add_argument("--orders", default="sorted,shuffled",
                        help="label names row by row over the grid (sorted), in a random order of places (shuffled)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--labels-dir", help=argparse.SUPPRESS)
    parser.add_argument("--archive", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--matches", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    import_plugin()
    if arguments.step:
        extra = [arguments.matches] if arguments.step == "floor" else []
        result = STEPS[arguments.step](arguments.labels_dir, arguments.archive, arguments.out, *extra)
        Path(arguments.report).write_text(json.dumps(result))
        return
    workdir = Path(arguments.workdir)
    archive = workdir / f"archive-{arguments.size}"
    products = make_archive(archive, arguments.size, arguments.dates, arguments.noise_dn)
    orders = arguments.orders.split(",")
    folders = {order: make_labels(workdir / f"labels-{arguments.labels}-{arguments.size}-{order}", arguments.labels,
                                  arguments.size, arguments.dates, order == "shuffled") for order in orders}
    print(f"{arguments.labels} labels, {len(products)} products of {arguments.size} px "
          f"({sum(p.stat().st_size for p in products) / 1e6:.0f} MB), {os.cpu_count()} cores", flush=True)
    results, floors = {}, {}
    for order in orders:
        for name in arguments.contenders.split(","):
            result = results[f"{name} {order}"] = min(
                (run_contender(name, folders[order], archive, workdir) for _ in range(arguments.repeat)),
                key=lambda r: r["seconds"])
            rate = arguments.labels / result["seconds"] * 60
            memory = ", ".join(f"{mb:.0f}" for mb in result["workers_mb"])
            extra = f"; client {result['client_mb']:.0f} MB, {result['seconds_without_startup']:.1f} s without " \
                    f"the cluster start-up" if name == "dask" else ""
            print(f"{name:11s} {order:9s} {result['seconds']:8.1f} s  {rate:8.1f} labels/min  "
                  f"CPU {result['cpu_percent']:4.0f} %  peak RSS per worker {memory} MB{extra}", flush=True)
        # each order's own floor: the labels' dates differ by place between the orders, so do the chosen products
        matches_file = workdir / f"floor-matches-{order}.csv"
        matches_file.write_text(results[f"{name} {order}"]["matches"], encoding="utf-8")
        floor = floors[order] = min((run_contender("floor", folders[order], archive, workdir, str(matches_file))
                                     for _ in range(arguments.repeat)), key=lambda r: r["floor_seconds"])
        floor["with_scl"] = floor["floor_seconds"] + floor["scl_seconds"]
        print(f"{'floor':11s} {order:9s} {floor['floor_seconds']:8.1f} s  "
              f"{floor['labels_done'] / floor['floor_seconds'] * 60:8.1f} labels/min  ({floor['blocks']} JPEG 2000 "
              f"blocks of the pairs' bands under {floor['labels_done']} labels, each decoded once)")
        scl_rate = floor['labels_done'] / floor['with_scl'] * 60
        print(f"{'+ SCL':11s} {order:9s} {floor['with_scl']:8.1f} s  {scl_rate:8.1f} labels/min  (floor and the "
              f"{floor['scl_blocks']} SCL blocks under the labels of every product "
              f"rated, {floor['scl_seconds']:.1f} s)", flush=True)
    print()
    for key, result in results.items():
        floor, inside = floors[key.split()[-1]], result["seconds_in_process"]
        print(f"{key:21s} {result['seconds'] / floor['floor_seconds']:.2f}x the floor's time "
              f"({inside / floor['floor_seconds']:.2f}x without the process start-up: {inside:.1f} s, "
              f"{arguments.labels / inside * 60:.1f} labels/min; {result['seconds'] / floor['with_scl']:.2f}x the "
              f"floor with the candidates' SCL)")
        if result.get("cpu_in_process"):
            print(f"{'':21s} CPU {result['cpu_in_process']:.1f} s inside the process, "
                  f"{result['cpu_in_process'] / floor['floor_cpu']:.2f}x the floor's {floor['floor_cpu']:.1f} s")
    if "pool sorted" in results and "pool shuffled" in results:
        speed = results['pool sorted']['seconds'] / results['pool shuffled']['seconds']
        print(f"pool shuffled / sorted speed: {speed:.2f}x")
    for order in orders:
        base = results.get(f"sequential {order}")
        for name in ("pool", "dask"):
            if base and f"{name} {order}" in results:
                speed = base['seconds'] / results[f'{name} {order}']['seconds']
                print(f"{name} / sequential speed-up ({order}): {speed:.2f}x")
    same = True
    for order in orders:
        tables = {result.pop("matches") for key, result in results.items() if key.endswith(" " + order)}
        same = same and len(tables) == 1
    print(f"matches.csv identical across contenders (per order): {same}")
    print(json.dumps({"floors": floors, **results}))
    if not same:
        raise SystemExit("the contenders' matches.csv differ")


if __name__ == "__main__":
    main()
