"""Benchmark: cloud masking a Sentinel-2 L1C raster (issue 5).

    .venv/bin/python bench/bench_cloudmask.py [--megapixels 25] [--repeat 1] [--only NAMES] [--memory]

Builds once (cached in bench/.cache/) a uint16 L1C GeoTIFF of about --megapixels from the five real
1 km Sentinel-2 frames in shared/data/eolearn_s2 (mirrored and repeated; frames 0 and 1 are cloudy;
DN = reflectance * 10000, nodata 0, 13 bands named B01..B12, tiled, DEFLATE, EPSG:32633 as in
bbox.geojson), then times on its pixels, each contender in a fresh subprocess so peak RSS is its own:

  cloudmask     our engine (core.models.cloud_classes.predict_clouds, as cloudmask runs it) with the bundled
                models/cloud_s2_4band.onnx
  ukis-engine   our engine with ukis-csmask's 4-band L1C model (core.models.csmask.ukis_model("4b-l1c"),
                its cloud class: the mask cloudmask makes with it)
  cloudmask-6band, ukis-engine-6band
                the same pair for the six-band models (B02 B03 B04 B08 B11 B12): the bundled
                models/cloud_s2_6band.onnx and ukis-csmask's 6-band L1C model ("6b-l1c")
  ukis-ort      bare onnxruntime on the same model: the raster's 4 bands scaled and held in memory,
                session.run over the engine's tiles (same tile size, positions, batch size), nothing else
  ukis-csmask   ukis_csmask.CSmask(img, band_order, "l1c") on the same 4 bands in memory (its defaults)
  s2cloudless   S2PixelCloudDetector(threshold=0.4, average_over=4, dilation_size=2).get_cloud_masks on
                the 10 bands B01 B02 B04 B05 B08 B8A B09 B10 B11 B12, in its own venv
                (bench/.cache/venv-s2cloudless, made here when missing), from an exported .npy
  memory        opt-in (--memory or --only memory): our engine on a ~--memory-megapixels 4-band raster
                (bundled model, or ukis 4b-l1c with --memory-model ukis), peak RSS against the 1 GB target

With --repeat N every contender runs once per round, N rounds (a change in the machine's load hits
them alike); the median seconds and the largest peak RSS are reported.

'seconds' is what each child times: for the engine, the whole predict_raster call (model load,
reading windows, inference, blending, writing the uint8 mask); for the in-memory contenders, model
load and inference after the pixels are in memory as reflectance (reading them is not timed).
'process s' is the child's wall time including Python start-up, imports and reading. Thread
settings are every library's default (onnxruntime: intra-op threads = physical cores; LightGBM:
OpenMP, all cores; GDAL_NUM_THREADS unset) unless the environment says otherwise (printed).
'CPU s' is the CPU time (user + system, every thread) of the same timed region: on a machine busy with
other work it moves far less than 'seconds', so the engine ratio is also given in CPU seconds.
"""
import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO_ROOT, import_plugin, own_peak_rss_mb


CACHE = REPO_ROOT / "bench" / ".cache"
BUNDLED_MODEL = REPO_ROOT / "models" / "cloud_s2_4band.onnx"
UKIS_VARIANT = "4b-l1c"
UKIS_VARIANT_6BAND = "6b-l1c"
BUNDLED_MODEL_6BAND = REPO_ROOT / "models" / "cloud_s2_6band.onnx"
S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
RGBN = ("B02", "B03", "B04", "B08")
S2CLOUDLESS_BANDS = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
S2CLOUDLESS_VENV = CACHE / "venv-s2cloudless"
S2CLOUDLESS_PIN = "s2cloudless==1.7.3"
# safetogeotiff's creation options, so the input is the kind of file users feed the plugin
CREATION = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS", "PREDICTOR=2",
            "INTERLEAVE=BAND"]
