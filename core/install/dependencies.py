"""Lazy imports of optional packages, so the plugin loads without them."""
import importlib
from types import ModuleType

from ..util.errors import MissingDependency
from .plugin_requirements import read_requirements

# Packages the plugin does not install for users (the Dask scale-out is for developers and clusters);
# their pins are those of requirements-dev.txt. Every other pin comes from requirements-plugin.txt.
DEVELOPER_PACKAGES = {
    "dask": "dask==2026.8.0",
    "distributed": "distributed==2026.8.0",
}


def pinned_requirement(module_name: str) -> str:
    """The pip requirement ('name==version') that provides an importable module."""
    top = module_name.split(".")[0]
    try:
        for requirement in read_requirements():
            if requirement.top_level and requirement.import_name == top:
                return f"{requirement.name}=={requirement.version}"
    except (OSError, ValueError):  # a damaged installation: still name the package
        pass
    return DEVELOPER_PACKAGES.get(top, top)


def require(module_name: str, purpose: str) -> ModuleType:
    """Import an optional package or explain exactly what to install."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        requirement = pinned_requirement(module_name)
        raise MissingDependency(
            f"{purpose} needs the Python package '{requirement.split('==')[0]}', which is not "
            f"installed in the Python that QGIS runs ({error}). Install it from the menu Label Migration > "
            f"Python dependencies…, or with: python -m pip install \"{requirement}\""
        ) from error
