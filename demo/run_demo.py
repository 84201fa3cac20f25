#!/usr/bin/env python3
"""Label Migration demo: move the bundled sample label from a Planet-like image onto Sentinel-2.

Usage: run_demo.py OUTPUT_FOLDER      (``make demo`` writes into demo-output/)

Runs in headless QGIS, through QGIS Processing exactly as the toolbox or a script would:

1. labelmigration:geocodemask   the PNG label + its reference image  -> label_geocoded.tif
2. labelmigration:maskfootprint the georeferenced label              -> label_footprint.gpkg
3. labelmigration:cropscene     Sentinel-2 scene + georeferenced label -> pair_image.tif, pair_label.tif
4. a PNG quicklook of the pair with the label's outlines                -> pair_quicklook.png
5. labelmigration:migratelabels the label set demo/data/labels + a local archive of four small
   Sentinel-2 L2A products (made into OUTPUT_FOLDER/archive on the first run, about 2 s)
                                -> migrated/: images/, labels/, masks/ (cloud masks), matches.csv,
                                   footprints.gpkg, report.html
6. labelmigration:exportdataset  the migrated folder -> dataset/: COG chips, STAC catalogue, GeoParquet index,
   spatially blocked train/validation/test splits
7. labelmigration:trainsegmentation  a small U-Net from the dataset (a few epochs, seconds; needs PyTorch, which
   `make setup` installs into .venv) -> model.onnx + model.md (the model card), then labelmigration:segment
   runs it on a migrated pair -> segmented.tif
8. a QGIS project with every output styled (the migration as a layer group) -> demo.qgs

The sample data in demo/data/ are synthetic (see demo/data/README.md).
"""
import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "demo" / "data"
PACKAGE = "labelmigration"
QGIS_PLUGINS = "/usr/share/qgis/python/plugins"

LABEL_PNG = DATA / "20200812_101512_1014_label.png"
REFERENCE = DATA / "20200812_101512_1014_3B_Visual.tif"
SCENE = DATA / "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_subset.tif"
LABEL_SET = DATA / "labels"


_QGIS = None  # (QgsApplication, provider) once started
_STEP = "start-up"  # what the demo is doing, for error messages


class DemoError(Exception):
    """A failure explained in words; main() prints it and exits with status 1."""


def import_plugin_package() -> None:
    """Make the checkout importable as the package 'labelmigration', whatever its folder is called.

    The repository root itself must never be on sys.path: its processing/ folder would shadow
    QGIS's own 'processing' module. A symlink in a temporary folder gives the package its name.
    """
    root = str(REPO_ROOT)
    sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != root]
    import_root = tempfile.mkdtemp(prefix="labelmigration-demo-")
    atexit.register(shutil.rmtree, import_root, ignore_errors=True)
    os.symlink(root, os.path.join(import_root, PACKAGE))
    sys.path.insert(0, import_root)


def start_qgis():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not os.environ.get("XDG_RUNTIME_DIR"):  # Qt warns without one
        runtime = tempfile.mkdtemp(prefix="labelmigration-runtime-")  # mode 0700, as Qt wants
        atexit.register(shutil.rmtree, runtime, ignore_errors=True)
        os.environ["XDG_RUNTIME_DIR"] = runtime
    try:
        from qgis.core import QgsApplication
    except ImportError as error:
        raise DemoError(
            f"QGIS's Python bindings cannot be imported ({error}). Run 'make setup' (it installs the "
            f"Debian packages qgis and python3-qgis) and run the demo with the project's .venv/bin/python."
        ) from error
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    if QGIS_PLUGINS not in sys.path:
        sys.path.append(QGIS_PLUGINS)
    try:
        from processing.core.Processing import Processing
    except ImportError as error:
        raise DemoError(f"QGIS's Processing framework is missing from {QGIS_PLUGINS} ({error}).") from error
    Processing.initialize()

    from labelmigration.processing.provider import LabelMigrationProvider
    provider = LabelMigrationProvider()
    if not QgsApplication.processingRegistry().addProvider(provider):
        raise DemoError("The Label Migration Processing provider could not be registered.")
    return app, provider


