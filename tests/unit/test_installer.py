"""The dependency checker and the pip command the installer builds (no network, nothing installed)."""
import importlib
import sys
import types
from pathlib import Path

import pytest

from labelmigration.core.install import package_status, pip_install, plugin_requirements, plugin_site
from labelmigration.core.models.onnx_model import CPU_PROVIDER, create_session, providers

REPO = Path(plugin_requirements.__file__).resolve().parents[2]

REQUIREMENTS = """\
# a comment line
present==1.0.0  # required; import=present_mod; needs=>=1.0; for=Doing A
ancient==2.0.0  # optional; import=ancient_mod; for=Doing B
absent==3.1.0  # required; import=absent_mod; also=absent-gpu; for=Doing C
helper==0.5  # via=absent; needs=>=0.4
winonly==1.0 ; platform_system == "Windows"  # via=absent
helper-of-present==1.0  # via=present
"""


def fake_dist(folder, name, version, files=()):
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = [f"{info.name}/METADATA,,"]
    for path in files:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text("VALUE = 1\n")
        record.append(f"{path},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def requirements():
    return plugin_requirements.parse_requirements(REQUIREMENTS)


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    fake_dist(site, "present", "1.2")
    fake_dist(site, "ancient", "1.9.9")
    fake_dist(site, "helper", "0.3")
    fake_dist(site, "helper-of-present", "0.1")
    return site


LINUX = {"platform_system": "Linux", "sys_platform": "linux", "python_version": "3.9"}


def test_requirements_file_is_read_with_its_annotations(requirements):
    by_name = {r.name: r for r in requirements}
    assert by_name["present"].kind == "required" and by_name["present"].import_name == "present_mod"
    assert by_name["ancient"].needs == ">=2.0.0"  # a top-level line defaults to its pin
    assert by_name["absent"].also == ("absent-gpu",)
    assert by_name["helper"].via == ("absent",) and by_name["helper"].needs == ">=0.4"
    assert by_name["winonly"].pin == 'winonly==1.0 ; platform_system == "Windows"'


@pytest.mark.parametrize("line", ["numpy==1.26.4  # via=x", "GDAL==3.8.4  # required", "PyQt5==5.15.9  # optional"])
def test_packages_qgis_ships_are_refused_in_the_file(line):
    with pytest.raises(ValueError, match="must not be installed"):
        plugin_requirements.parse_requirements(line)


def test_unpinned_or_unannotated_lines_are_rejected():
    with pytest.raises(ValueError, match="not pinned"):
        plugin_requirements.parse_requirements("requests>=2  # via=x")
    with pytest.raises(ValueError, match="neither required/optional nor via"):
        plugin_requirements.parse_requirements("requests==2.0")


def test_the_plugins_requirements_file_parses_and_never_names_a_shipped_package():
    requirements = plugin_requirements.read_requirements()
    names = {r.key for r in requirements}
    assert {"onnxruntime", "pystac-client", "sentinelsat", "ukis-csmask"} <= names
    assert not names & set(plugin_requirements.SHIPPED_WITH_QGIS)
    for requirement in requirements:  # every dependency hangs off a line in the file
        assert set(requirement.via) <= names, requirement


def test_require_messages_name_the_pins_of_the_requirements_files():
    from labelmigration.core.install.dependencies import DEVELOPER_PACKAGES, pinned_requirement

    for requirement in plugin_requirements.read_requirements():
        if requirement.top_level and plugin_requirements.marker_applies(requirement.marker):  # this Python's line
            assert pinned_requirement(requirement.import_name) == f"{requirement.name}=={requirement.version}"
    assert pinned_requirement("pystac_client.stac_api_io") == pinned_requirement("pystac_client")
    # the developer-only packages: pinned as in requirements-dev.txt, never installed for users
    dev_pins = {line.split("==")[0]: line.strip() for line in (REPO / "requirements-dev.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#")}
    for module, requirement in DEVELOPER_PACKAGES.items():
        assert pinned_requirement(module) == requirement == dev_pins[requirement.split("==")[0]]
        assert all(r.key != plugin_requirements.normalize(module) for r in plugin_requirements.read_requirements())


@pytest.mark.parametrize("version, spec, expected", [
    ("1.31.1", ">=1.14", True), ("1.9", ">=1.14", False), ("2.0", ">=1.10.0,<2", False),
    ("1.4.2", "==1.4.*", True), ("1.5", "==1.4.*", False), ("2.2", "~=2.1", True), ("3.0", "~=2.1", False),
    ("1.0rc1", ">=1.0", False), ("1.0.post1", ">1.0", True), ("1.0", "==1.0.0", True), ("3.1.0", "!=3.1", False),
    ("1.2.3+local", ">=1.2.3", True), ("0.4", "", True)])
def test_version_specifiers(version, spec, expected):
    assert plugin_requirements.satisfies(version, spec) is expected


@pytest.mark.parametrize("marker, environment, expected", [
    ('platform_system == "Windows"', {"platform_system": "Windows"}, True),
    ('platform_system == "Windows"', LINUX, False),
    ('python_version < "3.12"', LINUX, True),
    ('sys_platform == "darwin" or sys_platform == "linux"', LINUX, True),
    ('sys_platform == "linux" and python_version >= "3.12"', LINUX, False)])
def test_markers(marker, environment, expected):
    assert plugin_requirements.marker_applies(marker, environment) is expected


def test_check_reads_metadata_without_importing(requirements, site):
    statuses = {s.requirement.name: s for s in package_status.check(requirements, [str(site)], LINUX)}
    assert "winonly" not in statuses  # its marker leaves it out on Linux
    assert (statuses["present"].state, statuses["present"].installed) == ("ok", "1.2")
    assert statuses["present"].location == str(site)
    assert statuses["ancient"].state == "too old" and "2.0.0" in statuses["ancient"].message
    assert statuses["absent"].state == "missing"
    assert statuses["helper"].state == "too old"
    assert "present_mod" not in sys.modules


def test_first_copy_on_the_path_wins_and_alternative_distributions_count(requirements, site, tmp_path):
    target = tmp_path / "target"
    fake_dist(target, "ancient", "2.1")
    fake_dist(target, "absent-gpu", "3.1.0")
    statuses = {s.requirement.name: s for s in package_status.check(requirements, [str(target), str(site)], LINUX)}
    assert (statuses["ancient"].state, statuses["ancient"].location) == ("ok", str(target))
    assert (statuses["absent"].state, statuses["absent"].distribution) == ("ok", "absent-gpu")


def test_plan_takes_the_chosen_packages_and_their_unsatisfied_dependencies(requirements, site):
    statuses = package_status.check(requirements, [str(site)], LINUX)
    plan = pip_install.plan_install(statuses, ["absent", "present"])
    # present is OK so its (old) helper is left alone; absent brings its too-old helper
    assert [r.pin for r in plan] == ["absent==3.1.0", "helper==0.5"]
    assert pip_install.plan_install(statuses, []) == []


def test_plan_refuses_shipped_packages(requirements, site):
    statuses = package_status.check(requirements, [str(site)], LINUX)
    with pytest.raises(pip_install.InstallRefused, match="QGIS ships numpy"):
        pip_install.plan_install(statuses, ["numpy"])


def test_install_files_and_shipped_constraints(tmp_path, requirements, site):
    fake_dist(site, "numpy", "1.24.2")
    fake_dist(site, "GDAL", "3.6.2")
    constraints = pip_install.shipped_constraints([str(site)])
    assert constraints == ["gdal==3.6.2", "numpy==1.24.2"]
    req, con = pip_install.write_install_files(str(tmp_path / "work"), requirements[:2], constraints)
    assert open(req).read().splitlines()[1:] == ["present==1.0.0", "ancient==2.0.0"]
    assert open(con).read().splitlines()[1:] == constraints


# ----- the Python that QGIS runs, on each platform (fabricated paths) -----------------------------

def exists_in(*paths):
    return lambda path: path in paths


@pytest.mark.parametrize("case", [
    dict(platform="linux", executable="/usr/bin/python3", prefix="/usr", files=["/usr/bin/python3"],
         expected="/usr/bin/python3"),
    dict(platform="linux", executable="/usr/bin/qgis", prefix="/usr", files=["/usr/bin/python3.9", "/usr/bin/python3"],
         expected="/usr/bin/python3.9"),
    dict(platform="win32", executable=r"C:\OSGeo4W\bin\qgis-ltr-bin.exe", prefix=r"C:\OSGeo4W\apps\Python39",
         files=[r"C:\OSGeo4W\apps\Python39\python.exe", r"C:\OSGeo4W\bin\python3.exe"],
         expected=r"C:\OSGeo4W\apps\Python39\python.exe"),
    dict(platform="win32", executable=r"C:\OSGeo4W\bin\qgis-bin.exe", prefix=r"C:\OSGeo4W\apps\Python39",
         files=[r"C:\OSGeo4W\bin\python3.exe"], expected=r"C:\OSGeo4W\bin\python3.exe"),
    dict(platform="win32", executable=r"C:\Program Files\QGIS 3.22.16\bin\qgis-ltr-bin.exe",
         prefix=r"C:\PROGRA~1\QGIS32~1.16\apps\Python39", files=[r"C:\PROGRA~1\QGIS32~1.16\apps\Python39\python.exe"],
         expected=r"C:\PROGRA~1\QGIS32~1.16\apps\Python39\python.exe"),
    dict(platform="darwin", executable="/Applications/QGIS-LTR.app/Contents/MacOS/QGIS",
         prefix="/Applications/QGIS-LTR.app/Contents/Frameworks/Python.framework/Versions/3.9",
         files=["/Applications/QGIS-LTR.app/Contents/Frameworks/Python.framework/Versions/3.9/bin/python3.9"],
         expected="/Applications/QGIS-LTR.app/Contents/Frameworks/Python.framework/Versions/3.9/bin/python3.9"),
    dict(platform="darwin", executable="/Applications/QGIS.app/Contents/MacOS/QGIS",
         prefix="/Applications/QGIS.app/Contents/MacOS", files=["/Applications/QGIS.app/Contents/MacOS/bin/python3"],
         expected="/Applications/QGIS.app/Contents/MacOS/bin/python3"),
], ids=["linux", "linux-qgis-binary", "osgeo4w", "osgeo4w-wrapper", "windows-standalone", "macos", "macos-old"])
def test_python_executable_per_platform(case):
    found = pip_install.python_executable(case["executable"], case["prefix"], (3, 9), case["platform"],
                                          exists_in(*case["files"]))
    assert found == case["expected"]


def test_no_python_found_says_where_it_looked():
    with pytest.raises(FileNotFoundError, match=r"qgis-bin\.exe.*python\.exe"):
        pip_install.python_executable(r"C:\QGIS\bin\qgis-bin.exe", r"C:\QGIS\apps\Python39", (3, 9), "win32",
                                      exists_in())


def test_install_command_into_the_target_folder():
    command = pip_install.install_command(r"C:\OSGeo4W\apps\Python39\python.exe", r"C:\Temp\req.txt",
                                          target=r"C:\Users\me\AppData\Roaming\QGIS\QGIS3\profiles\default\python"
                                                 r"\labelmigration-packages\python3.9",
                                          constraints_path=r"C:\Temp\c.txt")
    assert command[:4] == [r"C:\OSGeo4W\apps\Python39\python.exe", "-m", "pip", "install"]
    assert "--no-deps" in command and "--upgrade" in command and "--user" not in command
    # a path with spaces stays one argument (never a shell string)
    assert command[command.index("--target") + 1].endswith(r"labelmigration-packages\python3.9")
    assert command[command.index("-c") + 1] == r"C:\Temp\c.txt"
    assert command[-2:] == ["-r", r"C:\Temp\req.txt"]


def test_install_command_with_user():
    command = pip_install.install_command("/Applications/QGIS.app/Contents/MacOS/bin/python3",
                                          "/tmp/Application Support/req.txt", user=True)
    assert "--user" in command and "--target" not in command
    assert command[-1] == "/tmp/Application Support/req.txt"
    with pytest.raises(ValueError):
        pip_install.install_command("python3", "r.txt", target="/t", user=True)


@pytest.mark.parametrize("plugin_dir, platform, environ, expected", [
    ("/home/u/.local/share/QGIS/QGIS3/profiles/default/python/plugins/labelmigration", "linux", {},
     "/home/u/.local/share/QGIS/QGIS3/profiles/default/python/labelmigration-packages/python3.9"),
    ("/work/checkout", "linux", {}, "/home/u/.local/share/labelmigration/packages/python3.9"),
    ("/work/checkout", "darwin", {}, "/home/u/Library/Application Support/labelmigration/packages/python3.9"),
    ("/work/checkout", "linux", {"LABELMIGRATION_SITE_DIR": "/opt/site"}, "/opt/site/python3.9"),
])
def test_plugin_site_dir(plugin_dir, platform, environ, expected):
    assert plugin_site.plugin_site_dir(plugin_dir, environ, (3, 9), platform, home="/home/u") == expected


def test_activated_folder_makes_new_packages_importable_at_once(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", list(sys.path))
    plugin_site.activate_plugin_site(str(site))
    plugin_site.activate_plugin_site(str(site))
    assert sys.path.count(str(site)) == 1 and sys.path[0] == str(site)
    (site / "labelmigration_fresh_module.py").write_text("VALUE = 42\n")  # "installed" after activation
    plugin_site.refresh_imports(str(site))
    try:
        assert importlib.import_module("labelmigration_fresh_module").VALUE == 42
    finally:
        sys.modules.pop("labelmigration_fresh_module", None)


def test_restart_is_needed_only_for_modules_already_imported(tmp_path):
    site = tmp_path / "site"
    fake_dist(site, "fresh-pkg", "1.0", ["fresh_pkg/__init__.py"])
    fake_dist(site, "used-pkg", "1.0", ["used_pkg/__init__.py", "used_helper.py"])
    assert plugin_site.top_level_modules(str(site), ["used-pkg"]) == {"used-pkg": ["used_helper", "used_pkg"]}
    assert plugin_site.needs_restart(str(site), ["fresh-pkg", "used-pkg"], loaded={"os", "used_helper"}) == ["used-pkg"]


def test_pip_failure_hints():
    assert "ensurepip" in pip_install.pip_failure_hint("/usr/bin/python3: No module named pip")
    assert pip_install.pip_failure_hint("all fine") == ""


def test_import_probe_runs_in_another_python_with_the_folder_on_its_path(tmp_path):
    import subprocess

    site = tmp_path / "site"
    (site / "probe_me").mkdir(parents=True)
    (site / "probe_me" / "__init__.py").write_text("__version__ = '9.9'\n")
    result = subprocess.run(package_status.import_probe_command(sys.executable, "probe_me"), capture_output=True,
                            text=True, env=package_status.probe_environment(str(site)), timeout=60)
    assert result.stdout.strip() == "9.9"


# ----- onnxruntime providers: CUDA fallback, with a fake onnxruntime (no GPU can be used here) -----

class FakeSession:
    def __init__(self, path, providers):
        self.path, self.requested = path, providers

    def get_providers(self):
        return [p for p in self.requested if p in FakeOrt.working]


class FakeOrt(types.SimpleNamespace):
    working = (CPU_PROVIDER,)


def fake_ort(available, fail_with_cuda=False, working=(CPU_PROVIDER,)):
    calls = []

    def session(path, providers):
        calls.append(list(providers))
        if fail_with_cuda and "CUDAExecutionProvider" in providers:
            raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected")
        FakeOrt.working = working
        return FakeSession(path, providers)

    return FakeOrt(get_available_providers=lambda: list(available), InferenceSession=session,
                   get_device=lambda: "GPU" if "CUDAExecutionProvider" in available else "CPU"), calls


def test_cpu_build_asks_for_the_cpu_only():
    ort, calls = fake_ort(["AzureExecutionProvider", CPU_PROVIDER])
    session, provider, warnings = create_session(ort, "m.onnx")
    assert providers(ort) == [CPU_PROVIDER] and calls == [[CPU_PROVIDER]]
    assert provider == CPU_PROVIDER and warnings == []


def test_cuda_session_failure_falls_back_to_the_cpu_with_a_warning():
    ort, calls = fake_ort(["CUDAExecutionProvider", CPU_PROVIDER], fail_with_cuda=True)
    session, provider, warnings = create_session(ort, "m.onnx")
    assert calls == [["CUDAExecutionProvider", CPU_PROVIDER], [CPU_PROVIDER]]
    assert provider == CPU_PROVIDER
    assert len(warnings) == 1 and "no CUDA-capable device" in warnings[0] and "CPU instead" in warnings[0]


def test_cuda_offered_but_silently_unused_is_reported():
    ort, _calls = fake_ort(["CUDAExecutionProvider", CPU_PROVIDER], working=(CPU_PROVIDER,))
    _session, provider, warnings = create_session(ort, "m.onnx")
    assert provider == CPU_PROVIDER and "did not use it" in warnings[0]


def test_working_cuda_runs_on_cuda_without_warnings():
    ort, _calls = fake_ort(["CUDAExecutionProvider", CPU_PROVIDER], working=("CUDAExecutionProvider", CPU_PROVIDER))
    _session, provider, warnings = create_session(ort, "m.onnx")
    assert provider == "CUDAExecutionProvider" and warnings == []


def test_fallback_warning_reaches_the_prediction_result(tmp_path, monkeypatch):
    """The real onnxruntime behind a stand-in that claims CUDA and fails with it (no GPU can be used
    here): the model still runs, on the CPU, and the warning reaches the result the algorithms log."""
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import numpy as np

    from labelmigration.core.models import onnx_model
    from labelmigration.core.models.predict import predict_raster
    from labelmigration.tests.support.onnx_models import conv_model
    from labelmigration.tests.support.rasters import from_origin, write_raster

    def session(path, providers):
        if "CUDAExecutionProvider" in providers:
            raise RuntimeError("CUDA_PATH is set but CUDA wasn't able to be loaded")
        return onnxruntime.InferenceSession(path, providers=providers)

    claims_cuda = types.SimpleNamespace(get_available_providers=lambda: ["CUDAExecutionProvider", CPU_PROVIDER],
                                        InferenceSession=session)
    monkeypatch.setattr(onnx_model, "require", lambda name, purpose: claims_cuda)
    model = conv_model(tmp_path / "m.onnx", np.ones((1, 1, 1, 1), np.float32), [0.0])
    image = write_raster(tmp_path / "in.tif", np.ones((1, 8, 8), np.uint16), crs="EPSG:32633",
                         transform=from_origin(500000, 4000000, 10, 10))
    result = predict_raster(str(image), str(model), {"classes": str(tmp_path / "c.tif")}, tile_size=8)
    assert result.valid_pixels == 64
    assert len(result.warnings) == 1 and "CUDA wasn't able to be loaded" in result.warnings[0]
    assert onnx_model.load_model(str(model)).provider == CPU_PROVIDER
