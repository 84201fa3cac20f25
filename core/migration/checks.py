"""The checks a run makes before it searches or writes anything: the options (settled once into the
frozen RunSettings every label reads), the bands, the executor, each label's header and the output folder."""
import os
import re
import uuid
from typing import List, Optional, Sequence

from ..landsat.names import is_landsat_collection
from ..models.cloud_classes import cloud_classes
from ..search import make_backend
from ..search.base import check_product, check_window_days
from ..sentinel2.safe_product import NATIVE_RESOLUTION
from ..util.errors import LabelMigrationError
from ..util.paths import is_within, nearest_existing_folder, path_inside, unreadable_reason
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import has_geotransform
from ..util.raster_read import check_raster_size, open_raster
from .labels import LabelInput, as_date
from .match_table import MATCHES_NAME
from .rows import one_line
from .options import DEFAULT_BANDS, MAX_WORKERS, MigrationOptions, RunSettings, cloud_model_path, wants_cloud_masks

OUTPUT_FILES = (MATCHES_NAME, "footprints.gpkg", "report.html")  # what a run writes in OUTPUT_FOLDER itself
PAIR_FOLDERS = ("images", "labels", "masks", "geocoded", "downloads", "report")
_ASSET_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")  # a STAC asset key given as a band
_URL = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)


def settle_options(options: MigrationOptions) -> RunSettings:
    """Refuse options that cannot work, before anything is searched or written; the checked result."""
    make_backend(options.backend, options.url, options.credentials)  # an unknown backend fails here, once
    _check_addresses(options)
    product = check_product(options.product)
    if options.max_cloud is not None and not 0 <= options.max_cloud <= 100:
        raise LabelMigrationError(f"The maximum cloud cover must be within 0..100 %, not {options.max_cloud}.")
    check_window_days(options.days_before, options.days_after)
    if options.workers is not None and not 0 <= options.workers <= MAX_WORKERS:
        raise LabelMigrationError(f"The workers must be within 0..{MAX_WORKERS} (0 = one per core), "
                                  f"not {options.workers}.")
    bands = check_bands(options.bands, options.backend)
    executor_kind(options.executor)
    as_date(options.date)
    if options.cloud_model:
        if not os.path.isfile(options.cloud_model):
            raise LabelMigrationError(f"The cloud model '{options.cloud_model}' does not exist.")
        from ..models.onnx_model import load_model
        load_model(options.cloud_model)  # says what is wrong with a file that is no ONNX model
    return RunSettings(
        run=uuid.uuid4().hex, backend=options.backend, url=options.url, collection=options.collection,
        credentials=tuple(options.credentials) if options.credentials else None,
        days_before=options.days_before, days_after=options.days_after,
        max_cloud=None if options.max_cloud is None else float(options.max_cloud), product=product,
        bands=tuple(bands), cloud_model=options.cloud_model, input_scaling=options.input_scaling,
        max_candidates=options.max_candidates,
        # masks from the cloud model, or from the products' own SCL (Sentinel-2 L2A) or QA_PIXEL (Landsat)
        cloud_masks=wants_cloud_masks(options) and (cloud_model_path(options) is not None or product == "L2A"
                                                    or is_landsat_collection(options.collection)),
        download_url=options.download_url, token_url=options.token_url,
        coregister=options.coregister, min_shift_confidence=options.min_shift_confidence,
        source_images=options.source_images,)


def cloud_model_note(options: MigrationOptions) -> Optional[str]:
    """A warning, once per run, when CLOUD_MODEL's class names do not say which class is cloud
    (core.models.cloud_classes then takes class 1, as before)."""
    if not options.cloud_model:
        return None  # the bundled model names its classes
    from ..models.onnx_model import load_model
    model = load_model(options.cloud_model)
    channels = model.head_channels[0] if model.head_channels else model.classes
    return cloud_classes(model.info.class_names, channels, options.cloud_model).note or None


