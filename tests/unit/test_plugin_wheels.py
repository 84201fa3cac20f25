"""Every pin of requirements-plugin.txt has a wheel for every (Python, platform) pair the plugin promises.

The plugin's installer runs ``pip install --no-deps --prefer-binary`` on the pins of
requirements-plugin.txt in the Python that QGIS runs, and QGIS users have no compiler: a pin with no
wheel for their Python and platform falls back to building its sdist, which fails (or has no sdist).

The expected answers come from the package registry itself: the test fetches PyPI's file listing of
every pinned project once (the PEP 691 JSON simple API pip reads too) and, for each pair in ``TARGETS``,
evaluates the pinned version's wheels the way ``pip download --only-binary=:all: --no-deps
--implementation cp --python-version X.Y --abi cpXY --platform ...`` does: the wheel's tags against the
tags pip derives for that pair (with ``packaging``, the library pip vendors for it), and the file's
Requires-Python against X.Y. Only the pins whose environment marker applies to a pair are checked
there (markers evaluated by core/install/plugin_requirements.py for that pair, not for this machine).

Why not run pip itself per pair: pip (23.x) ``install --dry-run`` and ``download`` fetch every chosen
wheel in full, ukis-csmask's is 145 MB, so seven pairs moved over 1 GB and took ~40 s of two CPUs;
the listings are ~15 MB in all and the whole check takes a few seconds.

The test needs the registry (it is marked ``registry``: deselect it with ``-m "not registry"``); when
PyPI cannot be reached it fails, since CI is promised registry access. The marker filtering and the
tag lists are tested without the network.
"""
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import pytest

try:
    from packaging.specifiers import SpecifierSet
    from packaging.tags import compatible_tags, cpython_tags
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version
except ImportError:  # pragma: no cover - pytest depends on packaging; pip vendors the same library
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.tags import compatible_tags, cpython_tags
    from pip._vendor.packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from pip._vendor.packaging.version import InvalidVersion, Version

from labelmigration.core.install import plugin_requirements


INDEX_URL = "https://pypi.org/simple"   # the registry; pip's local configuration (mirrors, find-links) plays no part
HTTP_TIMEOUT_S = 30
PARALLEL_REQUESTS = 8


def macos_platforms(arch: str, newest: int) -> Tuple[str, ...]:
    """The wheel platform tags a Mac with macOS ``newest`` (11+) on ``arch`` installs, newest first
    (what packaging.tags.mac_platforms gives, listed here so the promise reads in one place)."""
    tags = [f"macosx_{major}_0_{arch}" for major in range(newest, 10, -1)]
    if arch == "x86_64":
        tags += [f"macosx_10_{minor}_x86_64" for minor in range(16, 3, -1)]
    tags += [f"macosx_{major}_0_universal2" for major in range(newest, 10, -1)]
    tags += [f"macosx_10_{minor}_universal2" for minor in range(16, 3, -1)]
    return tuple(tags)


def manylinux_platforms(arch: str, glibc_minor: int) -> Tuple[str, ...]:
    """The manylinux tags a Linux with glibc 2.``glibc_minor`` on ``arch`` installs, newest first,
    with the legacy aliases (manylinux2014 = 2_17, manylinux2010 = 2_12, manylinux1 = 2_5)."""
    oldest = 5 if arch in ("x86_64", "i686") else 17
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, oldest - 1, -1)]
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{alias}_{arch}" for minor, alias in aliases.items() if oldest <= minor <= glibc_minor]
    return tuple(tags)


@dataclass(frozen=True)
class Target:
    """A (Python, platform) pair the plugin promises."""
    name: str
    python: str                   # 'X.Y', CPython
    system: str                   # platform.system() there: Windows, Linux, Darwin
    machine: str                  # platform.machine() there
    platforms: Tuple[str, ...]    # the wheel platform tags that Python installs

    def marker_environment(self) -> Dict[str, str]:
        """The PEP 508 marker variables of that Python, for plugin_requirements.marker_applies."""
        sys_platform = {"Windows": "win32", "Linux": "linux", "Darwin": "darwin"}[self.system]
        return {"sys_platform": sys_platform, "platform_system": self.system,
                "os_name": "nt" if self.system == "Windows" else "posix",
                "python_version": self.python, "python_full_version": self.python + ".0",
                "platform_machine": self.machine, "implementation_name": "cpython",
                "platform_python_implementation": "CPython"}

    def tags(self) -> frozenset:
        """The wheel tags pip accepts with --implementation cp --python-version X.Y --abi cpXY
        --platform ... (pip's compatibility_tags.get_supported: cpython_tags + compatible_tags)."""
        version = tuple(int(n) for n in self.python.split("."))
        abi = "cp" + self.python.replace(".", "")
        return frozenset([*cpython_tags(version, [abi], self.platforms),
                          *compatible_tags(version, abi, self.platforms)])


