"""What to install and the pip run that installs it, into the Python that QGIS runs (no QGIS imports).

``plan_install`` picks the lines to install: the chosen packages and their dependencies that are missing
or too old, never a package QGIS ships. ``install_command`` builds the pip call.

Why ``--no-deps``: pip's ``--target`` implies ``--ignore-installed``, so letting pip resolve would
copy numpy (and whatever else onnxruntime depends on) into the target folder, shadowing QGIS's own
build; with a Python QGIS ships with another numpy ABI that breaks every binary module. The
requirements file therefore pins every dependency, and the plan leaves out what is already
satisfied. A constraints file pins the packages QGIS ships to their installed versions as a second
guard, should a requirement ever name one.
"""
import os
import re
import sys
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from .package_status import Status, installed_distributions
from .plugin_requirements import SHIPPED_WITH_QGIS, Requirement, normalize, version_key


class InstallRefused(ValueError):
    """The plan would touch a package QGIS ships."""


def plan_install(statuses: Sequence[Status], chosen: Iterable[str]) -> List[Requirement]:
    """The chosen top-level packages that are not OK, and their dependencies (followed through
    ``via``) that are missing or too old, in file order."""
    by_key = {s.requirement.key: s for s in statuses}
    for name in chosen:
        if normalize(name) in SHIPPED_WITH_QGIS:
            raise InstallRefused(f"'{name}' is not installed by the plugin: {SHIPPED_WITH_QGIS[normalize(name)]}.")
    closure = {normalize(n) for n in chosen if normalize(n) in by_key and not by_key[normalize(n)].ok}
    grew = True
    while grew:
        grew = False
        for status in statuses:
            key = status.requirement.key
            if key not in closure and not status.ok and set(status.requirement.via) & closure:
                closure.add(key)
                grew = True
    plan = [s.requirement for s in statuses if s.requirement.key in closure]
    for requirement in plan:
        if requirement.key in SHIPPED_WITH_QGIS:
            raise InstallRefused(f"'{requirement.name}' is not installed by the plugin: "
                                 f"{SHIPPED_WITH_QGIS[requirement.key]}.")
    return plan


def shipped_constraints(paths: Optional[Sequence[str]] = None) -> List[str]:
    """'numpy==1.24.2'-style pins of the shipped packages present, for pip's -c."""
    installed = installed_distributions(list(sys.path) if paths is None else paths)
    pins = []
    for name in sorted(SHIPPED_WITH_QGIS):
        if name in installed:
            version = installed[name][0]
            try:
                version_key(version)
            except ValueError:
                continue  # pip would reject the constraints file
            pins.append(f"{name}=={version}")
    return pins


