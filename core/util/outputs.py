"""Atomic outputs: write beside the target under a temporary name, rename on success.

A failed or cancelled run removes the temporary file, so no half-written output ever sits under
the final name, and an existing file at the target is only replaced once the new one is complete.
"""
import os
import tempfile
from contextlib import contextmanager
from typing import Iterable, Iterator, List, Tuple

from .errors import LabelMigrationError
from .paths import check_paths, missing_folders, nearest_existing_folder, remove_empty_folders

# Sidecars GDAL may write next to a raster; they travel with it on rename.
_SIDECAR_SUFFIXES = (".aux.xml", ".msk", ".ovr")


def check_output_path(output: str, inputs: Iterable[str], role: str = "output") -> str:
    """Refuse an output that would overwrite one of the inputs or cannot be written. Creates nothing:
    missing folders are made when the output is written."""
    if not output:
        raise LabelMigrationError(f"No {role} file was given.")
    check_paths(inputs=[("", path) for path in inputs if path], outputs=[(role, output)])
    folder = nearest_existing_folder(output)
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".labelmigration-", delete=True)
        probe.close()
    except OSError as error:
        raise LabelMigrationError(
            f"Cannot write the {role} '{output}': the folder '{folder}' is not writable ({error.strerror})."
        ) from error
    return output


def _make_folders(folders: List[str]) -> None:
    """Create folders (as missing_folders lists them: deepest first)."""
    for folder in reversed(folders):
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except OSError as error:
            raise LabelMigrationError(f"Cannot create the folder '{folder}': {error.strerror}.") from None


def _temporary_name(target: str, kind: str = ".part") -> str:
    folder, name = os.path.split(os.path.abspath(target))
    stem, ext = os.path.splitext(name)
    handle, path = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=f"{kind}{ext}")
    os.close(handle)
    os.unlink(path)  # GDAL creates the file itself
    return path


def _remove(path: str) -> None:
    for candidate in (path,) + tuple(path + suffix for suffix in _SIDECAR_SUFFIXES):
        _unlink(candidate)


def _publish_all(pairs: List[Tuple[str, str]]) -> None:
    """Move each finished temporary (and its GDAL sidecars) onto its target: all of them, or none.

    The files already at the targets are first moved aside; when any of them cannot be moved or any
    new file cannot be put in place, everything is put back as it was and a clear error is raised.
    """
    for _, target in pairs:
        if os.path.isdir(target):
            raise LabelMigrationError(f"Cannot write '{target}': a folder of that name is in the way.")
    set_aside: List[Tuple[str, str]] = []  # (backup, original)
    placed: List[str] = []
    current = ""
    try:
        for _, target in pairs:
            current = target
            for path in (target,) + tuple(target + suffix for suffix in _SIDECAR_SUFFIXES):
                if os.path.lexists(path):
                    backup = _temporary_name(path, ".old")
                    os.rename(path, backup)
                    set_aside.append((backup, path))
        for temporary, target in pairs:
            current = target
            for suffix in _SIDECAR_SUFFIXES:
                if os.path.exists(temporary + suffix):
                    os.rename(temporary + suffix, target + suffix)
                    placed.append(target + suffix)
            os.rename(temporary, target)
            placed.append(target)
    except OSError as error:
        for path in placed:
            _unlink(path)
        for backup, original in reversed(set_aside):
            os.rename(backup, original)
        kept = "the earlier outputs were kept as they were" if set_aside else "nothing was written"
        raise LabelMigrationError(
            f"Cannot write '{current}': {error.strerror or error}. No output was replaced: {kept}."
        ) from None
    for backup, _ in set_aside:
        _unlink(backup)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@contextmanager
def atomic_outputs(*targets: str) -> Iterator[List[str]]:
    """Yield temporary paths beside ``targets``; rename them all once the block succeeds.

    The block must close every GDAL dataset it opened on the temporary paths before it ends.
    Several outputs that belong together (an image and its label) appear together or not at all.
    """
    created = missing_folders(targets)
    temporaries: List[str] = []
    try:
        _make_folders(created)
        temporaries = [_temporary_name(target) for target in targets]
        yield temporaries
        for temporary, target in zip(temporaries, targets):
            if not os.path.exists(temporary):
                raise LabelMigrationError(f"No output was produced for '{target}'.")
        _publish_all(list(zip(temporaries, targets)))
    except BaseException:
        for temporary in temporaries:
            _remove(temporary)
        remove_empty_folders(created)
        raise


@contextmanager
def atomic_output(target: str) -> Iterator[str]:
    """One atomic output; see :func:`atomic_outputs`."""
    with atomic_outputs(target) as (temporary,):
        yield temporary
