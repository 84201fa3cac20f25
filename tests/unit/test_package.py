"""make package: the plugin zip holds the plugin and nothing of the development tree."""
import subprocess
import sys
import zipfile


def test_package_contents(repo_root, tmp_path):
    target = tmp_path / "labelmigration.zip"
    subprocess.run([sys.executable, str(repo_root / "tools" / "package.py"), str(target)], check=True,
                   capture_output=True)
    names = zipfile.ZipFile(target).namelist()
    assert all(name.startswith("labelmigration/") for name in names)
    for required in ("metadata.txt", "__init__.py", "plugin.py", "icon.svg", "core/crop.py",
                     "processing/provider.py", "ui/menu.py"):
        assert f"labelmigration/{required}" in names
    top_level = {name.split("/")[1] for name in names}
    assert not top_level & {"tests", "bench", "training", ".ci", "demo", "tools", "Makefile", "README.md"}
