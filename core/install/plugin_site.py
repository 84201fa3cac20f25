"""The plugin's own package folder, where the installer puts packages, and making what lands there
importable (no QGIS imports)."""
import importlib
import importlib.metadata
import os
import sys
from typing import Dict, Iterable, List, Optional, Tuple

from ..util.plugin_files import PLUGIN_DIR
from .plugin_requirements import normalize

SITE_DIR_VARIABLE = "LABELMIGRATION_SITE_DIR"  # overrides the target folder (tests, managed installs)


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


def search_path(site_dir: Optional[str] = None) -> List[str]:
    """sys.path with the plugin's folder first (it is first once activated)."""
    site_dir = site_dir or plugin_site_dir()
    return [site_dir] + [p for p in sys.path if p and os.path.normpath(p) != os.path.normpath(site_dir)]


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
