"""Atomic outputs: write beside the target under a temporary name, rename on success.

A failed or cancelled run removes the temporary file, so no half-written output ever sits under
the final name, and an existing file at the target is only replaced once the new one is complete.
"""
import os
import tempfile
from contextlib import contextmanager
from typing import Iterable, Iterator, List

from .errors import LabelMigrationError

# Sidecars GDAL may write next to a raster; they travel with it on rename.
_SIDECAR_SUFFIXES = (".aux.xml", ".msk", ".ovr")


def check_output_path(output: str, inputs: Iterable[str], role: str = "output") -> str:
    """Refuse an output that is one of the inputs or lies in a folder we cannot write to."""
    if not output:
        raise LabelMigrationError(f"No {role} file was given.")
    target = os.path.realpath(output)
    for path in inputs:
        if path and not path.startswith("/vsi") and os.path.realpath(path) == target:
            raise LabelMigrationError(
                f"The {role} '{output}' is the same file as the input '{path}'; inputs are never "
                f"overwritten. Choose another output file."
            )
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise LabelMigrationError(f"Cannot create the folder '{folder}' for the {role}: {error.strerror}.") from error
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".labelmigration-", delete=True)
        probe.close()
    except OSError as error:
        raise LabelMigrationError(
            f"Cannot write the {role} '{output}': the folder '{folder}' is not writable ({error.strerror})."
        ) from error
    return output


def _temporary_name(target: str) -> str:
    folder, name = os.path.split(os.path.abspath(target))
    stem, ext = os.path.splitext(name)
    handle, path = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=f".part{ext}")
    os.close(handle)
    os.unlink(path)  # GDAL creates the file itself
    return path


def _remove(path: str) -> None:
    for candidate in (path,) + tuple(path + suffix for suffix in _SIDECAR_SUFFIXES):
        try:
            os.unlink(candidate)
        except FileNotFoundError:
            pass


def _publish(temporary: str, target: str) -> None:
    """Replace target (and its GDAL sidecars) with the finished temporary file."""
    for suffix in _SIDECAR_SUFFIXES:
        if os.path.exists(temporary + suffix):
            os.replace(temporary + suffix, target + suffix)
        elif os.path.exists(target + suffix):
            os.unlink(target + suffix)  # a stale sidecar would describe the old file
    os.replace(temporary, target)


@contextmanager
def atomic_outputs(*targets: str) -> Iterator[List[str]]:
    """Yield temporary paths beside ``targets``; rename them all once the block succeeds.

    The block must close every GDAL dataset it opened on the temporary paths before it ends.
    Several outputs that belong together (an image and its label) appear together or not at all.
    """
    temporaries = [_temporary_name(target) for target in targets]
    try:
        yield temporaries
        for temporary, target in zip(temporaries, targets):
            if not os.path.exists(temporary):
                raise LabelMigrationError(f"No output was produced for '{target}'.")
        for temporary, target in zip(temporaries, targets):
            _publish(temporary, target)
    except BaseException:
        for temporary in temporaries:
            _remove(temporary)
        raise


@contextmanager
def atomic_output(target: str) -> Iterator[str]:
    """One atomic output; see :func:`atomic_outputs`."""
    with atomic_outputs(target) as (temporary,):
        yield temporary