def make_feedback():
    from qgis.core import QgsProcessingFeedback

    class DemoFeedback(QgsProcessingFeedback):
        """Quiet progress; warnings and errors are shown."""

        def pushWarning(self, warning):  # noqa: N802 (QGIS's name)
            print(f"    warning: {warning}")

        def reportError(self, error, fatalError=False):  # noqa: N802,N803 (QGIS's names)
            if not fatalError:
                print(f"    warning: {error}")

    return DemoFeedback()


def step(name: str) -> None:
    global _STEP
    _STEP = name
    print(f"  {name} ...", flush=True)


def run_algorithm(algorithm_id: str, parameters: dict) -> dict:
    import processing
    from qgis.core import QgsProcessingException

    step(algorithm_id.split(":")[1])
    try:
        return processing.run(algorithm_id, parameters, feedback=make_feedback())
    except QgsProcessingException as error:
        raise DemoError(f"'{algorithm_id}' failed: {str(error).strip()}") from error


def read_footprint(path: str):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "footprint", "ogr")
    if not layer.isValid():
        raise DemoError(f"The footprint '{path}' cannot be opened.")
    features = list(layer.getFeatures())
    if len(features) != 1:
        raise DemoError(f"The footprint '{path}' holds {len(features)} features; one was expected.")
    feature = features[0]
    date = feature["date"]
    date_text = date.toString("yyyy-MM-dd") if hasattr(date, "toString") and date.isValid() else "unknown"
    return feature["label"], float(feature["area_m2"]), date_text, layer.crs().authid()


def describe_pair(image_path: str, label_path: str):
    from osgeo import gdal, osr

    with_exceptions = gdal.GetUseExceptions()
    gdal.UseExceptions()
    try:
        image = gdal.Open(image_path)
        srs = osr.SpatialReference(wkt=image.GetProjection())
        srs.AutoIdentifyEPSG()
        crs = f"{srs.GetAuthorityName(None)}:{srs.GetAuthorityCode(None)}" if srs.GetAuthorityCode(None) else srs.GetName()
        transform = image.GetGeoTransform()
        label = gdal.Open(label_path)  # keep the dataset referenced while its band is used
        band = label.GetRasterBand(1)
        values = band.ReadAsArray()
        valid = band.GetMaskBand().ReadAsArray() != 0
        counts = {int(v): int((values[valid] == v).sum()) for v in sorted(set(values[valid].tolist()))}
        return image.RasterXSize, image.RasterYSize, crs, abs(transform[1]), image.RasterCount, counts
    finally:
        if not with_exceptions:
            gdal.DontUseExceptions()


