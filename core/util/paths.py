"""The path guard: outputs never land on an input, on each other, or outside the folder chosen for them.

Every algorithm runs :func:`check_paths` on its parameters before it writes anything, and every
file name that comes from a catalogue, a layer or a label goes through :func:`safe_file_name` and
:func:`path_inside` before it becomes a path.
"""
import errno
import os
import re
import unicodedata
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .errors import LabelMigrationError

MAX_NAME_LENGTH = 150  # characters of a sanitised file name; leaves room for suffixes and part files

# Files GDAL, OGR, SQLite or QGIS keep beside a data file and rewrite with it.
_SIDECARS = (".aux.xml", ".ovr", ".msk", "-wal", "-shm", "-journal", ".qmd", ".qml", ".vrt.aux.xml")
_COMPANIONS = {  # extension -> the files that make one dataset with it (same stem)
    ".shp": (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qpj"),
    ".png": (".pgw", ".pngw", ".wld"),
    ".jpg": (".jgw", ".jpgw", ".wld"),
    ".jpeg": (".jgw", ".jpegw", ".wld"),
    ".tif": (".tfw", ".tifw", ".wld"),
    ".tiff": (".tfw", ".tiffw", ".wld"),
}
_VSI_ARCHIVE = re.compile(r"^/vsi(zip|tar|gzip|7z|rar)/+(.*?\.(zip|tar|tgz|tar\.gz|gz|7z|rar))(?=/|$)",
                          re.IGNORECASE)
# GDAL subdataset names that hold a file: SENTINEL2_L2A:<product>/MTD_MSIL2A.xml:10m:EPSG_32632 (what QGIS shows for a
# dropped SAFE zip), and DRIVER:"<file>":<part> (NETCDF, HDF5, ZARR ...)
_SUBDATASET_FILE = re.compile(r'^(?:SENTINEL2_[A-Z0-9_]+:(?P<xml>.+?\.xml)(?=:|$)|[A-Z][A-Z0-9_]*:"(?P<quoted>[^"]+)")',
                              re.IGNORECASE)
_UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)

Named = Tuple[str, str]  # (parameter or role, path)


def local_file(path: str) -> Optional[str]:
    """The file on disk behind a GDAL/OGR source string, or None for sources that are no local file.

    ``x.gpkg|layername=a`` -> ``x.gpkg``; ``/vsizip//data/a.zip/b.tif`` -> ``/data/a.zip``;
    ``SENTINEL2_L2A:/data/p.SAFE/MTD_MSIL2A.xml:10m:EPSG_32632`` -> its MTD file; ``NETCDF:"/data/a.nc":t`` ->
    ``/data/a.nc``; ``/vsicurl/...``, ``memory:``, database connections -> None.
    """
    if not path:
        return None
    text = str(path).split("|", 1)[0].strip()
    subdataset = _SUBDATASET_FILE.match(text)
    if subdataset:
        return local_file(subdataset.group("xml") or subdataset.group("quoted"))
    if text.startswith("/vsi"):
        match = _VSI_ARCHIVE.match(text)
        return "/" + match.group(2).lstrip("/") if match else None
    if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE) and not re.match(r"^[a-z]:[\\/]", text, re.IGNORECASE):
        if text.lower().startswith("file://"):
            return text[len("file://"):]
        return None  # memory:, postgres:, https:, ... (a drive letter is no scheme)
    return text


