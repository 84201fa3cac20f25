"""Link installed Python packages (and their *.dist-info) into one folder for QGIS's PYTHONPATH.

    .venv/bin/python tools/link_packages.py FOLDER onnxruntime [more import names]

QGIS runs the system Python, which does not see the project's .venv; `make demo-gui` puts this folder
on QGIS's PYTHONPATH so the demo's cloud masks and dependency check find onnxruntime, as they would
after the plugin's own installer ran. The folder holds links only, so it never shadows QGIS's numpy.
"""
import importlib.metadata
import importlib.util
import sys
from pathlib import Path


def link(folder: Path, module: str) -> None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"'{module}' is not installed in {sys.executable} (run make setup)")
    _replace_link(folder / module, Path(list(spec.submodule_search_locations)[0]))
    for name in importlib.metadata.packages_distributions().get(module, []):
        path = getattr(importlib.metadata.distribution(name), "_path", None)
        if path is not None and Path(path).is_dir():
            _replace_link(folder / Path(path).name, Path(path))


def _replace_link(link_path: Path, target: Path) -> None:
    if link_path.is_symlink() or link_path.exists():
        link_path.unlink()
    link_path.symlink_to(target, target_is_directory=True)


def main(argv) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    for module in argv[1:]:
        link(folder, module)
    print(f"linked {', '.join(argv[1:])} into {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
