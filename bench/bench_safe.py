"""Benchmark: cropping and converting a full-size Sentinel-2 L2A product (issue 3).

    .venv/bin/python bench/bench_safe.py [--workdir /tmp/lm-bench-noise] [--repeat 3] [--noise-dn 100]

Makes (once, cached in --workdir) a full-size synthetic L2A product (10980 x 10980 at 10 m, zipped)
with the test suite's generator, then times, each contender in a fresh subprocess so peak RSS is
its own:

1. cropping a 1 km x 1 km label (EPSG:3035, 3 m) to an aligned pair of all 12 spectral bands:
   - seed: extract the zip, write every band resampled to 10 m into one GeoTIFF, then rasterio.mask
   - cropscene: labelmigration's crop_scene straight from the zip
   - gdalwarp: bare GDAL API: gdal.Warp of each band's window from the zip, stacked, translated
2. converting the whole product to a 13-band 10 m GeoTIFF (12 spectral bands bilinear + SCL nearest):
   - safetogeotiff: labelmigration's safe_to_geotiff
   - gdal: gdal.BuildVRT (per band, -tr 10, same resampling) + gdal.Translate, same creation options;
     fast, but its resampling blends DN 0 (nodata) into valid pixels at the swath edge
   - gdalwarp_convert: gdal.Warp with -srcnodata 0 per band (VRT) + BuildVRT -separate + Translate, the
     GDAL pipeline that resamples as safetogeotiff does (nodata kept out of the kernel)
   All use every core (NUM_THREADS=ALL_CPUS).

Prints seconds (median of --repeat crop runs; conversions run --conversion-repeat times, the seed
once), the peak RSS of each and the ratios.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import import_plugin, own_peak_rss_mb

SPECTRAL = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
# the creation options safetogeotiff uses, so every contender writes the same kind of file
CREATION = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS", "PREDICTOR=2",
            "INTERLEAVE=BAND"]


def product_path(workdir: Path, size: int, noise_dn: int) -> Path:
    found = sorted(workdir.glob("S2*_MSIL2A_*.SAFE.zip"))
    if found:
        return found[0]
    from labelmigration.tests.support.safe_products import make_safe_product
    started = time.perf_counter()
    product = make_safe_product(workdir, "L2A", "05.09", size_10m=size, zipped=True, noise_dn=noise_dn)
    print(f"generated {product.path.name} ({product.path.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return product.path


def label_path(workdir: Path, product) -> Path:
    """A 1 km x 1 km label in EPSG:3035 at 3 m, in the middle of the tile."""
    path = workdir / "label_1km_3035.tif"
    if path.exists():
        return path
    import numpy as np
    from osgeo import gdal, osr
    half = product.grid.size(10)[0] * 5
    centre = (product.grid.ulx + half, product.grid.uly - half)
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(product.grid.epsg)
    target.ImportFromEPSG(3035)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(source, target).TransformPoint(*centre)
    size = 334
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), size, size, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform([x - 501, 3, 0, y + 501, 0, -3])
    dataset.SetProjection(target.ExportToWkt())
    rows, cols = np.mgrid[0:size, 0:size]
    dataset.GetRasterBand(1).WriteArray(((rows - 167) ** 2 + (cols - 167) ** 2 < 120 ** 2).astype(np.uint8))
    dataset = None
    return path


# --- contenders (each runs in its own subprocess) ---------------------------------------------------

def step_cropscene(zip_path, label, out):
    from labelmigration.core.labels.crop import crop_scene
    crop_scene(zip_path, label, f"{out}/image.tif", f"{out}/label.tif")


def step_gdalwarp(zip_path, label, out):
    """The same window, bands and resampling with bare GDAL calls (no pairing, no masking)."""
    from osgeo import gdal
    from labelmigration.core.labels.crop_window import footprint_window
    from labelmigration.core.labels.footprint import transform_geometry, valid_outline
    from labelmigration.core.util.raster_grid import srs_of
    from labelmigration.core.sentinel2.safe import open_safe
    gdal.UseExceptions()
    product = open_safe(zip_path)
    label_dataset = gdal.Open(label)
    outline = transform_geometry(valid_outline(label_dataset, label), srs_of(label_dataset),
                                 _utm(product.grid.epsg), 10)
    window = footprint_window(outline, product.grid.transform(10), *product.grid.size(10))
    x0 = product.grid.ulx + window.col * 10
    y1 = product.grid.uly - window.row * 10
    bounds = (x0, y1 - window.height * 10, x0 + window.width * 10, y1)
    warped = []
    for band in SPECTRAL:
        path, _ = product.band_file(band, 10)
        name = f"/vsimem/{band}.vrt"
        gdal.Warp(name, path, format="VRT", outputBounds=bounds, xRes=10, yRes=10, resampleAlg="bilinear",
                  srcNodata=0, dstNodata=0)
        warped.append(name)
    stack = gdal.BuildVRT("/vsimem/stack.vrt", warped, separate=True)
    gdal.Translate(f"{out}/image.tif", stack, creationOptions=CREATION)


def _utm(epsg):
    from osgeo import osr
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def step_seed(zip_path, label, out):
    """The seed's approach, made correct: extract, convert every band to one 10 m GeoTIFF, mask."""
    import zipfile
    import rasterio
    import rasterio.mask
    from rasterio.enums import Resampling
    from rasterio.warp import transform_geom
    from shapely.geometry import box, mapping
    from labelmigration.core.sentinel2.safe import open_safe
    extracted = Path(out) / "extracted"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(extracted)
    product = open_safe(str(next(extracted.glob("*.SAFE"))))
    stacked = f"{out}/all_bands.tif"
    width, height = product.grid.size(10)
    profile = dict(driver="GTiff", width=width, height=height, count=len(SPECTRAL), dtype="uint16",
                   crs=f"EPSG:{product.grid.epsg}", transform=rasterio.Affine(*_affine(product)), nodata=0,
                   tiled=True, compress="deflate", num_threads="all_cpus", BIGTIFF="IF_SAFER")
    with rasterio.open(stacked, "w", **profile) as destination:
        for index, band in enumerate(SPECTRAL, start=1):
            path, _ = product.band_file(band, 10)
            with rasterio.open(path) as source:
                destination.write(source.read(1, out_shape=(height, width), resampling=Resampling.bilinear), index)
    with rasterio.open(label) as label_dataset:
        footprint = transform_geom(label_dataset.crs, f"EPSG:{product.grid.epsg}", mapping(box(*label_dataset.bounds)))
    with rasterio.open(stacked) as source:
        image, transform = rasterio.mask.mask(source, [footprint], crop=True)
        profile = source.profile
        profile.update(width=image.shape[2], height=image.shape[1], transform=transform)
    with rasterio.open(f"{out}/image.tif", "w", **profile) as destination:
        destination.write(image)