def write_install_files(folder: str, plan: Sequence[Requirement], constraints: Sequence[str]) -> Tuple[str, str]:
    """The requirements and constraints files of one install, in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    requirements_path = os.path.join(folder, "install-requirements.txt")
    constraints_path = os.path.join(folder, "constraints.txt")
    with open(requirements_path, "w", encoding="utf-8") as handle:
        handle.write("# generated from requirements-plugin.txt: what this Python lacks\n")
        # pip reads index options in a requirements file; e.g. PyTorch's CPU-only builds (torch==X+cpu) are
        # only on PyTorch's index, the other pins come from the default one
        for index in dict.fromkeys(r.index for r in plan if r.index):
            handle.write(f"--extra-index-url {index}\n")
        handle.writelines(f"{r.pin}\n" for r in plan)
    with open(constraints_path, "w", encoding="utf-8") as handle:
        handle.write("# packages QGIS ships, pinned to the installed versions\n")
        handle.writelines(f"{c}\n" for c in constraints)
    return requirements_path, constraints_path


# ----- the Python that QGIS runs, and the pip command --------------------------------------------

def python_executable(executable: str = sys.executable, prefix: str = sys.prefix,
                      version: Tuple[int, int] = sys.version_info[:2], platform: str = sys.platform,
                      exists: Callable[[str], bool] = os.path.isfile) -> str:
    """The Python interpreter of the running QGIS, to run pip with.

    Inside QGIS ``sys.executable`` is the interpreter on Linux (/usr/bin/python3) but the QGIS
    binary itself on Windows (…/bin/qgis-bin.exe, qgis-ltr-bin.exe) and macOS
    (QGIS.app/Contents/MacOS/QGIS); running that with '-m pip' would start another QGIS. So:
    1. ``sys.executable`` when its name is python*;
    2. on Windows ``sys.prefix`` (OSGeo4W and the standalone installer: <root>/apps/Python3X) holds
       python.exe; <root>/bin/python3.exe is OSGeo4W's wrapper, tried next;
    3. elsewhere <prefix>/bin/python3.X, python3, python (macOS: prefix is the bundled
       Python.framework/Versions/3.X; older bundles: Contents/MacOS/bin/python3 beside the binary).
    The first that exists wins; a name with the version comes before the bare one, so a Python of
    another version on the same path is not picked.
    """
    windows = platform.startswith("win")
    join = (lambda *parts: "\\".join(p.rstrip("\\/") for p in parts)) if windows else os.path.join  # noqa: E731
    base = re.split(r"[\\/]", executable)[-1].lower()
    if re.match(r"^python(\d+(\.\d+)?)?(w)?(\.exe)?$", base) and exists(executable):
        return executable
    folder = re.sub(r"[\\/][^\\/]*$", "", executable)
    major_minor = "%d.%d" % version
    if windows:
        candidates = [join(prefix, "python.exe"), join(prefix, "python3.exe"),
                      join(folder, "python3.exe"), join(folder, "python.exe")]
    else:
        candidates = []
        for root in (join(prefix, "bin"), join(folder, "bin"), folder):
            candidates += [join(root, f"python{major_minor}"), join(root, "python3"), join(root, "python")]
    for candidate in candidates:
        if exists(candidate):
            return candidate
    raise FileNotFoundError(
        f"Cannot find the Python that QGIS runs (sys.executable is '{executable}', sys.prefix is "
        f"'{prefix}'; looked for {', '.join(candidates)}). Install the packages from requirements-plugin.txt "
        "with that Python's pip yourself.")


def install_command(python: str, requirements_path: str, target: Optional[str] = None,
                    constraints_path: Optional[str] = None, user: bool = False) -> List[str]:
    """``python -m pip install`` of a generated requirements file into ``target`` (or --user)."""
    if user == bool(target):
        raise ValueError("install either into a target folder or with --user")
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", "--no-warn-script-location", "--prefer-binary", "--no-deps"]
    if user:
        command += ["--user"]
    else:
        # --upgrade replaces an older copy in the folder instead of warning and skipping it
        command += ["--upgrade", "--target", target]
    if constraints_path:
        command += ["-c", constraints_path]
    return command + ["-r", requirements_path]


def pip_check_command(python: str) -> List[str]:
    """``pip check`` (run with ``probe_environment``): lists dependencies the installed set lacks."""
    return [python, "-m", "pip", "check", "--disable-pip-version-check"]


def pip_failure_hint(log: str) -> str:
    """A sentence for the commonest ways a pip run fails inside QGIS, '' when none is recognised."""
    lowered = log.lower()
    hints = [
        ("no module named pip", "This Python has no pip. On Linux install your distribution's python3-pip "
                                "package; elsewhere run '<python> -m ensurepip --user' once."),
        ("externally-managed-environment", "This Python refuses --user installs (PEP 668); install into "
                                           "the plugin's folder instead."),
        ("could not find a version that satisfies", "The registry has no build of a package for this Python "
                                                    "and platform; see the log for which."),
        ("connection", "The package registry could not be reached; check the network or proxy "
                       "(pip reads HTTPS_PROXY)."),
        ("permission denied", "The folder is not writable; choose the other install location."),
        ("access is denied", "A file is in use (a module already loaded in QGIS?): restart QGIS and "
                             "install before using the algorithms."),
    ]
    return next((hint for needle, hint in hints if needle in lowered), "")
