"""Check and install the plugin's Python packages, for the Python that QGIS runs (no QGIS imports).

- ``read_requirements`` parses requirements-plugin.txt: pinned lines whose trailing comments say what
  each package is for, which versions work and which line pulls it in.
- ``check`` finds installed versions with importlib.metadata (the plugin's own folder included)
  without importing any package; ``import_probe_command`` tries an import in a separate Python on
  demand (a broken native module can crash the process that imports it).
- ``plan_install`` picks the lines to install: the chosen packages and their dependencies that are
  missing or too old, never a package QGIS ships. ``install_command`` builds the pip call.

Why ``--no-deps``: pip's ``--target`` implies ``--ignore-installed``, so letting pip resolve would
copy numpy (and whatever else onnxruntime depends on) into the target folder, shadowing QGIS's own
build; with a Python QGIS ships with another numpy ABI that breaks every binary module. The
requirements file therefore pins every dependency, and the plan leaves out what is already
satisfied. A constraints file pins the packages QGIS ships to their installed versions as a second
guard, should a requirement ever name one.
"""
import importlib
import importlib.metadata
import os
import re
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..util.plugin_files import PLUGIN_DIR, REQUIREMENTS_FILE

SITE_DIR_VARIABLE = "LABELMIGRATION_SITE_DIR"  # overrides the target folder (tests, managed installs)

OK, MISSING, TOO_OLD, BROKEN = "ok", "missing", "too old", "broken"

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
            via=listed("via"), also=listed("also")))
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


# ----- the plugin's own package folder -----------------------------------------------------------

def plugin_site_dir(plugin_dir: str = PLUGIN_DIR, environ: Optional[Dict[str, str]] = None,
                    version: Tuple[int, int] = sys.version_info[:2], platform: str = sys.platform,
                    home: Optional[str] = None) -> str:
    """Where the installer puts packages: beside the plugins of the QGIS profile, not inside the
    plugin folder (a plugin update replaces that folder, and Windows cannot delete a loaded .pyd
    while QGIS runs), one folder per Python version (a QGIS upgrade to a new Python then starts
    clean instead of loading binary modules built for the old one).

    ``<profile>/python/labelmigration-packages/python3.X`` when the plugin lies in
    ``<profile>/python/plugins/<name>``; else (a checkout) a per-user data folder.
    ``LABELMIGRATION_SITE_DIR`` replaces the parent folder.
    """
    environ = os.environ if environ is None else environ
    leaf = "python%d.%d" % version
    if environ.get(SITE_DIR_VARIABLE):
        return os.path.join(environ[SITE_DIR_VARIABLE], leaf)
    plugins = os.path.dirname(os.path.normpath(plugin_dir))
    if os.path.basename(plugins) == "plugins" and os.path.basename(os.path.dirname(plugins)) == "python":
        return os.path.join(os.path.dirname(plugins), "labelmigration-packages", leaf)
    home = home or os.path.expanduser("~")
    if platform.startswith("win"):
        base = environ.get("APPDATA") or os.path.join(home, "AppData", "Roaming")
    elif platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "labelmigration", "packages", leaf)


def activate_plugin_site(site_dir: Optional[str] = None) -> None:
    """Put the plugin's package folder first on sys.path, so what the installer put there is
    imported (also in this session, for modules not imported yet). It goes first because the
    installer only puts packages there that the rest of the path lacks or has too old."""
    site_dir = os.path.normpath(site_dir or plugin_site_dir())
    if site_dir not in (os.path.normpath(p) for p in sys.path if p):
        sys.path.insert(0, site_dir)
    importlib.invalidate_caches()


# ----- what is installed -------------------------------------------------------------------------

@dataclass
class Status:
    requirement: Requirement
    state: str                   # OK, MISSING, TOO_OLD or BROKEN
    installed: str = ""          # the installed version, '' when missing
    distribution: str = ""       # the distribution found (may be one of requirement.also)
    location: str = ""           # the sys.path entry it was found in
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.state == OK


def installed_distributions(paths: Sequence[str]) -> Dict[str, Tuple[str, str]]:
    """normalized name -> (version, path entry) of the first distribution of each name on ``paths``
    (the one Python would import), from metadata files only."""
    found: Dict[str, Tuple[str, str]] = {}
    for entry in paths:
        if not entry or not os.path.isdir(entry):
            continue
        for dist in importlib.metadata.distributions(path=[entry]):
            name = dist.metadata["Name"] if dist.metadata else None
            if name and normalize(name) not in found:
                found[normalize(name)] = (dist.version, entry)
    return found


def search_path(site_dir: Optional[str] = None) -> List[str]:
    """sys.path with the plugin's folder first (it is first once activated)."""
    site_dir = site_dir or plugin_site_dir()
    return [site_dir] + [p for p in sys.path if p and os.path.normpath(p) != os.path.normpath(site_dir)]


