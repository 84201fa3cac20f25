"""Which of the plugin's packages are installed, for the Python that QGIS runs (no QGIS imports).

``check`` finds installed versions with importlib.metadata (the plugin's own folder included) without
importing any package; ``import_probe_command`` tries an import in a separate Python on demand (a broken
native module can crash the process that imports it).
"""
import importlib.metadata
import os
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .plugin_requirements import Requirement, marker_applies, normalize, satisfies
from .plugin_site import search_path

OK, MISSING, TOO_OLD, BROKEN = "ok", "missing", "too old", "broken"


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