def _affine(product):
    return (10.0, 0.0, product.grid.ulx, 0.0, -10.0, product.grid.uly)


def step_safetogeotiff(zip_path, _label, out):
    from labelmigration.core.sentinel2.convert import safe_to_geotiff
    safe_to_geotiff(zip_path, f"{out}/converted.tif", include_scl=True)


def _gdal_conversion(zip_path, out, warp: bool):
    """Every band on the 10 m grid through one VRT per band (gdalwarp's with -srcnodata 0 when warp,
    else gdalbuildvrt's), stacked with gdalbuildvrt -separate and written by gdal_translate."""
    from osgeo import gdal
    from labelmigration.core.sentinel2.safe import open_safe
    gdal.UseExceptions()
    product = open_safe(zip_path)
    side = product.grid.size(10)[0] * 10
    bounds = (product.grid.ulx, product.grid.uly - side, product.grid.ulx + side, product.grid.uly)
    per_band = []
    for band in SPECTRAL + ("SCL",):
        path, _ = product.band_file(band, 10)
        name = f"/vsimem/{band}.vrt"
        algorithm = "near" if band == "SCL" else "bilinear"
        if warp:
            gdal.Warp(name, path, format="VRT", outputBounds=bounds, xRes=10, yRes=10, srcNodata=0, dstNodata=0,
                      resampleAlg=algorithm, multithread=True, warpOptions=["NUM_THREADS=ALL_CPUS"])
        else:
            gdal.BuildVRT(name, [path], outputBounds=bounds, xRes=10, yRes=10, srcNodata=0, VRTNodata=0,
                          resampleAlg=algorithm)
        per_band.append(name)
    stack = gdal.BuildVRT("/vsimem/stack.vrt", per_band, separate=True)
    gdal.Translate(f"{out}/converted.tif", stack, outputType=gdal.GDT_UInt16, creationOptions=CREATION)


def step_gdal(zip_path, _label, out):
    _gdal_conversion(zip_path, out, warp=False)


