"""The Zarr store of an EOPF product, read through GDAL: metadata JSON through GDAL's virtual file
systems (a local folder and /vsicurl/ alike), chunks decoded by GDAL's Zarr driver.

Zarr v2 arrays (baseline 05.11: .zarray, consolidated .zmetadata, blosc zstd) are GDAL's own: the band
path is the array folder (a local product) or a VRT over ``ZARR:"root":/array`` (a remote one, since
object stores answer no folder URL); GDAL reads only the chunks under each window, each chunk once (see
``zarr_root``).

Zarr v3 arrays (baseline 05.12: zarr.json, bytes + zstd codecs) are read through a *v2 view*: GDAL before
3.8 reads only the withdrawn v3 draft, so a temporary folder gets a v2 ``.zarray`` describing the same
shape, chunks, dtype, fill value and compressor (a ``bytes`` + ``zstd``/``blosc``/``gzip`` chain encodes
chunks exactly as the v2 compressor of that name does), and the chunk files under their v2 keys:
symbolic links to a local product's chunks (made when the view is made, nothing read), or for a remote
product the chunks under a window copied when ``ZarrArray.fetch`` is asked for it (a chunk not fetched
reads as the fill value, so readers of remote v3 products fetch their window first). The view is the
same on every GDAL, so the one tested path is the path users run.
"""
import atexit
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional, Sequence, Tuple
from urllib.parse import quote

from osgeo import gdal

from ..util.errors import LabelMigrationError

MAX_JSON_BYTES = 64 << 20  # a consolidated .zmetadata of a real product is a few MB
_V3_TYPES = {"uint8": "|u1", "int8": "|i1", "uint16": "u2", "int16": "i2", "uint32": "u4", "int32": "i4",
             "uint64": "u8", "int64": "i8", "float32": "f4", "float64": "f8"}
_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
_VIEWS = {"folder": None}


def gdal_path(path: str) -> str:
    """A product path or URL as GDAL reads it (http(s) URLs through /vsicurl/), without a trailing '/'."""
    path = path.rstrip("/")
    if path.startswith(("http://", "https://")):
        return "/vsicurl/" + path
    return path


def zarr_root(root: str) -> str:
    """A store root as GDAL's Zarr driver opens it: a /vsicurl/ root in the ``/vsicurl?list_dir=no&url=``
    form, any other unchanged.

    The driver reads each chunk of a /vsicurl/ root through /vsicurl_streaming/ (LoadTileData asks the file
    system for its GetStreamingFilename; GDAL 3.6 and 3.10 alike). The streaming handle's existence check
    reads one byte, which starts a GET of the whole chunk; the driver then seeks to the end for the size (a
    HEAD) and back to 0, and a seek from beyond the handle's first-bytes cache drops that cache, so the read
    from 0 is a backward seek that abandons the GET and starts another: every chunk larger than the cache
    (seen from about 1 MB) went out 1.1-1.4x. The ``?url=`` form has no streaming twin (only a name starting
    with the /vsicurl/ prefix is rewritten), so a chunk is one HEAD and one range GET of its bytes, and the
    coordinate arrays read at each opening come from /vsicurl/'s block cache. ``list_dir=no``: no listing
    GET of each array folder, which object stores do not answer anyway."""
    prefix = "/vsicurl/"
    if not root.startswith(prefix):
        return root
    return "/vsicurl?list_dir=no&url=" + quote(root[len(prefix):], safe=":/")


def read_json(path: str) -> Optional[dict]:
    """A JSON object read through GDAL's file systems; None when the file does not exist."""
    stat = gdal.VSIStatL(path)
    if stat is None or stat.IsDirectory():
        return None
    if stat.size > MAX_JSON_BYTES:
        raise LabelMigrationError(f"The Zarr metadata '{path}' is {stat.size} bytes, more than a product has.")
    text = _read_file(path, stat.size, "metadata")
    try:
        value = json.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise LabelMigrationError(f"The Zarr metadata '{path}' is not valid JSON: {error}.") from error
    if not isinstance(value, dict):
        raise LabelMigrationError(f"The Zarr metadata '{path}' is not a JSON object.")
    return value


