"""Lazy imports of optional packages, so the plugin loads without them."""
import importlib
from types import ModuleType

from ..util.errors import MissingDependency
from .plugin_requirements import marker_applies, read_requirements

# Packages the plugin does not install for users (the Dask scale-out is for developers and clusters);
# their pins are those of requirements-dev.txt. Every other pin comes from requirements-plugin.txt.
DEVELOPER_PACKAGES = {
    "dask": "dask==2026.8.0",
    "distributed": "distributed==2026.8.0",
}


def _line_of(module_name: str):
    top = module_name.split(".")[0]
    try:
        for requirement in read_requirements():
            # a module may have a line per platform or Python (markers): the one for this Python
            if requirement.top_level and requirement.import_name == top and marker_applies(requirement.marker):
                return requirement
    except (OSError, ValueError):  # a damaged installation: still name the package
        pass
    return None


def pinned_requirement(module_name: str) -> str:
    """The pip requirement ('name==version') that provides an importable module."""
    requirement = _line_of(module_name)
    if requirement is not None:
        return f"{requirement.name}=={requirement.version}"
    top = module_name.split(".")[0]
    return DEVELOPER_PACKAGES.get(top, top)


def pip_arguments(module_name: str) -> str:
    """What to give 'pip install' for a module: the quoted pin, and the index that serves it where the file names
    one ('"torch==2.13.0+cpu" --extra-index-url https://download.pytorch.org/whl/cpu')."""
    requirement = _line_of(module_name)
    index = f" --extra-index-url {requirement.index}" if requirement is not None and requirement.index else ""
    return f'"{pinned_requirement(module_name)}"{index}'


def require(module_name: str, purpose: str) -> ModuleType:
    """Import an optional package or explain exactly what to install."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        requirement = pinned_requirement(module_name)
        raise MissingDependency(
            f"{purpose} needs the Python package '{requirement.split('==')[0]}', which is not "
            f"installed in the Python that QGIS runs ({error}). Install it from the menu Label Migration > "
            f"Python dependencies…, or with: python -m pip install {pip_arguments(module_name)}"
        ) from error