def run(output: Path) -> None:
    global _QGIS
    for path in (LABEL_PNG, REFERENCE, SCENE):
        if not path.is_file():
            raise DemoError(
                f"The sample file '{path}' is missing. Restore demo/data from git, or regenerate it with "
                f".venv/bin/python demo/make_sample_data.py"
            )
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DemoError(f"Cannot create the output folder '{output}': {error.strerror}.") from error

    geocoded = str(output / "label_geocoded.tif")
    footprint_path = str(output / "label_footprint.gpkg")
    pair_image = str(output / "pair_image.tif")
    pair_label = str(output / "pair_label.tif")
    quicklook = str(output / "pair_quicklook.png")

    print("Label Migration demo (synthetic sample data from demo/data)")
    print(f"  label     {LABEL_PNG.name} (plain PNG, drawn on the Planet-like image)")
    print(f"  reference {REFERENCE.name} (3 m, EPSG:3035)")
    print(f"  scene     {SCENE.name} (10 m, EPSG:32632)")
    step("starting QGIS")
    _QGIS = start_qgis()  # the application and provider live until the process ends

    run_algorithm("labelmigration:geocodemask",
                  {"INPUT": str(LABEL_PNG), "REFERENCE": str(REFERENCE), "OUTPUT": geocoded})
    run_algorithm("labelmigration:maskfootprint", {"INPUT": [geocoded], "OUTPUT": footprint_path})
    crop = run_algorithm("labelmigration:cropscene", {
        "SCENE": str(SCENE), "LABEL": geocoded, "OUTPUT_IMAGE": pair_image, "OUTPUT_LABEL": pair_label,
    })
    step("quicklook")
    from labelmigration.core.util.errors import LabelMigrationError
    from labelmigration.core.migration.quicklook import write_quicklook
    try:
        write_quicklook(pair_image, quicklook, label_path=pair_label)
    except LabelMigrationError as error:
        raise DemoError(f"The quicklook failed: {error}") from error

    for path in (geocoded, footprint_path, pair_image, pair_label, quicklook):
        if not os.path.isfile(path):
            raise DemoError(f"The output '{path}' was not written.")
    name, area, date, footprint_crs = read_footprint(footprint_path)
    width, height, crs, pixel, bands, counts = describe_pair(pair_image, pair_label)
    class_names = {0: "background", 1: "maize", 2: "water"}
    classes = ", ".join(f"{value} {class_names.get(value, '')} {count} px".replace("  ", " ")
                        for value, count in counts.items())

    print()
    print("Done. Outputs:")
    print(f"  georeferenced label  {geocoded}")
    print(f"  label footprint      {footprint_path}")
    print(f"  image of the pair    {pair_image}")
    print(f"  label of the pair    {pair_label}")
    print(f"  quicklook            {quicklook}")
    print()
    print(f"Footprint: '{name}', {area:,.0f} m² ({area / 1e6:.2f} km²), label date {date} ({footprint_crs})")
    print(f"Pair: {width} x {height} pixels of {pixel:g} m, {bands} bands, {crs}")
    print(f"Label footprint covered by the scene (COVERED_PERCENT): {crop['COVERED_PERCENT']:.1f}%; "
          f"label pixels without image data: {crop['NODATA_PERCENT']:.2f}%")
    print(f"Label classes on the Sentinel-2 grid: {classes}")

    migrated = migrate_label_set(output)
    sys.path.insert(0, str(REPO_ROOT / "demo"))
    from train_model_demo import export_and_train
    export_and_train(output, migrated, run_algorithm)
    write_project(output, [(geocoded, "label"), (pair_image, "image"), (pair_label, "label"),
                           (footprint_path, "footprint")], migrated)


def make_archive(output: Path) -> Path:
    """The local archive of the demo: four zipped SAFE products, made once (deterministic)."""
    sys.path.insert(0, str(REPO_ROOT / "demo"))
    import make_migration_data
    archive = output / "archive"
    expected = 2 * len(make_migration_data.TILES)
    if len(list(archive.glob("S2*_MSIL2A_*.SAFE.zip"))) != expected:
        step("making the local archive of Sentinel-2 products")
        if archive.exists():
            shutil.rmtree(archive)
        make_migration_data.write_archive(archive)
    return archive