def _key(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def related_files(path: str) -> List[str]:
    """path and the files that belong to its dataset: GDAL sidecars, shapefile parts, world files."""
    stem, extension = os.path.splitext(path)
    files = [path] + [path + suffix for suffix in _SIDECARS]
    files += [stem + companion for companion in _COMPANIONS.get(extension.lower(), ())]
    return files


def same_file(first: str, second: str) -> bool:
    """Whether two paths name the same file: after resolving links and case where the OS ignores it,
    or by inode when both exist (hard links, case-insensitive file systems)."""
    if _key(first) == _key(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _identities(path: str, with_related: bool) -> Set[tuple]:
    """What makes a file the same as another: its resolved path, and its inode when it exists (hard
    links, case-insensitive file systems); with_related, those of its sidecars and companions too."""
    identities = set()
    for candidate in related_files(path) if with_related else (path,):
        identities.add(("path", _key(candidate)))
        try:
            info = os.stat(candidate)
        except (OSError, ValueError):
            continue
        identities.add(("inode", info.st_dev, info.st_ino))
    return identities


def _first_overlap(targets: Sequence[Named], others: Sequence[Named]) -> Optional[Tuple[Named, Named]]:
    """The first (target, other) pair sharing a file: one is the other, or a sidecar or companion of
    it. others may be targets itself (then a target never pairs with itself). Linear in the count."""
    def index(entries):
        found: Dict[tuple, int] = {}
        for position, (_, path) in enumerate(entries):
            for identity in _identities(path, with_related=True):
                found.setdefault(identity, position)
        return found

    same_list = targets is others
    by_other, by_target = index(others), index(targets)
    for position, (_, path) in enumerate(targets):
        for identity in _identities(path, with_related=False):
            match = by_other.get(identity)
            if match is not None and not (same_list and match == position):
                return targets[position], others[match]
    for position, (_, path) in enumerate(others):
        for identity in _identities(path, with_related=False):
            match = by_target.get(identity)
            if match is not None and not (same_list and match == position):
                return targets[match], others[position]
    return None


def is_within(path: str, folder: str) -> bool:
    """Whether path is folder or lies below it (links resolved)."""
    inner, outer = _key(path), _key(folder)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def check_paths(*, inputs: Sequence[Named] = (), input_folders: Sequence[Named] = (),
                outputs: Sequence[Named] = (), output_folders: Sequence[Named] = (),
                exclusive_folders: Sequence[str] = ()) -> None:
    """Refuse outputs that would overwrite an input or each other, and output folders nested with
    input folders. An output folder named in exclusive_folders may hold no input file either (the
    algorithm writes names there that an input could carry). Raises LabelMigrationError naming the
    parameters and the path."""
    files = _local(inputs)
    targets = _local(outputs)
    clash = _first_overlap(targets, files)
    if clash:
        (output_name, output), (input_name, source) = clash
        raise LabelMigrationError(
            f"The {_called('output', output_name)} ('{output}') would overwrite the "
            f"{_called('input', input_name)} ('{source}'); inputs are never overwritten. "
            f"Choose another output file.")
    clash = _first_overlap(targets, targets)
    if clash:
        (first_name, first), (second_name, _) = sorted(clash, key=targets.index)
        raise LabelMigrationError(
            f"The outputs {first_name} and {second_name} are the same file ('{first}'); each output "
            f"needs a file of its own.")
    folders = [(name, folder) for name, folder in output_folders if folder]
    for output_name, folder in folders:
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise LabelMigrationError(f"The output folder {output_name} ('{folder}') is a file. Choose a folder.")
        for input_name, source in input_folders:
            if source and (is_within(folder, source) or is_within(source, folder)):
                relation = "is" if same_file(folder, source) else "is nested with"
                raise LabelMigrationError(
                    f"The output folder {output_name} ('{folder}') {relation} the input folder {input_name} "
                    f"('{source}'). Choose an output folder outside the inputs.")
        if output_name in exclusive_folders:
            for input_name, source in files:
                if is_within(source, folder):
                    raise LabelMigrationError(
                        f"The input {input_name} ('{source}') lies inside the output folder {output_name} "
                        f"('{folder}'), where it could be overwritten. Choose another output folder.")
        for output_file_name, output in targets:
            if is_within(folder, output):
                raise LabelMigrationError(
                    f"The output folder {output_name} ('{folder}') is the output {output_file_name}.")
    for output_name, output in targets:
        existing = nearest_existing_folder(output)
        if not os.path.isdir(existing):
            raise LabelMigrationError(
                f"The {_called('output', output_name)} ('{output}') cannot be written: '{existing}' is a file, "
                f"not a folder.")
        if os.path.isdir(output):
            raise LabelMigrationError(
                f"The {_called('output', output_name)} ('{output}') is a folder; give a file name.")


def _called(kind: str, name: str) -> str:
    """'output OUTPUT_IMAGE' for a parameter, 'output image' for a role already worded, 'input' alone."""
    if not name:
        return kind
    return name if name.islower() and kind in name else f"{kind} {name}"


def _local(named: Sequence[Named]) -> List[Named]:
    """(name, local file) for the entries that are files on disk (not URLs, databases, memory layers)."""
    files = [(name, local_file(path)) for name, path in named]
    return [(name, path) for name, path in files if path]


def nearest_existing_folder(path: str) -> str:
    """The deepest existing ancestor of path's folder (a file there means no folder can be made)."""
    current = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def missing_folders(paths) -> List[str]:
    """The folders that writing to paths would have to create, deepest first."""
    missing = set()
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        while folder not in missing and not os.path.exists(folder):
            missing.add(folder)
            parent = os.path.dirname(folder)
            if parent == folder:  # a drive or share that does not exist
                break
            folder = parent
    return sorted(missing, key=lambda folder: folder.count(os.sep), reverse=True)


def remove_empty_folders(folders) -> None:
    """Remove those of folders (deepest first) that are empty; the others stay."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            pass  # not empty (an output, a part file to resume) or already gone


def safe_file_name(name: str, fallback: str = "unnamed", max_length: int = MAX_NAME_LENGTH) -> str:
    """A file name made from text that came from outside (a catalogue's product name, a layer's field,
    a label's name): no separators, no '..', no control or reserved characters, no leading dots or
    spaces, at most max_length characters. Readable names pass unchanged."""
    text = unicodedata.normalize("NFC", str(name or ""))
    parts = [part for part in re.split(r"[/\\]+", text) if part.strip() not in ("", ".", "..")]
    text = _UNSAFE_CHARACTERS.sub("_", "_".join(parts))
    text = text.strip(" .")
    while ".." in text:
        text = text.replace("..", ".")
    if _WINDOWS_RESERVED.match(text):
        text = "_" + text
    if len(text) > max_length:
        stem, extension = os.path.splitext(text)
        extension = extension if 0 < len(extension) <= 10 else ""
        text = stem[:max_length - len(extension)].rstrip(" .") + extension
    return text or fallback


def path_inside(folder: str, *names: str) -> str:
    """folder joined with names, refusing a result outside folder (after resolving links).

    The names should already be sanitised; this is the last check before a file is written.
    """
    if any("\x00" in name for name in names):
        raise LabelMigrationError(f"Refused to write a file whose name holds a NUL character into '{folder}'.")
    target = os.path.join(folder, *names)
    if not is_within(target, folder) or _key(target) == _key(folder):
        shown = os.path.join(*names) if names else ""
        raise LabelMigrationError(
            f"Refused to write '{shown}': it would land outside the folder '{folder}'.")
    return target


def unreadable_reason(path: str, folder: bool = False) -> Optional[str]:
    """Why path cannot be read as an input (a file, or a folder when folder is true), in words;
    None when it can. Sources that are no local file (URLs, /vsicurl/, databases) are not checked."""
    local = local_file(path)
    if local is None or local != str(path).split("|", 1)[0].strip():
        return None
    if not os.path.lexists(local):
        return f"'{local}' does not exist"
    if not os.path.exists(local):
        try:
            os.stat(local)
        except OSError as error:
            if error.errno == errno.ELOOP:
                return f"'{local}' is a link that loops back on itself"
        return f"'{local}' is a broken link"
    if folder:
        if not os.path.isdir(local):
            return f"'{local}' is a file, not a folder"
        if not os.access(local, os.R_OK | os.X_OK):
            return f"'{local}' cannot be read (permission denied)"
        return None
    if os.path.isdir(local):
        return None  # a SAFE product, a Zarr store or a shapefile folder: the reader decides
    try:
        with open(local, "rb") as handle:
            handle.read(1)
    except PermissionError:
        return f"'{local}' cannot be read (permission denied)"
    except OSError as error:
        return f"'{local}' cannot be read ({error.strerror or error})"
    if os.path.getsize(local) == 0:
        return f"'{local}' is an empty file"
    return None
