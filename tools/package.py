"""Build the plugin zip (`make package`): labelmigration/<plugin files>, ready for "Install from ZIP".

The files are the checkout's files that git tracks or would track (untracked files that .gitignore does not
ignore count too, so a new module is packaged before it is committed), without the development tree: tests,
bench, training, demo, tools, CI, requirement files for development, Makefile, README. models/ (the bundled
cloud model and its card) and LICENSE go in. Translations: i18n/*.qm go in, not the .ts sources; a .ts
without an up-to-date .qm is compiled with lrelease first when lrelease is installed. The version is the one
in metadata.txt (`version=`), the single source: it is printed, and the About dialog reads it from there.
"""
import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from typing import Iterable, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = "labelmigration"
EXCLUDED_TOP = {"tests", "bench", "training", "demo", "tools", ".ci", ".github", ".gitlab-ci.yml", "demo-output",
                ".venv", ".venv-stac", "test-output", "training-output", ".pytest_cache", ".qgis-settings"}
EXCLUDED_FILES = {"Makefile", "pytest.ini", "requirements-dev.txt", "requirements-stac-server.txt",
                  "requirements-training.txt", ".gitignore", ".gitattributes", ".pre-commit-config.yaml",
                  "setup.cfg", "tox.ini", "README.md"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".zip", ".part", ".ts", ".aux.xml")
REQUIRED = ("metadata.txt", "__init__.py", "LICENSE", "icon.svg")


def metadata_version(root: str = ROOT) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    with open(os.path.join(root, "metadata.txt"), encoding="utf-8") as stream:
        parser.read_file(stream)
    return parser["general"]["version"]


def candidate_files(root: str = ROOT) -> List[str]:
    """Tracked files plus untracked, not ignored ones (git); every file but ignored folders without git."""
    try:
        output = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                check=True, capture_output=True).stdout
        names = {name for name in output.decode().split("\0") if name}
    except (OSError, subprocess.CalledProcessError):  # a source tree without git
        names = set()
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = [s for s in subfolders if s not in ("__pycache__", ".git")]
            relative = os.path.relpath(folder, root)
            names.update(os.path.normpath(os.path.join(relative, f)).replace(os.sep, "/") for f in files)
    return sorted(name for name in names if os.path.isfile(os.path.join(root, name)))  # not deleted ones


def included(name: str) -> bool:
    parts = name.split("/")
    if parts[0] in EXCLUDED_TOP or name in EXCLUDED_FILES or "__pycache__" in parts:
        return False
    if parts[0] == "i18n":
        return name.endswith(".qm")
    return not name.endswith(EXCLUDED_SUFFIXES)


def compile_translations(root: str = ROOT) -> List[str]:
    """lrelease i18n/*.ts whose .qm is missing or older; returns the .qm files written."""
    folder = os.path.join(root, "i18n")
    lrelease = shutil.which("lrelease") or shutil.which("lrelease-qt5") or shutil.which("lrelease-qt6")
    if not os.path.isdir(folder) or lrelease is None:
        return []
    written = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".ts"):
            continue
        source = os.path.join(folder, name)
        target = source[:-3] + ".qm"
        if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(source):
            continue
        subprocess.run([lrelease, "-silent", source, "-qm", target], check=True, capture_output=True)
        written.append(target)
    return written


def translation_files(root: str = ROOT) -> List[str]:
    folder = os.path.join(root, "i18n")
    if not os.path.isdir(folder):
        return []
    return sorted(f"i18n/{name}" for name in os.listdir(folder) if name.endswith(".qm"))


def plugin_files(root: str = ROOT) -> List[str]:
    names = set(filter(included, candidate_files(root)))
    names.update(translation_files(root))  # compiled translations, even where .gitignore ignores *.qm
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise SystemExit(f"cannot package: {', '.join(missing)} missing")
    return sorted(names)


def build(target: str, root: str = ROOT, names: Iterable[str] = ()) -> str:
    compile_translations(root)
    names = list(names) or plugin_files(root)
    temporary = target + ".part"
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(os.path.join(root, name), f"{PLUGIN}/{name}")
    os.replace(temporary, target)
    return target


if __name__ == "__main__":
    built = build(sys.argv[1] if len(sys.argv) > 1 else f"{PLUGIN}.zip")
    with zipfile.ZipFile(built) as archive:
        count = len(archive.namelist())
    print(f"Built {built}: {PLUGIN} {metadata_version()}, {count} files")