CONTENDERS = ("cloudmask", "ukis-engine", "ukis-ort", "ukis-csmask", "s2cloudless", "cloudmask-6band",
              "ukis-engine-6band")
NAMES = {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}  # model band names -> S2 names
STRIP = 1024  # rows read at a time when loading a raster into memory


def default_frames() -> Path:
    for shared in (REPO_ROOT / "shared", REPO_ROOT.parent / "shared"):
        if (shared / "data" / "eolearn_s2").is_dir():
            return shared / "data" / "eolearn_s2"
    return REPO_ROOT.parent / "shared" / "data" / "eolearn_s2"


# --- the input raster (built once) ------------------------------------------------------------------

def build_raster(frames_dir: Path, megapixels: float, bands, npy_bands=()):
    """A square mosaic of the frames as a uint16 GeoTIFF (plus, when npy_bands, those bands as an
    (rows, cols, bands) uint16 .npy for the s2cloudless venv); cached by size and bands."""
    import numpy as np
    from osgeo import gdal, osr
    gdal.UseExceptions()
    side = int(round(math.sqrt(megapixels * 1e6)))
    stem = f"s2_l1c_{side}x{side}_{len(bands)}b"
    tif, npy = CACHE / f"{stem}.tif", CACHE / f"{stem}_s2cloudless.npy"
    if tif.exists() and (not npy_bands or npy.exists()):
        return tif, npy
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frames = np.load(frames_dir / "REFERENCE_SCENES.npy")  # (5, rows, cols, 13) reflectance
    count, frame_rows, frame_cols, _ = frames.shape
    dn = np.clip(np.rint(frames * 10000), 1, 65535).astype(np.uint16)  # 0 stays free for nodata
    with open(frames_dir / "bbox.geojson") as handle:
        bbox = json.load(handle)
    xs, ys = zip(*bbox["coordinates"][0])
    srs = osr.SpatialReference()
    srs.SetFromUserInput(bbox["crs"]["properties"]["name"])
    part = tif.with_suffix(".tif.part")
    dataset = gdal.GetDriverByName("GTiff").Create(str(part), side, side, len(bands), gdal.GDT_UInt16,
                                                   CREATION)
    dataset.SetGeoTransform([min(xs), 10, 0, max(ys), 0, -10])
    dataset.SetProjection(srs.ExportToWkt())
    for number, name in enumerate(bands, start=1):
        dataset.GetRasterBand(number).SetDescription(name)
        dataset.GetRasterBand(number).SetNoDataValue(0)
    picked = [S2_BANDS.index(b) for b in bands]
    exported = np.lib.format.open_memmap(str(npy) + ".part", "w+", np.uint16, (side, side, len(npy_bands))) \
        if npy_bands else None
    for cell_row, y in enumerate(range(0, side, frame_rows)):
        rows = min(frame_rows, side - y)
        cells = []
        for cell_col in range(math.ceil(side / frame_cols)):
            frame = dn[(3 * cell_row + cell_col) % count]
            frame = frame[::-1] if cell_row % 2 else frame  # mirrored neighbours
            cells.append(frame[:, ::-1] if cell_col % 2 else frame)
        strip = np.concatenate(cells, axis=1)[:rows, :side]  # (rows, side, 13)
        for number, index in enumerate(picked, start=1):
            dataset.GetRasterBand(number).WriteArray(np.ascontiguousarray(strip[..., index]), 0, y)
        if exported is not None:
            exported[y:y + rows] = strip[..., [S2_BANDS.index(b) for b in npy_bands]]
    dataset = None
    part.rename(tif)
    if exported is not None:
        exported.flush()
        del exported
        os.replace(str(npy) + ".part", npy)
    print(f"built {tif.name} ({tif.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s",
          flush=True)
    return tif, npy


