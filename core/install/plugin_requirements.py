"""The plugin's requirements file (requirements-plugin.txt) and the small subset of PEP 440 versions and
PEP 508 markers it needs (no QGIS imports).

Each line pins one package; its trailing comment says what the package is for, which versions work and
which line pulls it in. Packages QGIS ships (SHIPPED_WITH_QGIS) are refused: the plugin never installs them.
"""
import os
import re
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..util.plugin_files import REQUIREMENTS_FILE

# Packages QGIS itself ships or that carry their own build of its native libraries: never installed.
SHIPPED_WITH_QGIS = {
    "numpy": "QGIS ships numpy, and its binary modules (GDAL's included) are built against that version",
    "gdal": "QGIS ships GDAL; a second GDAL in one process crashes QGIS",
    "pyqt5": "QGIS ships PyQt, built for its own Qt",
    "pyqt6": "QGIS ships PyQt, built for its own Qt",
    "pyqt5-sip": "QGIS ships PyQt's sip, built for its own Qt",
    "pyqt6-sip": "QGIS ships PyQt's sip, built for its own Qt",
    "sip": "QGIS ships PyQt's sip, built for its own Qt",
    "qscintilla": "QGIS ships QScintilla, built for its own Qt",
    "pyqt5-qscintilla": "QGIS ships QScintilla, built for its own Qt",
    "qgis": "QGIS's Python bindings come with QGIS",
    "rasterio": "rasterio's wheels bundle another GDAL, which clashes with QGIS's in one process",
    "fiona": "fiona's wheels bundle another GDAL, which clashes with QGIS's in one process",
    "shapely": "shapely's wheels bundle another GEOS than QGIS's",
    "pyproj": "pyproj's wheels bundle another PROJ than QGIS's",
    "scipy": "scipy is built against a numpy version; QGIS's numpy must not change",
}