def migrate_label_set(output: Path) -> Path:
    import csv

    print(f"\nLabel set {LABEL_SET}: " + ", ".join(sorted(p.name for p in LABEL_SET.iterdir())))
    archive = make_archive(output)
    folder = output / "migrated"
    parameters = {"LABELS": str(LABEL_SET), "BACKEND": 3, "URL": str(archive), "DAYS_BEFORE": 10,
                  "DAYS_AFTER": 10, "MAX_CLOUD": 30, "PRODUCT": 1, "CLOUD_MASKS": True,
                  "COREGISTER": 1, "OUTPUT_FOLDER": str(folder)}
    result = run_algorithm("labelmigration:migratelabels", parameters)
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    print()
    print(f"Label set migrated: {len(rows)} labels, {int(result['PAIRS'])} pairs, "
          f"{int(result['FAILED'])} failed (demo/data/labels onto {archive})")
    print(f"  {'label':28} {'scene':62} {'offset':>6} {'scene cloud':>11} {'cloud over label':>16}  status")
    for row in rows:
        offset = f"{row['offset_days']} d" if row["offset_days"] else ""
        scene_cloud = f"{row['scene_cloud_pct']}%" if row["scene_cloud_pct"] else ""
        label_cloud = f"{row['footprint_cloud_pct']}%" if row["footprint_cloud_pct"] else ""
        print(f"  {row['label']:28} {row['scene'] or '-':62} {offset:>6} {scene_cloud:>11} {label_cloud:>16}  "
              f"{row['status']}" + (f": {row['reason']}" if row["reason"] else ""))
    explain_cloudy_choice(archive, rows)
    explain_quality(rows)
    masks = sorted((folder / "masks").glob("*.tif")) if (folder / "masks").is_dir() else []
    print()
    print(f"  pairs        {folder / 'images'}/<label>.tif + {folder / 'labels'}/<label>.tif")
    print(f"  cloud masks  {folder / 'masks'}/<label>.tif ({len(masks)})" if masks else
          "  cloud masks  none were written (see the warnings above)")
    print(f"  matches      {folder / 'matches.csv'}")
    print(f"  footprints   {folder / 'footprints.gpkg'}")
    report = result.get("REPORT")
    if not report or not os.path.isfile(report):
        raise DemoError(f"migratelabels wrote no QA report into {folder}.")
    print(f"  QA report    {report}")
    return folder


def explain_cloudy_choice(archive: Path, rows) -> None:
    """Why fields_north is not on the closest, least cloudy scene: its SCL over the label."""
    import tempfile as _tempfile
    import numpy as np
    from osgeo import gdal
    from labelmigration.core.labels.crop import crop_scene

    row = next((r for r in rows if r["label"] == "fields_north_20200814"), None)
    closest = sorted(archive.glob("S2A_MSIL2A_20200813T*_T32UPU_*.SAFE.zip"))
    if row is None or not closest:
        return
    with _tempfile.TemporaryDirectory() as work:
        crop = crop_scene(str(closest[0]), str(LABEL_SET / "fields_north_20200814.tif"), f"{work}/scl.tif",
                          f"{work}/label.tif", band_names=["SCL"])
        scl = gdal.Open(crop.image).ReadAsArray()
        cloudy = 100.0 * np.isin(scl[scl != 0], (3, 8, 9, 10)).mean()
    print(f"\n  Why fields_north_20200814 is on {row['datetime'][:10]} ({row['offset_days']} d, scene cloud "
          f"{row['scene_cloud_pct']}%): the closer scene of 2020-08-13 (-1 d, less cloud as a whole) is {cloudy:.0f}% "
          f"cloud or cloud shadow over the label itself (its SCL band under the label's footprint).")