def open_bands(path, names):
    """The GDAL dataset and the 1-based numbers of the named bands (B02 or blue, ...)."""
    from osgeo import gdal
    gdal.UseExceptions()
    dataset = gdal.Open(str(path))
    described = [dataset.GetRasterBand(i).GetDescription() for i in range(1, dataset.RasterCount + 1)]
    return dataset, [described.index(NAMES.get(n.lower(), n.upper())) + 1 for n in names]


def read_bands(dataset, numbers, convert, layout="chw"):
    """Those bands as float32 in memory, converted strip by strip with ``convert(dn (bands, rows, cols))``."""
    import numpy as np
    width, height = dataset.RasterXSize, dataset.RasterYSize
    image = np.empty((len(numbers), height, width) if layout == "chw" else (height, width, len(numbers)), np.float32)
    for y in range(0, height, STRIP):
        rows = min(STRIP, height - y)
        values = convert(dataset.ReadAsArray(0, y, width, rows, band_list=numbers).reshape(-1, rows, width))
        if layout == "chw":
            image[:, y:y + rows] = values
        else:
            image[y:y + rows] = np.moveaxis(values, 0, -1)
    return image


# --- contenders (each runs in its own subprocess and returns the seconds it times) -----------------

CPU_SECONDS = []  # the CPU time (user + system, all threads) of the timed region, set by clock_stop


def clock_start():
    times = os.times()
    return time.perf_counter(), times.user + times.system


def clock_stop(started):
    times = os.times()
    CPU_SECONDS.append(times.user + times.system - started[1])
    return time.perf_counter() - started[0]


def _engine(input_path, model_path, out, **extra):
    """The cloud mask as cloudmask makes it (core.models.cloud_classes.predict_clouds: cloud = the cloud class)."""
    from labelmigration.core.models.cloud_classes import predict_clouds
    started = clock_start()
    predict_clouds(str(input_path), str(model_path), {"classes": f"{out}/mask.tif"}, **extra)
    return clock_stop(started)


def step_cloudmask(input_path, out, model):
    return _engine(input_path, model, out)


def step_ukis_engine(input_path, out, _model, variant=UKIS_VARIANT):
    from labelmigration.core.models.csmask import ukis_model
    path, info = ukis_model(variant)
    return _engine(input_path, path, out, model_info=info)


def step_cloudmask_6band(input_path, out, _model):
    return _engine(input_path, BUNDLED_MODEL_6BAND, out)


def step_ukis_engine_6band(input_path, out, _model):
    return step_ukis_engine(input_path, out, _model, UKIS_VARIANT_6BAND)


def step_ukis_ort(input_path, _out, _model):
    """session.run over the tiles the engine would cut, from the model input held in memory."""
    import inspect
    import types
    import numpy as np
    import onnxruntime as ort
    from labelmigration.core.models.csmask import ukis_model
    from labelmigration.core.models.input_scaling import scaling_for
    from labelmigration.core.models.onnx_model import providers
    from labelmigration.core.models.predict import predict_raster
    from labelmigration.core.models.tiling import resolve_tiling, tile_starts
    path, info = ukis_model(UKIS_VARIANT)
    batch_size = inspect.signature(predict_raster).parameters["batch_size"].default
    dataset, numbers = open_bands(input_path, info.bands or RGBN)
    image = read_bands(dataset, numbers, scaling_for(dataset, numbers, info).apply)  # the engine's scaling
    started = clock_start()
    session = ort.InferenceSession(str(path), providers=providers(ort))
    model_input = session.get_inputs()[0]
    fixed = tuple(model_input.shape[2:]) if all(isinstance(s, int) for s in model_input.shape[2:]) else None
    tile, overlap = resolve_tiling(types.SimpleNamespace(fixed_size=fixed, info=info, path=path), None, None)
    height, width = image.shape[1:]
    pad = ((0, 0), (0, max(0, tile[0] - height)), (0, max(0, tile[1] - width)))
    image = np.pad(image, pad, mode="reflect") if any(p[1] for p in pad) else image
    cols = tile_starts(width, tile[1], tile[1] - overlap)
    for y in tile_starts(height, tile[0], tile[0] - overlap):
        for start in range(0, len(cols), batch_size):
            batch = np.stack([image[:, y:y + tile[0], x:x + tile[1]] for x in cols[start:start + batch_size]])
            session.run(None, {model_input.name: batch})
    return clock_stop(started)


