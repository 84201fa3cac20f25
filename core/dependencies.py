"""Lazy imports of optional packages, so the plugin loads without them."""
import importlib
from types import ModuleType

from .errors import MissingDependency

# import name -> pip requirement a user should install
OPTIONAL_PACKAGES = {
    "onnxruntime": "onnxruntime==1.31.1",
    "sentinelsat": "sentinelsat==1.2.1",
    "pystac_client": "pystac-client==0.9.1",
    "planetary_computer": "planetary-computer==1.0.0",
    "blake3": "blake3==1.0.11",
    "dask": "dask==2026.8.0",
    "distributed": "distributed==2026.8.0",
}


def require(module_name: str, purpose: str) -> ModuleType:
    """Import an optional package or explain exactly what to install."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        requirement = OPTIONAL_PACKAGES.get(module_name, module_name)
        raise MissingDependency(
            f"{purpose} needs the Python package '{requirement.split('==')[0]}', which is not "
            f"installed in the Python that QGIS runs ({error}). Install it from the menu Label Migration > "
            f"Python dependencies…, or with: python -m pip install \"{requirement}\""
        ) from error