# Linux: the glibc of the oldest distribution named below, Debian 12 (glibc 2.36). Today's pins need <= 2.28.
LINUX_GLIBC = 36
# macOS: onnxruntime 1.31.1's only Mac wheels are macosx_14_0_arm64, so the promise is macOS 14 (Sonoma) or newer.
MACOS = 14

TARGETS: Tuple[Target, ...] = (
    # Windows: OSGeo4W and the standalone installers of QGIS 3.40, 3.44 and 4.x ship Python 3.12, 64-bit
    # only (there is no Windows-on-ARM QGIS build).
    Target("windows-x86_64-py3.12", "3.12", "Windows", "AMD64", ("win_amd64",)),
    # Linux x86_64: the distributions' QGIS packages (and qgis.org's repositories built for them) run the
    # distribution's Python: Debian 12 3.11, Ubuntu 24.04 3.12, Debian 13 / Ubuntu 25.04 3.13.
    Target("linux-x86_64-py3.11", "3.11", "Linux", "x86_64", manylinux_platforms("x86_64", LINUX_GLIBC)),
    Target("linux-x86_64-py3.12", "3.12", "Linux", "x86_64", manylinux_platforms("x86_64", LINUX_GLIBC)),
    Target("linux-x86_64-py3.13", "3.13", "Linux", "x86_64", manylinux_platforms("x86_64", LINUX_GLIBC)),
    # macOS on Apple silicon, macOS 14+, Python 3.11 to 3.13 (qgis.org's packages, conda-forge, Homebrew).
    # Not promised: macOS on Intel (x86_64): onnxruntime 1.31.1 has no x86_64 or universal2 Mac wheel (its
    # last is 1.23.2), so the plugin's one required package cannot be installed there; nor macOS 11-13 on
    # Apple silicon (onnxruntime 1.31.1 needs macOS 14).
    Target("macos-arm64-py3.11", "3.11", "Darwin", "arm64", macos_platforms("arm64", MACOS)),
    Target("macos-arm64-py3.12", "3.12", "Darwin", "arm64", macos_platforms("arm64", MACOS)),
    Target("macos-arm64-py3.13", "3.13", "Darwin", "arm64", macos_platforms("arm64", MACOS)),
)


def requirements() -> List[plugin_requirements.Requirement]:
    return plugin_requirements.read_requirements()


def lines_for(target: Target,
              lines: Sequence[plugin_requirements.Requirement]) -> List[plugin_requirements.Requirement]:
    """The lines whose environment marker applies to ``target`` (not to this machine)."""
    environment = target.marker_environment()
    return [line for line in lines if plugin_requirements.marker_applies(line.marker, environment)]


def pins_for(target: Target, lines: Sequence[plugin_requirements.Requirement]) -> List[str]:
    """'name==version' of the lines that apply to ``target``, markers evaluated and stripped."""
    return [f"{line.name}=={line.version}" for line in lines_for(target, lines)]


# ----- asking the registry -----------------------------------------------------------------------

class RegistryUnreachable(RuntimeError):
    pass