def step_ukis_csmask(input_path, _out, _model):
    import numpy as np
    from ukis_csmask.mask import CSmask
    image = read_bands(*open_bands(input_path, RGBN), lambda dn: dn * np.float32(1e-4), layout="hwc")  # TOA
    started = clock_start()
    CSmask(image, band_order=["blue", "green", "red", "nir"], product_level="l1c")
    return clock_stop(started)


def step_s2cloudless(npy_path, _out, _model):
    """Runs in the s2cloudless venv (its own numpy): no plugin, no GDAL."""
    import numpy as np
    from s2cloudless import S2PixelCloudDetector
    data = np.load(npy_path, mmap_mode="r").astype(np.float32)[np.newaxis]
    data *= np.float32(1e-4)  # TOA reflectance
    started = clock_start()
    detector = S2PixelCloudDetector(threshold=0.4, average_over=4, dilation_size=2, all_bands=False)
    detector.get_cloud_masks(data)
    return clock_stop(started)


STEPS = {"cloudmask": step_cloudmask, "ukis-engine": step_ukis_engine, "ukis-ort": step_ukis_ort,
         "ukis-csmask": step_ukis_csmask, "s2cloudless": step_s2cloudless,
         "cloudmask-6band": step_cloudmask_6band, "ukis-engine-6band": step_ukis_engine_6band}


# --- the parent: availability, subprocesses, report ------------------------------------------------

@functools.lru_cache(maxsize=None)
def s2cloudless_python():
    """The s2cloudless venv's Python, made (once) when missing; None when pip cannot make it."""
    python = S2CLOUDLESS_VENV / "bin" / "python"
    check = [str(python), "-c", "import s2cloudless"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"making {S2CLOUDLESS_VENV} ({S2CLOUDLESS_PIN} from PyPI) ...", flush=True)
    base_python = os.path.join(sys.base_prefix, "bin", "python3")  # not .venv's: its own numpy, no Debian's
    made = subprocess.run([base_python, "-m", "venv", "--clear", str(S2CLOUDLESS_VENV)]).returncode == 0 and \
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", S2CLOUDLESS_PIN]).returncode == 0
    return python if made and subprocess.run(check, capture_output=True).returncode == 0 else None


def unavailable(name, model):
    """Why a contender cannot run here, or None."""
    from importlib.util import find_spec
    if name == "cloudmask" and not Path(model).is_file():
        return f"{model} does not exist yet (pass --model to time another)"
    if name == "cloudmask-6band" and not BUNDLED_MODEL_6BAND.is_file():
        return f"{BUNDLED_MODEL_6BAND} is not there"
    if name.startswith("ukis-") and find_spec("labelmigration.core.models.csmask") is None:
        return "core/models/csmask.py (ukis_model) is not there yet"
    if name == "ukis-csmask" and find_spec("ukis_csmask") is None:
        return "ukis-csmask is not installed (pip install ukis-csmask==1.0.0)"
    if name == "s2cloudless" and s2cloudless_python() is None:
        return f"could not make the s2cloudless venv ({S2CLOUDLESS_VENV})"
    return None


