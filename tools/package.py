"""Build the plugin zip: the plugin folder without tests, bench, training, demo, tools or CI files."""
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = "labelmigration"
EXCLUDED_TOP = {"tests", "bench", "training", "demo", "tools", ".ci", ".github", "demo-output", ".venv",
                ".venv-stac"}
EXCLUDED_FILES = {"Makefile", "pytest.ini", "requirements-dev.txt", "requirements-stac-server.txt",
                  "requirements-training.txt", ".gitignore",
                  "README.md"}


def tracked_files():
    output = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name for name in output.decode().split("\0") if name]


def included(name: str) -> bool:
    top = name.split("/", 1)[0]
    if top in EXCLUDED_TOP or name in EXCLUDED_FILES:
        return False
    return not name.endswith((".pyc", ".zip"))


def build(target: str) -> str:
    temporary = target + ".part"
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(filter(included, tracked_files())):
            archive.write(os.path.join(ROOT, name), f"{PLUGIN}/{name}")
    os.replace(temporary, target)
    return target


if __name__ == "__main__":
    print("Built", build(sys.argv[1] if len(sys.argv) > 1 else f"{PLUGIN}.zip"))