def explain_quality(rows) -> None:
    """The shift measured for the misregistered label against the true one, and the labels flagged for change."""
    import make_migration_data
    from labelmigration.core.quality.report_sections import flagged, number

    print("\n  Co-registration (COREGISTER=1) and change scores:")
    print(f"  {'label':28} {'shift x':>8} {'shift y':>8} {'confidence':>10} {'moved':>7} {'change':>7}")
    done = [row for row in rows if row["status"] == "done"]
    for row, flag in zip(done, flagged(done)):
        values = [number(row.get(key)) for key in ("shift_x_m", "shift_y_m", "shift_confidence", "label_moved_m",
                                                   "change_score")]
        cells = ["-" if value is None else f"{value:.{digits}f}" for value, digits in zip(values, (1, 1, 2, 1, 2))]
        print(f"  {row['label']:28} {cells[0]:>8} {cells[1]:>8} {cells[2]:>10} {cells[3]:>7} {cells[4]:>7}"
              + ("  flagged: check this label" if flag else ""))
    shifted = next((r for r in done if r["label"] == Path(make_migration_data.SHIFTED_LABEL).stem), None)
    if shifted is not None:
        true_x, true_y = make_migration_data.SHIFT_M
        x, y = number(shifted.get("shift_x_m")), number(shifted.get("shift_y_m"))
        recovered = "unknown" if x is None or y is None else f"x {x:+.1f} m, y {y:+.1f} m"
        moved = number(shifted.get("label_moved_m"))
        print(f"\n  Shifted label {shifted['label']}: true shift x {true_x:+.1f} m, y {true_y:+.1f} m (east, north); "
              f"recovered {recovered}; " + (f"label moved {moved:.1f} m onto the Sentinel-2 pixels." if moved
                                            else "label not moved."))
    for row, flag in zip(done, flagged(done)):
        if flag:
            print(f"  Flagged for change: {row['label']} (change score {number(row['change_score']):.2f}; "
                  f"the report lists it under 'Check these labels').")


def write_project(output: Path, single, migrated: Path) -> None:
    """demo.qgs: the first steps' outputs in a group, the migration as the dialog loads it."""
    from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
    from labelmigration.qgis_common import styles
    from labelmigration.qgis_common.results_group import load_results_group

    project = QgsProject.instance()
    project.clear()
    group = project.layerTreeRoot().addGroup("Demo: one label (steps 1-4)")
    for path, kind in reversed(single):
        name = Path(path).stem
        layer = QgsVectorLayer(path, name, "ogr") if kind == "footprint" else QgsRasterLayer(path, name)
        if not layer.isValid():
            raise DemoError(f"'{path}' cannot be loaded as a layer.")
        {"label": styles.style_label, "image": styles.style_image,
         "footprint": styles.style_footprints}[kind](layer)
        project.addMapLayer(layer, False)
        group.addLayer(layer)
    group.setExpanded(False)
    load_results_group(project, str(migrated))
    from qgis.core import QgsCoordinateReferenceSystem, QgsReferencedRectangle
    utm = QgsCoordinateReferenceSystem("EPSG:32632")  # the pairs' CRS
    project.setCrs(utm)
    prefer_default_transforms(project, utm)
    extent = QgsRasterLayer(single[1][0], "extent").extent()  # the first pair, amid the label set
    extent.grow(2000)
    project.viewSettings().setDefaultViewExtent(QgsReferencedRectangle(extent, utm))
    path = output / "demo.qgs"
    if not project.write(str(path)):
        raise DemoError(f"The project '{path}' cannot be written: {project.error()}")
    print(f"  QGIS project {path}  (make demo-gui opens it)")


def prefer_default_transforms(project, target) -> None:
    """Store QGIS's first (most accurate available) operation from each layer CRS to the project's, so
    opening the project never stops at a "select datum transformation" question."""
    from qgis.core import QgsDatumTransform

    context = project.transformContext()
    sources = {layer.crs().authid(): layer.crs() for layer in project.mapLayers().values()}
    for authid, source in sources.items():
        operations = QgsDatumTransform.operations(source, target) if authid != target.authid() else []
        if len(operations) > 1:
            context.addCoordinateOperation(source, target, operations[0].proj)
    project.setTransformContext(context)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Migrate the bundled sample label onto the sample Sentinel-2 scene.")
    parser.add_argument("output", metavar="OUTPUT_FOLDER", help="folder for the outputs (created if missing)")
    args = parser.parse_args(argv)
    try:
        import_plugin_package()
        run(Path(args.output).resolve())
    except DemoError as error:
        print(f"\nThe demo failed: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # anything unexpected: say so plainly, keep the traceback for a bug report
        import traceback
        traceback.print_exc()
        print(f"\nThe demo failed unexpectedly during '{_STEP}': {type(error).__name__}: {error}\n"
              f"This looks like a bug; please report it with the traceback above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