def _read_file(path: str, size: int, what: str) -> bytes:
    """The first ``size`` bytes of a file, read through GDAL's file systems (local, /vsicurl/)."""
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        raise LabelMigrationError(f"The Zarr {what} '{path}' cannot be read: {gdal.GetLastErrorMsg()}")
    try:
        return gdal.VSIFReadL(1, size, handle)
    finally:
        gdal.VSIFCloseL(handle)


@dataclass
class ZarrArray:
    """One array of the store: where it lies, its layout and its attributes."""
    store_root: str
    name: str  # path inside the store, e.g. measurements/reflectance/r10m/b02
    zarr_format: int
    shape: Tuple[int, ...]
    chunks: Tuple[int, ...]
    dtype: str  # NumPy type string, e.g. <u2
    fill_value: object
    compressor: Optional[dict]  # in v2 form
    attrs: Dict[str, object]
    key_prefix: str = ""  # v3 default chunk keys: 'c' + separator
    separator: str = "."
    _view: Optional[str] = field(default=None, repr=False)
    _fetched: set = field(default_factory=set, repr=False)

    @property
    def path(self) -> str:
        return f"{self.store_root}/{self.name}"

    @property
    def remote(self) -> bool:
        return self.store_root.startswith("/vsi") or not os.path.isdir(self.store_root)

    def chunk_key(self, index: Sequence[int]) -> str:
        return self.key_prefix + self.separator.join(str(i) for i in index)

    def chunk_grid(self) -> Tuple[int, int]:
        """(chunk rows, chunk columns) of a 2-D array."""
        return -(-self.shape[0] // self.chunks[0]), -(-self.shape[1] // self.chunks[1])

    def chunks_under(self, column0: int, row0: int, column1: int, row1: int) -> Iterator[Tuple[int, int]]:
        """(chunk row, chunk column) of every chunk a pixel window [column0, column1) x [row0, row1) touches."""
        rows, columns = self.chunk_grid()
        for chunk_row in range(max(0, row0 // self.chunks[0]), min(rows, -(-row1 // self.chunks[0]))):
            for chunk_column in range(max(0, column0 // self.chunks[1]), min(columns, -(-column1 // self.chunks[1]))):
                yield chunk_row, chunk_column

    def band_path(self) -> str:
        """A path GDAL opens as a one-band raster of this array (see the module's description)."""
        if len(self.shape) != 2:
            raise LabelMigrationError(f"The Zarr array '{self.path}' has {len(self.shape)} dimensions, not 2.")
        if self.zarr_format == 2:
            return self._vrt() if self.remote else self.path
        if self._view is None:
            self._view = self._make_view()
        return self._view

    def fetch(self, column0: int, row0: int, column1: int, row1: int) -> None:
        """Bring the chunks under a window into the v2 view of a remote v3 array (otherwise nothing to do)."""
        if self.zarr_format == 2 or not self.remote:
            return
        view = self.band_path()
        for index in self.chunks_under(column0, row0, column1, row1):
            if index not in self._fetched:
                _copy_chunk(f"{self.path}/{self.chunk_key(index)}", os.path.join(view, *map(str, index)))
                self._fetched.add(index)

    def _make_view(self) -> str:
        folder = os.path.join(_views_folder(), hashlib.sha256(self.path.encode("utf-8")).hexdigest()[:16])
        os.makedirs(folder, exist_ok=True)
        header = {"zarr_format": 2, "shape": list(self.shape), "chunks": list(self.chunks), "dtype": self.dtype,
                  "fill_value": self.fill_value, "order": "C", "filters": None, "compressor": self.compressor,
                  "dimension_separator": "/"}
        with open(os.path.join(folder, ".zarray"), "w", encoding="utf-8") as handle:
            json.dump(header, handle)
        if not self.remote:
            rows, columns = self.chunk_grid()
            for index in ((r, c) for r in range(rows) for c in range(columns)):
                source = os.path.join(self.store_root, *self.name.split("/"), *self.chunk_key(index).split("/"))
                if os.path.isfile(source):
                    _link(source, os.path.join(folder, *map(str, index)))
        return folder

    def _vrt(self) -> str:
        path = os.path.join(_views_folder(), hashlib.sha256(self.path.encode("utf-8")).hexdigest()[:16] + ".vrt")
        if not os.path.exists(path):
            source = gdal.Open(f'ZARR:"{zarr_root(self.store_root)}":/{self.name}')
            if source is None:
                raise LabelMigrationError(f"GDAL cannot open the Zarr array '{self.path}': {gdal.GetLastErrorMsg()}")
            gdal.Translate(path, source, format="VRT")
        return path


def _views_folder() -> str:
    if _VIEWS["folder"] is None or not os.path.isdir(_VIEWS["folder"]):
        _VIEWS["folder"] = tempfile.mkdtemp(prefix="labelmigration-zarr-")
        atexit.register(shutil.rmtree, _VIEWS["folder"], True)
    return _VIEWS["folder"]


def _link(source: str, target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.lexists(target):
        return
    try:
        os.symlink(os.path.abspath(source), target)
    except OSError:  # a file system without links
        shutil.copyfile(source, target)


def _copy_chunk(source: str, target: str) -> None:
    """A chunk file copied through GDAL's file systems; a missing chunk is the fill value, as in Zarr."""
    stat = gdal.VSIStatL(source)
    if stat is None:
        return
    data = _read_file(source, stat.size, "chunk")
    if len(data) != stat.size:
        raise LabelMigrationError(f"The Zarr chunk '{source}' was cut short ({len(data)} of {stat.size} bytes).")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target + ".part", "wb") as handle:
        handle.write(data)
    os.replace(target + ".part", target)


def v2_array(root: str, name: str, header: dict, attrs: dict) -> ZarrArray:
    return ZarrArray(store_root=root, name=name, zarr_format=2, shape=tuple(header["shape"]),
                     chunks=tuple(header["chunks"]), dtype=header["dtype"], fill_value=header.get("fill_value"),
                     compressor=header.get("compressor"), attrs=attrs,
                     separator=header.get("dimension_separator") or ".")


def v3_array(root: str, name: str, header: dict) -> ZarrArray:
    """A v3 array (zarr.json) described as the v2 array its chunks also are; unsupported codecs fail named."""
    where = f"The Zarr array '{root}/{name}'"
    data_type = header.get("data_type")
    if data_type not in _V3_TYPES:
        raise LabelMigrationError(f"{where} has the data type {data_type!r}, which is not supported.")
    grid = header.get("chunk_grid", {})
    if grid.get("name") != "regular":
        raise LabelMigrationError(f"{where} has a '{grid.get('name')}' chunk grid; only regular grids are read.")
    endian, compressor = "little", None
    for codec in header.get("codecs", []):
        codec_name, config = codec.get("name"), codec.get("configuration") or {}
        if codec_name == "bytes":
            endian = config.get("endian", "little")
        elif codec_name in ("zstd", "gzip") and compressor is None:
            compressor = {"id": codec_name, "level": config.get("level", 1)}
        elif codec_name == "blosc" and compressor is None:
            compressor = {"id": "blosc", "cname": config.get("cname", "zstd"), "clevel": config.get("clevel", 5),
                          "shuffle": _SHUFFLE.get(config.get("shuffle"), 1), "blocksize": config.get("blocksize", 0)}
        else:
            raise LabelMigrationError(f"{where} uses the codec '{codec_name}', which this reader does not decode.")
    code = _V3_TYPES[data_type]
    dtype = code if code.startswith("|") else ("<" if endian == "little" else ">") + code
    encoding = header.get("chunk_key_encoding") or {"name": "default"}
    separator = (encoding.get("configuration") or {}).get("separator", "/" if encoding["name"] == "default" else ".")
    return ZarrArray(store_root=root, name=name, zarr_format=3, shape=tuple(header["shape"]),
                     chunks=tuple(grid["configuration"]["chunk_shape"]), dtype=dtype,
                     fill_value=header.get("fill_value"), compressor=compressor, attrs=header.get("attributes") or {},
                     key_prefix="c" + separator if encoding["name"] == "default" else "", separator=separator)
