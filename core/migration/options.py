"""What a migration run is asked to do (MigrationOptions), the same checked and frozen for the
per-label work (RunSettings), and one label's work as it travels to a thread or a Dask worker (LabelTask)."""
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Tuple, Union

from ..landsat.bands import QA_MASK_SOURCE
from ..landsat.names import is_landsat_collection
from ..search.base import DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT
from ..util.plugin_files import BUNDLED_CLOUD_MODEL

DEFAULT_CLOUD_MODEL = BUNDLED_CLOUD_MODEL
DEFAULT_BANDS = ("B02", "B03", "B04", "B08")
DOWNLOAD_BACKENDS = ("cdse-odata", "dhus")  # whole SAFE products are downloaded to crop from them
DOWNLOAD_CANDIDATES = 3  # candidates rated per label when each costs a product download
MAX_WORKERS = 256


@dataclass
class MigrationOptions:
    """Everything but the labels and the output folder, as the user gives it."""
    backend: str = "local"
    url: Optional[str] = None
    collection: Optional[str] = None
    credentials: Optional[Tuple[str, str]] = field(default=None, repr=False)
    days_before: float = DEFAULT_DAYS_BEFORE  # the search defaults: core.search.base
    days_after: float = DEFAULT_DAYS_AFTER
    max_cloud: Optional[float] = DEFAULT_MAX_CLOUD
    product: Optional[str] = DEFAULT_PRODUCT
    bands: Optional[Sequence[str]] = None  # default DEFAULT_BANDS
    date_pattern: Optional[str] = None  # regex on the file name; default: YYYYMMDD / YYYY-MM-DD
    dates_csv: Optional[str] = None  # label,date
    date: Optional[Union[dt.date, str]] = None  # one date for every label
    cloud_model: Optional[str] = None  # ONNX cloud model; None: the bundled one when installed
    input_scaling: str = "auto"  # what the scenes' values are for the cloud model (core.models.input_scaling)
    executor: Optional[str] = None  # None / "local": a thread pool; "tcp://host:port": a Dask scheduler
    workers: Optional[int] = None
    max_candidates: Optional[int] = None  # scenes rated per label; None: all (3 for download backends)
    write_report: bool = True
    # OUTPUT_FOLDER/masks/<label>.tif per pair (1 cloud, 2 cloud shadow, 0 clear, 255 nodata): from the cloud
    # model when there is one (shadow where it has a shadow class), else from SCL (classes 8, 9, 10 cloud, 3
    # shadow) for L2A. None: on when a cloud model is available.
    cloud_masks: Optional[bool] = None
    # CDSE OData downloads; None: the public Copernicus Data Space addresses (a private or test
    # deployment gives its own: the base before /Products(<Id>)/$value, and the OpenID token endpoint)
    download_url: Optional[str] = None
    token_url: Optional[str] = None
    # issue 19 (core.quality): 0 measure the shift between each label's source image and Sentinel-2; 1 also move
    # the label by it when shift_confidence >= min_shift_confidence. source_images: a folder of source images
    # named as the labels (else a PNG's reference raster, or <label>_source.tif beside the label)
    coregister: int = 0
    min_shift_confidence: float = 0.5
    source_images: Optional[str] = None


@dataclass(frozen=True)
class RunSettings:
    """The options after checking (core.migration.checks.settle_options): product level and bands
    normalised, cloud masks decided; what every label's work reads."""
    run: str  # one id per run: a search backend is made once per run and process
    backend: str
    url: Optional[str]
    collection: Optional[str]
    credentials: Optional[Tuple[str, str]] = field(repr=False)
    days_before: float
    days_after: float
    max_cloud: Optional[float]
    product: Optional[str]  # "L1C", "L2A" or None
    bands: Tuple[str, ...]
    cloud_model: Optional[str]  # as given; cloud_model_path resolves it where the label runs
    input_scaling: str
    max_candidates: Optional[int]
    cloud_masks: bool
    download_url: Optional[str]
    token_url: Optional[str]
    coregister: int = 0  # MigrationOptions.coregister, min_shift_confidence, source_images
    min_shift_confidence: float = 0.5
    source_images: Optional[str] = None


@dataclass(frozen=True)
class LabelTask:
    """One label's work; plain, frozen data so that a thread and a Dask worker run it alike."""
    label: str
    path: str
    reference: Optional[str]
    problem: Optional[str]
    date: Optional[dt.date]
    date_problem: Optional[str]
    settings: RunSettings
    output_folder: str
    previous: Optional[Mapping[str, str]] = None  # its row in an earlier run's matches.csv
    place: Tuple = ()  # where the label lies (core.migration.labels.label_place): the run's order


def cloud_model_path(options: Union[MigrationOptions, RunSettings]) -> Optional[str]:
    """The cloud model a run uses: CLOUD_MODEL, else the bundled one when installed, else None."""
    return options.cloud_model or (DEFAULT_CLOUD_MODEL if os.path.isfile(DEFAULT_CLOUD_MODEL) else None)


def wants_cloud_masks(options: MigrationOptions) -> bool:
    if options.cloud_masks is None:
        return cloud_model_path(options) is not None
    return bool(options.cloud_masks)


def mask_source(options: MigrationOptions, product: Optional[str]) -> Optional[str]:
    """In words, what the run's cloud masks come from; None when no masks are written. ``product``
    is the checked product level."""
    if not wants_cloud_masks(options):
        return None
    if is_landsat_collection(options.collection):  # core.migration.cloud_masks: qa_pixel
        return QA_MASK_SOURCE
    model = cloud_model_path(options)
    if model:
        return f"the cloud model {model} (1 cloud, 2 cloud shadow where the model has a shadow class)"
    if product == "L2A":
        return ("the SCL band of the L2A products (classes 8, 9, 10: cloud medium / high probability, thin cirrus, "
                "as 1; class 3, cloud shadow, as 2)")
    return "nothing: no cloud model is installed and L1C products have no SCL band, so no cloud masks are written"