def normalize(name: str) -> str:
    """PEP 503 name: 'PyStac_Client' and 'pystac-client' are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ----- versions and specifiers (a small PEP 440 subset: enough for pinned, released versions) -----

_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?"
                      r"(?:[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+[\w.]+)?\s*$", re.I)
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(text: str) -> Tuple:
    """A sortable key; raises ValueError for what is not a version."""
    match = _VERSION.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a version")
    release, pre, pre_n, post, post_n, dev, dev_n = match.groups()
    numbers = [int(n) for n in release.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    # a release sorts after its pre-releases and dev releases, before its post releases
    pre_key = (_PRE[pre.lower()], int(pre_n or 0)) if pre else ((-1, 0) if dev and not post else (9, 0))
    post_key = int(post_n or 0) if post else -1
    dev_key = int(dev_n or 0) if dev else float("inf")
    return tuple(numbers), pre_key, post_key, dev_key


def _release(text: str) -> List[int]:
    return [int(n) for n in _VERSION.match(text).group(1).split(".")]


def satisfies(version: str, spec: str) -> bool:
    """Whether ``version`` meets every clause of ``spec`` ('>=1.2,<2', '==1.4.*', '~=2.1', '' = any)."""
    for clause in filter(None, (c.strip() for c in (spec or "").split(","))):
        match = re.match(r"^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$", clause)
        if not match:
            raise ValueError(f"'{clause}' is not a version specifier")
        op, wanted = match.groups()
        if op in ("==", "!=") and wanted.endswith(".*"):
            prefix = _release(wanted[:-2])
            equal = _release(version)[:len(prefix)] + [0] * max(0, len(prefix) - len(_release(version))) == prefix
            if equal != (op == "=="):
                return False
            continue
        if op == "===":
            if version != wanted:
                return False
            continue
        have, want = version_key(version), version_key(wanted)
        if op == "~=":
            prefix = _release(wanted)[:-1]
            if have < want or _release(version)[:len(prefix)] != prefix:
                return False
        elif not {"==": have == want, "!=": have != want, "<=": have <= want, ">=": have >= want,
                  "<": have < want, ">": have > want}[op]:
            return False
    return True


# ----- environment markers -----------------------------------------------------------------------

def marker_environment() -> Dict[str, str]:
    import platform
    return {"sys_platform": sys.platform, "platform_system": platform.system(), "os_name": os.name,
            "python_version": "%d.%d" % sys.version_info[:2],
            "python_full_version": "%d.%d.%d" % sys.version_info[:3],
            "platform_machine": platform.machine(), "implementation_name": sys.implementation.name}


def marker_applies(marker: str, environment: Optional[Dict[str, str]] = None) -> bool:
    """Evaluate a simple PEP 508 marker: ``var op "value"`` clauses joined by 'and'/'or'."""
    if not marker.strip():
        return True
    environment = environment or marker_environment()
    any_true = False
    for alternative in re.split(r"\s+or\s+", marker.strip()):
        results = []
        for clause in re.split(r"\s+and\s+", alternative.strip().strip("()")):
            match = re.match(r"""^\s*(\w+)\s*(==|!=|<=|>=|<|>|not in|in)\s*["']([^"']*)["']\s*$""", clause)
            if not match:
                raise ValueError(f"cannot evaluate the marker '{marker}'")
            name, op, value = match.groups()
            have = environment.get(name, "")
            if op in ("in", "not in"):
                results.append((have in value) == (op == "in"))
            elif name.endswith("version"):
                results.append(satisfies(have, f"{op}{value}"))
            else:
                results.append({"==": have == value, "!=": have != value}.get(op, False))
        any_true = any_true or all(results)
    return any_true


# ----- the requirements file ---------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    name: str                      # distribution name as written
    version: str                   # the pinned version
    marker: str = ""               # PEP 508 environment marker, '' when none
    kind: str = "dependency"       # 'required', 'optional' or 'dependency'
    import_name: str = ""          # the module the plugin imports (top-level lines)
    purpose: str = ""
    needs: str = ""                # versions that work; an installed one within it is kept
    via: Tuple[str, ...] = ()      # the lines that depend on this one
    also: Tuple[str, ...] = ()     # other distributions providing import_name
    index: str = ""                # an extra package index that serves this pin (PyTorch's CPU-only builds)

    @property
    def key(self) -> str:
        return normalize(self.name)

    @property
    def pin(self) -> str:
        """The pip requirement this line installs."""
        return f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")

    @property
    def top_level(self) -> bool:
        return self.kind != "dependency"


def parse_requirements(text: str) -> List[Requirement]:
    requirements = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = re.split(r"\s#", raw, maxsplit=1)  # pip's inline comment: whitespace then '#'
        requirement, comment = parts[0].strip(), (parts[1] if len(parts) > 1 else "")
        if not requirement or requirement.startswith("#"):
            continue
        spec, _, marker = requirement.partition(";")
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)$", spec.strip())
        if not match:
            raise ValueError(f"line {number}: '{requirement}' is not pinned as name==version")
        name, version = match.groups()
        values, kind = {}, "dependency"
        for item in filter(None, (part.strip() for part in comment.strip().split(";"))):
            if item in ("required", "optional"):
                kind = item
                continue
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"line {number}: cannot read '{item}' (expected key=value)")
            values[key.strip()] = value.strip()
        listed = lambda key: tuple(normalize(v) for v in values.get(key, "").split(",") if v.strip())  # noqa: E731
        top = kind != "dependency"
        requirements.append(Requirement(
            name=name, version=version, marker=marker.strip(), kind=kind,
            import_name=values.get("import", name.replace("-", "_") if top else ""),
            purpose=values.get("for", ""),
            needs=values.get("needs", f">={version}" if top else ""),
            via=listed("via"), also=listed("also"), index=values.get("index", "")))
        if requirements[-1].index and not requirements[-1].index.startswith("https://"):
            raise ValueError(f"line {number}: the index of '{name}' must be an https:// address")
        if top and requirements[-1].via:
            raise ValueError(f"line {number}: a {kind} package is not a dependency (via=)")
        if not top and not requirements[-1].via:
            raise ValueError(f"line {number}: '{name}' says neither required/optional nor via=")
    for requirement in requirements:
        if requirement.key in SHIPPED_WITH_QGIS:
            raise ValueError(f"'{requirement.name}' must not be installed by the plugin: "
                             f"{SHIPPED_WITH_QGIS[requirement.key]}")
    return requirements


def read_requirements(path: str = REQUIREMENTS_FILE) -> List[Requirement]:
    with open(path, encoding="utf-8") as handle:
        return parse_requirements(handle.read())