def check(requirements: Iterable[Requirement], paths: Optional[Sequence[str]] = None,
          environment: Optional[Dict[str, str]] = None) -> List[Status]:
    """The status of every requirement that applies to this platform, without importing anything."""
    installed = installed_distributions(search_path() if paths is None else paths)
    statuses = []
    for requirement in requirements:
        if not marker_applies(requirement.marker, environment):
            continue
        name = next((n for n in (requirement.key,) + requirement.also if n in installed), None)
        if name is None:
            statuses.append(Status(requirement, MISSING, message="not installed"))
            continue
        version, location = installed[name]
        try:
            good = satisfies(version, requirement.needs)
        except ValueError:  # a version pip would not write, from a distribution packager
            good = False
        state = OK if good else TOO_OLD
        message = "" if good else f"{version} installed, {requirement.needs} needed"
        statuses.append(Status(requirement, state, version, name, location, message))
    return statuses


def import_probe_command(python: str, import_name: str) -> List[str]:
    """Import a module in another Python and print its version; run with ``probe_environment``."""
    code = (f"import importlib; m = importlib.import_module({import_name!r}); "
            "print(getattr(m, '__version__', 'imported'))")
    return [python, "-c", code]


def probe_environment(site_dir: str, environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    environ = dict(os.environ if environ is None else environ)
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (site_dir, environ.get("PYTHONPATH", "")) if p)
    return environ


def mark_broken(status: Status, error: str) -> Status:
    """The status of an installed package whose import failed (``error``: the last line of it)."""
    status.state, status.message = BROKEN, f"import fails: {error.strip()[-300:]}"
    return status


# ----- what to install ---------------------------------------------------------------------------

class InstallRefused(ValueError):
    """The plan would touch a package QGIS ships."""


def plan_install(statuses: Sequence[Status], chosen: Iterable[str]) -> List[Requirement]:
    """The chosen top-level packages that are not OK, and their dependencies (followed through
    ``via``) that are missing or too old, in file order."""
    by_key = {s.requirement.key: s for s in statuses}
    for name in chosen:
        if normalize(name) in SHIPPED_WITH_QGIS:
            raise InstallRefused(f"'{name}' is not installed by the plugin: {SHIPPED_WITH_QGIS[normalize(name)]}.")
    closure = {normalize(n) for n in chosen if normalize(n) in by_key and not by_key[normalize(n)].ok}
    grew = True
    while grew:
        grew = False
        for status in statuses:
            key = status.requirement.key
            if key not in closure and not status.ok and set(status.requirement.via) & closure:
                closure.add(key)
                grew = True
    plan = [s.requirement for s in statuses if s.requirement.key in closure]
    for requirement in plan:
        if requirement.key in SHIPPED_WITH_QGIS:
            raise InstallRefused(f"'{requirement.name}' is not installed by the plugin: "
                                 f"{SHIPPED_WITH_QGIS[requirement.key]}.")
    return plan


def shipped_constraints(paths: Optional[Sequence[str]] = None) -> List[str]:
    """'numpy==1.24.2'-style pins of the shipped packages present, for pip's -c."""
    installed = installed_distributions(list(sys.path) if paths is None else paths)
    pins = []
    for name in sorted(SHIPPED_WITH_QGIS):
        if name in installed:
            version = installed[name][0]
            try:
                version_key(version)
            except ValueError:
                continue  # pip would reject the constraints file
            pins.append(f"{name}=={version}")
    return pins