def _check_addresses(options: MigrationOptions) -> None:
    if options.backend == "local":
        problem = unreadable_reason(_archive_folder(options.url), folder=True)
        if problem:
            raise LabelMigrationError(f"The local archive (URL) {problem}.")
        return
    for what, url in (("URL", options.url), ("download URL", options.download_url),
                      ("token URL", options.token_url)):
        if url and not _URL.match(url.strip()):
            raise LabelMigrationError(f"The {what} '{url}' is not an http:// or https:// address.")


def _archive_folder(url: str) -> str:
    return url[len("file://"):] if url.startswith("file://") else url


def check_bands(bands: Optional[Sequence[str]], backend: str) -> List[str]:
    """The bands of the images, upper-cased; refuses unknown ones (a STAC API may name any asset)."""
    names = [str(band).strip().upper() for band in (bands or DEFAULT_BANDS)]
    names = [f"B0{name[1]}" if re.fullmatch(r"B\d", name) else name for name in names]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LabelMigrationError(f"The band list names {', '.join(repeated)} more than once.")
    stac = backend == "stac"
    unknown = [name for name in names if name not in NATIVE_RESOLUTION and not (stac and _ASSET_KEY.match(name))]
    if unknown:
        raise LabelMigrationError(
            f"Unknown band{'s' if len(unknown) > 1 else ''} {', '.join(repr(name[:40]) for name in unknown[:5])}: "
            f"give Sentinel-2 band names such as {', '.join(DEFAULT_BANDS)} (any of "
            f"{', '.join(NATIVE_RESOLUTION)})" + (" or the STAC API's asset keys" if stac else "") + ".")
    return names


def executor_kind(executor: Optional[str]) -> str:
    """'local' or 'dask' for an EXECUTOR value."""
    text = (executor or "").strip()
    if text in ("", "local"):
        return "local"
    if re.match(r"^(tcp|tls|ucx|inproc)://[^\s]+$", text):
        return "dask"
    raise LabelMigrationError(
        f"The executor '{executor}' is not understood: leave it empty for the local pool or give a Dask "
        f"scheduler address such as tcp://127.0.0.1:8786.")


def label_problem(item: LabelInput) -> Optional[str]:
    """Why a label cannot be migrated, from its header and its reference's (no pixel is read); None
    when it can."""
    try:
        with gdal_errors():
            dataset = open_raster(item.path, "label")
            check_raster_size(dataset, item.path, "label")
            if item.reference:
                check_raster_size(open_raster(item.reference, "reference raster"), item.reference, "reference raster")
            elif not has_geotransform(dataset):
                return (f"The label '{os.path.basename(item.path)}' is not georeferenced and has no reference "
                        f"raster.")
    except (LabelMigrationError, RuntimeError) as error:
        return one_line(error)
    return None


def check_output_folder(output_folder: str, inputs: Sequence[str]) -> None:
    """Refuse an output folder the run could not write, or where it would overwrite a label, before
    anything is written: the folder, its pair folders and its files must be what they should be
    (no file where a folder goes, no folder where a file goes, no link leading outside)."""
    if os.path.exists(output_folder) and not os.path.isdir(output_folder):
        raise LabelMigrationError(f"The output folder '{output_folder}' is a file. Choose a folder.")
    for sub in PAIR_FOLDERS:
        folder = path_inside(output_folder, sub)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise LabelMigrationError(f"'{folder}' is a file, where the run writes a folder; move it away or "
                                      f"choose another output folder.")
        for path in inputs:
            if is_within(path, folder):
                raise LabelMigrationError(f"The label '{path}' lies in '{folder}', where the run writes; choose "
                                          f"another output folder.")
    for name in OUTPUT_FILES:
        if os.path.isdir(path_inside(output_folder, name)):
            raise LabelMigrationError(f"'{os.path.join(output_folder, name)}' is a folder, where the run writes a "
                                      f"file; move it away or choose another output folder.")
    existing = nearest_existing_folder(os.path.join(output_folder, MATCHES_NAME))
    if not os.path.isdir(existing):
        raise LabelMigrationError(f"The output folder '{output_folder}' cannot be made: '{existing}' is a file.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LabelMigrationError(f"The output folder '{output_folder}' cannot be written: '{existing}' is "
                                  f"read-only for you.")
