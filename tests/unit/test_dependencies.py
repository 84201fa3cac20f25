"""Optional packages are imported lazily, and a missing one names the exact install command."""
import subprocess
import sys
import textwrap

import pytest

from labelmigration.core.install.dependencies import require
from labelmigration.core.util.errors import MissingDependency


def test_missing_package_says_what_to_install():
    with pytest.raises(MissingDependency, match=r'pip install "onnxruntime==1\.31\.1"'):
        require_blocked("onnxruntime")


def test_missing_torch_names_the_cpu_only_build_and_its_index():
    """requirements-plugin.txt pins PyTorch's CPU-only build, which only PyTorch's CPU index serves (the address
    PyTorch's install selector gives for CPU-only pip installs)."""
    with pytest.raises(MissingDependency, match=r'pip install "torch==2\.13\.0\+cpu" --extra-index-url '
                                                r'https://download\.pytorch\.org/whl/cpu$'):
        require_blocked("torch")


def require_blocked(name):
    saved = sys.modules.get(name, False)
    sys.modules[name] = None  # makes 'import name' raise ImportError
    try:
        return require(name, "Cloud masking")
    finally:
        if saved is False:
            del sys.modules[name]
        else:
            sys.modules[name] = saved


def test_present_package_is_returned():
    assert require("json", "Testing").dumps([1]) == "[1]"


def test_plugin_imports_without_optional_packages(repo_root, tmp_path):
    """Load the plugin and its provider with onnxruntime, sentinelsat, pystac_client, torch and onnx unavailable:
    trainsegmentation is listed, so nothing the plugin imports on loading imports PyTorch."""
    (tmp_path / "labelmigration").symlink_to(repo_root)
    script = textwrap.dedent(f"""
        import sys
        for name in ("onnxruntime", "sentinelsat", "pystac_client", "torch", "onnx"):
            sys.modules[name] = None
        sys.path.insert(0, {str(tmp_path)!r})
        from qgis.core import QgsApplication
        QgsApplication.setPrefixPath("/usr", True)
        app = QgsApplication([], False)
        app.initQgis()
        import labelmigration
        from labelmigration.processing.provider import LabelMigrationProvider
        provider = LabelMigrationProvider()
        QgsApplication.processingRegistry().addProvider(provider)
        print(sorted(a.name() for a in provider.algorithms()))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "cropscene" in result.stdout and "trainsegmentation" in result.stdout