def write_install_files(folder: str, plan: Sequence[Requirement], constraints: Sequence[str]) -> Tuple[str, str]:
    """The requirements and constraints files of one install, in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    requirements_path = os.path.join(folder, "install-requirements.txt")
    constraints_path = os.path.join(folder, "constraints.txt")
    with open(requirements_path, "w", encoding="utf-8") as handle:
        handle.write("# generated from requirements-plugin.txt: what this Python lacks\n")
        handle.writelines(f"{r.pin}\n" for r in plan)
    with open(constraints_path, "w", encoding="utf-8") as handle:
        handle.write("# packages QGIS ships, pinned to the installed versions\n")
        handle.writelines(f"{c}\n" for c in constraints)
    return requirements_path, constraints_path


# ----- the Python that QGIS runs, and the pip command --------------------------------------------

def python_executable(executable: str = sys.executable, prefix: str = sys.prefix,
                      version: Tuple[int, int] = sys.version_info[:2], platform: str = sys.platform,
                      exists: Callable[[str], bool] = os.path.isfile) -> str:
    """The Python interpreter of the running QGIS, to run pip with.

    Inside QGIS ``sys.executable`` is the interpreter on Linux (/usr/bin/python3) but the QGIS
    binary itself on Windows (…/bin/qgis-bin.exe, qgis-ltr-bin.exe) and macOS
    (QGIS.app/Contents/MacOS/QGIS); running that with '-m pip' would start another QGIS. So:
    1. ``sys.executable`` when its name is python*;
    2. on Windows ``sys.prefix`` (OSGeo4W and the standalone installer: <root>/apps/Python3X) holds
       python.exe; <root>/bin/python3.exe is OSGeo4W's wrapper, tried next;
    3. elsewhere <prefix>/bin/python3.X, python3, python (macOS: prefix is the bundled
       Python.framework/Versions/3.X; older bundles: Contents/MacOS/bin/python3 beside the binary).
    The first that exists wins; a name with the version comes before the bare one, so a Python of
    another version on the same path is not picked.
    """
    windows = platform.startswith("win")
    join = (lambda *parts: "\\".join(p.rstrip("\\/") for p in parts)) if windows else os.path.join  # noqa: E731
    base = re.split(r"[\\/]", executable)[-1].lower()
    if re.match(r"^python(\d+(\.\d+)?)?(w)?(\.exe)?$", base) and exists(executable):
        return executable
    folder = re.sub(r"[\\/][^\\/]*$", "", executable)
    major_minor = "%d.%d" % version
    if windows:
        candidates = [join(prefix, "python.exe"), join(prefix, "python3.exe"),
                      join(folder, "python3.exe"), join(folder, "python.exe")]
    else:
        candidates = []
        for root in (join(prefix, "bin"), join(folder, "bin"), folder):
            candidates += [join(root, f"python{major_minor}"), join(root, "python3"), join(root, "python")]
    for candidate in candidates:
        if exists(candidate):
            return candidate
    raise FileNotFoundError(
        f"Cannot find the Python that QGIS runs (sys.executable is '{executable}', sys.prefix is "
        f"'{prefix}'; looked for {', '.join(candidates)}). Install the packages from requirements-plugin.txt "
        "with that Python's pip yourself.")


def install_command(python: str, requirements_path: str, target: Optional[str] = None,
                    constraints_path: Optional[str] = None, user: bool = False) -> List[str]:
    """``python -m pip install`` of a generated requirements file into ``target`` (or --user)."""
    if user == bool(target):
        raise ValueError("install either into a target folder or with --user")
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", "--no-warn-script-location", "--prefer-binary", "--no-deps"]
    if user:
        command += ["--user"]
    else:
        # --upgrade replaces an older copy in the folder instead of warning and skipping it
        command += ["--upgrade", "--target", target]
    if constraints_path:
        command += ["-c", constraints_path]
    return command + ["-r", requirements_path]


def pip_check_command(python: str) -> List[str]:
    """``pip check`` (run with ``probe_environment``): lists dependencies the installed set lacks."""
    return [python, "-m", "pip", "check", "--disable-pip-version-check"]


# ----- after an install --------------------------------------------------------------------------

def top_level_modules(site_dir: str, names: Iterable[str]) -> Dict[str, List[str]]:
    """distribution -> the top-level modules it installed into ``site_dir`` (from its RECORD)."""
    wanted = {normalize(n) for n in names}
    modules: Dict[str, List[str]] = {}
    if not os.path.isdir(site_dir):
        return modules
    for dist in importlib.metadata.distributions(path=[site_dir]):
        name = normalize(dist.metadata["Name"] or "")
        if name not in wanted:
            continue
        tops = set()
        for path in dist.files or []:
            first = path.parts[0]
            if first.endswith((".dist-info", ".egg-info", ".data")) or first in ("..", "bin", "Scripts"):
                continue
            top = first.split(".")[0] if len(path.parts) == 1 else first
            if top and not top.startswith("__"):
                tops.add(top)
        modules[name] = sorted(tops)
    return modules


def needs_restart(site_dir: str, installed: Iterable[str], loaded: Optional[Iterable[str]] = None) -> List[str]:
    """The installed distributions a module of which this session has already imported: their new
    version only takes effect after restarting QGIS."""
    loaded = set(sys.modules if loaded is None else loaded)
    return sorted(name for name, tops in top_level_modules(site_dir, installed).items()
                  if any(top in loaded for top in tops))


def refresh_imports(site_dir: Optional[str] = None) -> None:
    """Make packages just installed importable now."""
    activate_plugin_site(site_dir)
    importlib.invalidate_caches()


def pip_failure_hint(log: str) -> str:
    """A sentence for the commonest ways a pip run fails inside QGIS, '' when none is recognised."""
    lowered = log.lower()
    hints = [
        ("no module named pip", "This Python has no pip. On Linux install your distribution's python3-pip "
                                "package; elsewhere run '<python> -m ensurepip --user' once."),
        ("externally-managed-environment", "This Python refuses --user installs (PEP 668); install into "
                                           "the plugin's folder instead."),
        ("could not find a version that satisfies", "The registry has no build of a package for this Python "
                                                    "and platform; see the log for which."),
        ("connection", "The package registry could not be reached; check the network or proxy "
                       "(pip reads HTTPS_PROXY)."),
        ("permission denied", "The folder is not writable; choose the other install location."),
        ("access is denied", "A file is in use (a module already loaded in QGIS?): restart QGIS and "
                             "install before using the algorithms."),
    ]
    return next((hint for needle, hint in hints if needle in lowered), "")