def run_step(name, input_path, model, python=sys.executable):
    """One contender in a fresh subprocess: (timed seconds, process seconds, peak RSS MB, timed CPU seconds) or
    None."""
    with tempfile.TemporaryDirectory(prefix=f"lm-bench-{name}-") as out:
        command = [str(python), __file__, "--step", name, "--input", str(input_path), "--out", out,
                   "--model", str(model)]
        started = time.perf_counter()
        process = subprocess.Popen(command)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if status != 0:
            print(f"{name}: FAILED (exit status {status >> 8}, signal {status & 0x7f})", flush=True)
            return None
        with open(f"{out}/result.json") as handle:
            result = json.load(handle)
        # wait4's ru_maxrss keeps the parent's peak across fork and exec (Linux carries it over), so the
        # child's own high-water mark from /proc is the honest figure; ru_maxrss only where /proc is missing
        rss = result.get("peak_rss_mb") or usage.ru_maxrss / 1024
        return result["seconds"], wall, rss, result.get("cpu_s") or 0.0


def measure(names, sources, model, repeat):
    """Every contender once per round, rounds repeated (so a change in the machine's load hits all
    alike): {name: median seconds, median process seconds, max peak RSS}; failed ones left out."""
    runs = {name: [] for name in names}
    for round_number in range(1, repeat + 1):
        for name in names:
            if runs[name] is None:
                continue
            python, source = sources[name]
            run = run_step(name, source, model, python)
            runs[name] = None if run is None else runs[name] + [run]
            if run:
                print(f"{name:17s} run {round_number}: {run[0]:8.2f} s   CPU {run[3]:8.2f} s   "
                      f"peak RSS {run[2]:6.0f} MB", flush=True)
    return {name: {"seconds": statistics.median(r[0] for r in rows), "process_s": statistics.median(r[1] for r in rows),
                   "peak_rss_mb": max(r[2] for r in rows), "cpu_s": statistics.median(r[3] for r in rows)}
            for name, rows in runs.items() if rows}


def setup_line(megapixels, side):
    versions = []
    for module in ("onnxruntime", "ukis_csmask"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except (ImportError, AttributeError):
            pass
    threads = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "GDAL_NUM_THREADS") if k in os.environ)
    return (f"input {side} x {side} = {megapixels:.2f} MP L1C; {os.cpu_count()} cores; {', '.join(versions)}; "
            f"{S2CLOUDLESS_PIN}; threads: library defaults{' (' + threads + ')' if threads else ''}")


def report(results, megapixels):
    reference = next((name for name in ("cloudmask", "ukis-engine", "cloudmask-6band") if name in results), "-")
    base = results.get(reference)
    print(f"\n{'contender':17s} {'seconds':>9s} {'CPU s':>9s} {'process s':>9s} {'MP/s':>8s} {'peak RSS MB':>11s}  "
          f"{'s / ' + reference:>16s}")
    for name, row in results.items():
        ratio = f"{row['seconds'] / base['seconds']:.2f}x" if base else "-"
        print(f"{name:17s} {row['seconds']:9.2f} {row['cpu_s']:9.2f} {row['process_s']:9.2f} "
              f"{megapixels / row['seconds']:8.3f} {row['peak_rss_mb']:11.0f}  {ratio:>16s}")
    print()
    if "ukis-engine" in results and "ukis-ort" in results:
        print(f"ukis {UKIS_VARIANT}: our engine / bare onnxruntime = "
              f"{results['ukis-engine']['seconds'] / results['ukis-ort']['seconds']:.3f}x "
              f"(target < 1.10: the engine adds under 10%)")
    if "cloudmask" in results and "ukis-engine" in results:
        print(f"throughput through our engine: bundled model / ukis {UKIS_VARIANT} = "
              f"{results['ukis-engine']['seconds'] / results['cloudmask']['seconds']:.1f}x (target >= 10x)")
        if results["cloudmask"]["cpu_s"] and results["ukis-engine"]["cpu_s"]:  # steadier on a loaded machine
            print(f"  in CPU seconds of the same runs (all threads; the machine's other load hardly moves them): "
                  f"{results['ukis-engine']['cpu_s'] / results['cloudmask']['cpu_s']:.1f}x")
    if "cloudmask-6band" in results and "ukis-engine-6band" in results:
        ours, theirs = results["cloudmask-6band"], results["ukis-engine-6band"]
        print(f"six bands, through our engine: bundled 6-band model / ukis {UKIS_VARIANT_6BAND} = "
              f"{theirs['seconds'] / ours['seconds']:.1f}x"
              + (f" (CPU seconds {theirs['cpu_s'] / ours['cpu_s']:.1f}x)" if ours["cpu_s"] and theirs["cpu_s"] else ""))


