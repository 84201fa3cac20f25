"""Whether what arrived fits the target: a text answer (an HTML login page) for a binary file is refused, and
a .zip must start with PK, a .tif with a TIFF header, a .jp2 with the JPEG 2000 signature."""
import os
from typing import Optional

from ..util.errors import LabelMigrationError

HEAD_BYTES = 16  # the first bytes kept to check a file's signature
_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
SIGNATURES = {  # target suffix -> (what it is, the signatures it may start with)
    ".zip": ("a zip archive", (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")),
    ".tif": ("a TIFF image", _TIFF),
    ".tiff": ("a TIFF image", _TIFF),
    ".jp2": ("a JPEG 2000 image", (b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")),
}


class WrongContent(LabelMigrationError):
    """The server sent something other than the file asked for (an HTML page instead of a zip)."""


def _suffix(target: str) -> str:
    return os.path.splitext(target)[1].lower()


def _described(head: bytes) -> str:
    text = head.lstrip().lower()
    if not head:
        return "an empty file"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if text.startswith(b"<"):
        return "an XML or HTML document"
    if text.startswith((b"{", b"[")):
        return "JSON text"
    return "bytes " + head[:8].hex(" ")


def check_content_type(shown: str, target: str, content_type: Optional[str]) -> None:
    """Refuse a text answer (HTML, JSON, XML, plain text) for a binary target (.zip, .tif, .jp2)."""
    if _suffix(target) not in SIGNATURES or not content_type:
        return
    kind = content_type.split(";")[0].strip().lower()
    textual = (kind.startswith("text/") or kind in ("application/json", "application/xml")
               or kind.endswith(("+json", "+xml")))
    if textual:
        raise _wrong(shown, target, "an HTML page" if "html" in kind else f"'{kind}' text")


def check_signature(shown: str, target: str, head: bytes, complete: bool = True) -> None:
    """Refuse a file whose first bytes are not those of its kind (by the target's suffix); while
    the file is incomplete (complete false), a head that may still become a signature passes."""
    expected = SIGNATURES.get(_suffix(target))
    if expected is None or head.startswith(expected[1]):
        return
    if not complete and any(signature.startswith(head) for signature in expected[1]):
        return
    raise _wrong(shown, target, _described(head))


def _wrong(shown: str, target: str, came: str) -> WrongContent:
    return WrongContent(
        f"{shown} sent {came} instead of {SIGNATURES[_suffix(target)][0]} for '{os.path.basename(target)}'; "
        f"nothing was kept. The address may lead to a login or error page: check the scene's URL and the "
        f"credentials.")