def fetch_listing(name: str) -> List[dict]:
    """The registry's files of a project (PEP 691 JSON simple API); [] when it has no such project."""
    url = f"{INDEX_URL.rstrip('/')}/{plugin_requirements.normalize(name)}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S, context=ssl.create_default_context()) as answer:
            return json.load(answer)["files"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise RegistryUnreachable(f"the package registry answered HTTP {error.code} for {url}")
    except (OSError, ValueError, KeyError) as error:
        raise RegistryUnreachable(f"the package registry {INDEX_URL} cannot be reached ({url}: {error!r}); this "
                                  f"test needs it (deselect it with -m 'not registry' where there is no network)")


def pinned_wheels(files: Sequence[dict], line: plugin_requirements.Requirement) -> List[dict]:
    """The wheels among a project's ``files`` whose version is the pinned one (as PEP 440 compares)."""
    wanted, wheels = Version(line.version), []
    for item in files:
        if not item["filename"].endswith(".whl"):
            continue
        try:
            name, version, _build, tags = parse_wheel_filename(item["filename"])
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if version == wanted and name == plugin_requirements.normalize(line.name):
            wheels.append({**item, "tags": tags})
    return wheels


def installable(wheel: dict, target: Target, supported: frozenset) -> bool:
    """Whether pip would take ``wheel`` for ``target``: a supported tag and Requires-Python met."""
    requires = wheel.get("requires-python") or ""
    try:
        python_ok = not requires or Version(target.python) in SpecifierSet(requires)
    except Exception:  # pip ignores a Requires-Python it cannot parse
        python_ok = True
    return python_ok and bool(wheel["tags"] & supported)


def fetch_pinned_wheels(lines: Sequence[plugin_requirements.Requirement]) -> Dict[str, List[dict]]:
    """normalized name -> the registry's wheels of the pinned version, every project asked once."""
    first = fetch_listing(lines[0].name)  # alone first: an unreachable registry fails after one timeout, not many
    with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
        listings = [first, *pool.map(lambda line: fetch_listing(line.name), lines[1:])]
    return {line.key: pinned_wheels(files, line) for line, files in zip(lines, listings)}


def missing_wheels(targets: Sequence[Target], lines: Sequence[plugin_requirements.Requirement],
                   wheels: Dict[str, List[dict]]) -> Dict[str, List[str]]:
    """target name -> the pins that apply there and have no wheel pip would install there."""
    missing = {}
    for target in targets:
        supported = target.tags()
        missing[target.name] = [f"{line.name}=={line.version}" for line in lines_for(target, lines)
                                if not any(installable(wheel, target, supported) for wheel in wheels[line.key])]
    return missing


def describe(pin: str, target: Target, wheels: Dict[str, List[dict]]) -> str:
    """Why ``pin`` has no wheel for ``target``, from the registry's wheels of that version."""
    files = wheels.get(plugin_requirements.normalize(pin.split("==")[0]), [])
    if not files:
        return f"{pin}: the registry has no wheel of this version"
    family = target.platforms[0].split("_")[0]  # win, manylinux, macosx
    supported = target.tags()
    if any(wheel["tags"] & supported for wheel in files):
        needs = sorted({wheel.get("requires-python") or "" for wheel in files if wheel["tags"] & supported})
        return f"{pin}: its {target.platforms[0]} wheels require Python {' / '.join(needs)}"
    arch = re.search(r"(x86_64|amd64|arm64|aarch64|universal2)$", target.platforms[0]).group(1)
    near = lambda *ends: sorted({"-".join(wheel["filename"][:-len(".whl")].split("-")[-3:])  # noqa: E731
                                 for wheel in files for tag in wheel["tags"]
                                 if tag.platform.startswith(family) and tag.platform.endswith(ends)})
    same = near(arch, "universal2") or near("")
    if not same:
        families = sorted({tag.platform.split("_")[0] for wheel in files for tag in wheel["tags"]})
        return f"{pin}: no {family} wheel at all (its wheels are for {', '.join(families)})"
    more = f" and {len(same) - 8} more" if len(same) > 8 else ""
    return f"{pin}: none of its {family} wheels fits: {', '.join(same[:8])}{more}"


# ----- the tests ---------------------------------------------------------------------------------

WINDOWS, LINUX, MAC = (next(t for t in TARGETS if t.system == system) for system in ("Windows", "Linux", "Darwin"))


def test_markers_are_evaluated_for_each_target_not_this_machine():
    lines = requirements()
    names = {target.name: {pin.split("==")[0] for pin in pins_for(target, lines)} for target in TARGETS}
    assert "colorama" in names[WINDOWS.name]
    for target in TARGETS:
        if target.system != "Windows":
            assert "colorama" not in names[target.name], target.name
        assert "onnxruntime" in names[target.name], target.name
        # every line without a marker is checked everywhere
        assert names[target.name] >= {line.name for line in lines if not line.marker}, target.name
        assert all(";" not in pin and "#" not in pin for pin in pins_for(target, lines))


def test_marker_filtering_of_a_small_file():
    lines = plugin_requirements.parse_requirements(
        "a==1.0  # required; import=a\n"
        "b==2.0 ; platform_system == \"Windows\"  # via=a\n"
        "c==3.0 ; sys_platform == \"darwin\" and platform_machine == \"arm64\"  # via=a\n"
        "d==4.0 ; python_version < \"3.12\"  # via=a\n")
    assert pins_for(WINDOWS, lines) == ["a==1.0", "b==2.0"]
    linux = {t.python: t for t in TARGETS if t.system == "Linux"}
    assert pins_for(linux["3.11"], lines) == ["a==1.0", "d==4.0"]
    assert pins_for(linux["3.12"], lines) == ["a==1.0"]
    mac = {t.python: t for t in TARGETS if t.system == "Darwin"}
    assert pins_for(mac["3.11"], lines) == ["a==1.0", "c==3.0", "d==4.0"]
    assert pins_for(mac["3.13"], lines) == ["a==1.0", "c==3.0"]


def test_platform_tags():
    assert manylinux_platforms("x86_64", 28)[:2] == ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64")
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(
        manylinux_platforms("x86_64", 28))
    assert "manylinux_2_29_x86_64" not in manylinux_platforms("x86_64", 28)
    mac = macos_platforms("arm64", 14)
    assert {"macosx_14_0_arm64", "macosx_11_0_arm64", "macosx_10_9_universal2"} <= set(mac)
    assert "macosx_15_0_arm64" not in mac and not any("x86_64" in tag for tag in mac)


def test_wheel_selection_follows_pips_rules():
    """Tags and Requires-Python, on made-up listings (no network)."""
    line = plugin_requirements.parse_requirements("x==1.0  # required; import=x\n")[0]
    files = [{"filename": f"x-1.0-{tag}.whl"} for tag in (
        "cp312-cp312-win_amd64", "cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "cp313-cp313-manylinux_2_39_x86_64", "cp313-cp313-macosx_15_0_arm64", "cp311-cp311-win_amd64")]
    files += [{"filename": "x-1.1-py3-none-any.whl"}, {"filename": "x-1.0.tar.gz"}]
    wheels = pinned_wheels(files, line)
    assert len(wheels) == 5  # other versions and the sdist are left out
    has = lambda target, wheel_list=wheels: any(installable(w, target, target.tags()) for w in wheel_list)  # noqa: E731
    assert has(WINDOWS)  # cp312 on win_amd64
    assert not has(WINDOWS, [w for w in wheels if "win_amd64" not in w["filename"] or "cp311" in w["filename"]])
    linux = {t.python: t for t in TARGETS if t.system == "Linux"}
    assert all(has(t) for t in linux.values())  # the abi3 wheel, from 3.11 on; the 2_39 one is too new for 2.36
    assert not has(linux["3.13"], [w for w in wheels if "2_39" in w["filename"]])
    assert not any(has(t) for t in TARGETS if t.system == "Darwin")  # macOS 15 wheel, promise is 14
    pure = pinned_wheels([{"filename": "x-1.0-py3-none-any.whl", "requires-python": ">=3.12"}], line)
    assert has(WINDOWS, pure) and not has(linux["3.11"], pure) and has(linux["3.13"], pure)
    assert missing_wheels(TARGETS, [line], {line.key: pure}) == {
        t.name: (["x==1.0"] if t.python == "3.11" else []) for t in TARGETS}


@pytest.mark.registry
def test_every_pin_has_a_wheel_for_every_promised_pair():
    # a line served by another index (index=: PyTorch's CPU-only Linux builds) is not on PyPI, and that index
    # cannot be reached from here: those lines are left out of this check (test_dependencies checks the message
    # that names the index; tests/e2e/test_install_package.py resolves the torch line from the local wheel)
    lines = [line for line in requirements() if not line.index]
    try:
        wheels = fetch_pinned_wheels(lines)
    except RegistryUnreachable as error:
        pytest.fail(str(error))
    by_name = {target.name: target for target in TARGETS}
    problems = [f"{name}: {describe(pin, by_name[name], wheels)}"
                for name, pins in missing_wheels(TARGETS, lines, wheels).items() for pin in pins]
    assert not problems, ("pins of requirements-plugin.txt with no wheel on PyPI for a promised (Python, platform) "
                          "pair:\n" + "\n".join(problems))