def memory_check(arguments, frames):
    """Our engine on a large 4-band raster: peak RSS must stay under 1 GB whatever the size."""
    name = "cloudmask" if arguments.memory_model == "bundled" else "ukis-engine"
    why = unavailable(name, arguments.model)
    if why:
        print(f"memory check skipped: {why}" + ("; try --memory-model ukis" if name == "cloudmask" else ""))
        return None
    tif, _ = build_raster(frames, arguments.memory_megapixels, RGBN)
    side = int(round(math.sqrt(arguments.memory_megapixels * 1e6)))
    row = measure([name], {name: (sys.executable, tif)}, arguments.model, 1).get(name)
    if row:
        print(f"memory check ({name}, {side} x {side} = {side * side / 1e6:.1f} MP, 4 bands): "
              f"{row['seconds']:.1f} s, {side * side / 1e6 / row['seconds']:.3f} MP/s, "
              f"peak RSS {row['peak_rss_mb']:.0f} MB (target < 1024 MB)", flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=25.0, help="size of the benchmark raster")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (the median is reported)")
    parser.add_argument("--only", help=f"comma-separated contenders: {', '.join(CONTENDERS)}, memory")
    parser.add_argument("--memory", action="store_true", help="also run the (slow, large-file) memory check")
    parser.add_argument("--memory-megapixels", type=float, default=120.0)
    parser.add_argument("--memory-model", choices=("bundled", "ukis"), default="bundled")
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="the 'cloudmask' model (default: bundled)")
    parser.add_argument("--frames", type=Path, default=default_frames(), help="folder of REFERENCE_SCENES.npy")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    import_plugin()
    if arguments.step:
        seconds = STEPS[arguments.step](arguments.input, arguments.out, arguments.model)
        with open(f"{arguments.out}/result.json", "w") as handle:
            json.dump({"seconds": seconds, "cpu_s": CPU_SECONDS[-1] if CPU_SECONDS else None,
                       "peak_rss_mb": own_peak_rss_mb()}, handle)
        return
    chosen = arguments.only.split(",") if arguments.only else list(CONTENDERS) + ["memory"] * arguments.memory
    unknown = set(chosen) - set(CONTENDERS) - {"memory"}
    if unknown:
        parser.error(f"unknown contender(s) {', '.join(sorted(unknown))}")
    contenders = [name for name in CONTENDERS if name in chosen]
    results = {}
    if contenders:
        tif, npy = build_raster(arguments.frames, arguments.megapixels, S2_BANDS,
                                S2CLOUDLESS_BANDS if "s2cloudless" in contenders else ())
        side = int(round(math.sqrt(arguments.megapixels * 1e6)))
        megapixels = side * side / 1e6
        print(setup_line(megapixels, side), flush=True)
        runnable = []
        for name in contenders:
            why = unavailable(name, arguments.model)
            if why:
                print(f"{name}: skipped: {why}", flush=True)
            else:
                runnable.append(name)
        sources = {name: (s2cloudless_python(), npy) if name == "s2cloudless" else (sys.executable, tif)
                   for name in runnable}
        results = measure(runnable, sources, arguments.model, arguments.repeat)
        report(results, megapixels)
    if "memory" in chosen:
        row = memory_check(arguments, arguments.frames)
        if row:
            results["memory"] = row
    print(json.dumps({k: {key: round(value, 3) for key, value in v.items()} for k, v in results.items()}))


if __name__ == "__main__":
    main()