def step_gdalwarp_convert(zip_path, _label, out):
    _gdal_conversion(zip_path, out, warp=True)


STEPS = {"cropscene": step_cropscene, "gdalwarp": step_gdalwarp, "seed": step_seed,
         "safetogeotiff": step_safetogeotiff, "gdal": step_gdal, "gdalwarp_convert": step_gdalwarp_convert}


def run_step(name, zip_path, label, workdir):
    """Run one contender in a subprocess; return (seconds, peak RSS in MB)."""
    out = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    command = [sys.executable, __file__, "--step", name, "--zip", str(zip_path), "--label", str(label),
               "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "GDAL_NUM_THREADS": "ALL_CPUS"})
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    peak = out / "peak_rss_mb.txt"
    # the child's own high-water mark: wait4's ru_maxrss carries the parent's peak (the product it may
    # have just generated) over fork and exec on Linux
    peak_mb = float(peak.read_text()) if peak.exists() else usage.ru_maxrss / 1024
    shutil.rmtree(out, ignore_errors=True)
    if status != 0:
        raise SystemExit(f"step {name} failed with status {status}")
    return seconds, peak_mb


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/lm-bench-noise",
                        help="where the product is made once and reused (one product per folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conversion-repeat", type=int, default=1, help="runs of each full conversion")
    parser.add_argument("--noise-dn", type=int, default=100,
                        help="per-pixel noise of the synthetic product: 100 makes JP2s as large (and as slow "
                             "to decode) as real ones; 0 gives a smooth, 10x smaller product")
    parser.add_argument("--size", type=int, default=10980, help="tile side in 10 m pixels (10980 = full size)")
    parser.add_argument("--skip-seed", action="store_true", help="leave out the slow seed pipeline")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--zip", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    import_plugin()
    if arguments.step:
        STEPS[arguments.step](arguments.zip, arguments.label, arguments.out)
        Path(arguments.out, "peak_rss_mb.txt").write_text(str(own_peak_rss_mb()))
        return
    workdir = Path(arguments.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    zip_path = product_path(workdir, arguments.size, arguments.noise_dn)
    from labelmigration.core.sentinel2.safe import open_safe
    label = label_path(workdir, open_safe(str(zip_path)))
    print(f"product {zip_path.name}, {zip_path.stat().st_size / 1e9:.2f} GB; label {label.name}; "
          f"{os.cpu_count()} cores", flush=True)
    results = {}
    for name in ("cropscene", "gdalwarp", "safetogeotiff", "gdal", "gdalwarp_convert"):
        repeat = arguments.repeat if name in ("cropscene", "gdalwarp") else arguments.conversion_repeat
        runs = [run_step(name, zip_path, label, workdir) for _ in range(repeat)]
        results[name] = (median([r[0] for r in runs]), max(r[1] for r in runs))
        print(f"{name:14s} {results[name][0]:8.2f} s   peak RSS {results[name][1]:7.0f} MB", flush=True)
    if not arguments.skip_seed:
        results["seed"] = run_step("seed", zip_path, label, workdir)
        print(f"{'seed':14s} {results['seed'][0]:8.2f} s   peak RSS {results['seed'][1]:7.0f} MB", flush=True)
    print()
    if "seed" in results:
        print(f"crop 1 km label: seed / cropscene = {results['seed'][0] / results['cropscene'][0]:.1f}x "
              f"(target >= 50x)")
    print(f"crop 1 km label: cropscene / bare gdalwarp = {results['cropscene'][0] / results['gdalwarp'][0]:.2f}x "
          f"(target <= 1.3x)")
    print(f"full conversion: safetogeotiff / gdalbuildvrt+gdal_translate = "
          f"{results['safetogeotiff'][0] / results['gdal'][0]:.2f}x (target <= 1.1x); "
          f"peak RSS {results['safetogeotiff'][1]:.0f} MB (target < 2048 MB)")
    print(f"full conversion: safetogeotiff / gdalwarp -srcnodata 0 per band + gdal_translate = "
          f"{results['safetogeotiff'][0] / results['gdalwarp_convert'][0]:.2f}x (the peer that keeps DN 0 out "
          f"of the kernel; gdalbuildvrt's resampling blends it into the swath edge)")
    print(json.dumps({k: {"seconds": round(v[0], 3), "peak_rss_mb": round(v[1])} for k, v in results.items()}))


if __name__ == "__main__":
    main()
