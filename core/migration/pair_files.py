"""The names of what a run writes per label: the pair's image and label, its cloud mask, a downloaded product."""
import hashlib
from typing import Tuple

from ..util.paths import MAX_NAME_LENGTH, path_inside, safe_file_name


def pair_stem(name: str) -> str:
    """The file name (without extension) of a label's pair, mask and thumbnails: the label's name when
    it can be a file name as it is, else its sanitised form (core.util.paths.safe_file_name) with a short
    hash of the name, so that two names that sanitise alike never share a file."""
    return distinct_file_name(name, "label")


def distinct_file_name(text: str, fallback: str) -> str:
    """text as a safe file name; with a short hash of text appended when it had to change."""
    name = safe_file_name(text, fallback, MAX_NAME_LENGTH - 14)
    if name != text:
        digest = hashlib.sha1(text.encode("utf-8", "surrogateescape"), usedforsecurity=False)  # a name, no security
        name = f"{name}-{digest.hexdigest()[:8]}"
    return name


def pair_paths(output_folder: str, name: str) -> Tuple[str, str]:
    """The image and label files of a label's pair (refused when a link would lead them outside
    output_folder)."""
    stem = pair_stem(name)
    return (path_inside(output_folder, "images", f"{stem}.tif"),
            path_inside(output_folder, "labels", f"{stem}.tif"))


def mask_path(output_folder: str, name: str) -> str:
    """The cloud mask of a label's pair (written when cloud masks are on)."""
    return path_inside(output_folder, "masks", f"{pair_stem(name)}.tif")


def download_name(title: str) -> str:
    """The file name of a downloaded product: its catalogue title as a safe file name (with a short
    hash of the title when it had to change, so that two titles never share a file)."""
    title = title[:-5] if title.upper().endswith(".SAFE") else title
    return distinct_file_name(title, "product") + ".zip"
