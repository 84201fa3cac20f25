"""A real install from the package registry: the pip command the installer builds puts a small
pure-Python package into a temporary target folder, and a fresh Python imports it from there.
Skipped, with the reason, where the registry cannot be reached."""
import subprocess
import sys

import pytest

from labelmigration.core.install import package_status, pip_install, plugin_requirements

PACKAGE = "six==1.16.0"  # tiny, pure Python, no dependencies


def registry_reachable(python: str) -> str:
    """'' when pip's configured index offers the package, else why not."""
    try:
        result = subprocess.run([python, "-m", "pip", "index", "versions", "six", "--disable-pip-version-check"],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"pip could not ask the package registry: {error}"
    if result.returncode != 0 or "1.16.0" not in result.stdout:
        return f"the package registry cannot be reached or lacks six 1.16.0: {(result.stderr or result.stdout)[-300:]}"
    return ""


def test_installs_into_a_target_and_imports_from_there(tmp_path):
    python = pip_install.python_executable()
    reason = registry_reachable(python)
    if reason:
        pytest.skip(reason)
    requirement = plugin_requirements.parse_requirements(f"{PACKAGE}  # optional; import=six")[0]
    target = tmp_path / "labelmigration-packages" / ("python%d.%d" % sys.version_info[:2])
    statuses = package_status.check([requirement], [str(target)])  # only the empty target: six is missing there
    plan = pip_install.plan_install(statuses, ["six"])
    requirements_path, constraints_path = pip_install.write_install_files(
        str(tmp_path / "work"), plan, pip_install.shipped_constraints())
    command = pip_install.install_command(python, requirements_path, target=str(target),
                                          constraints_path=constraints_path)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith("__")) == ["six-1.16.0.dist-info", "six.py"]
    assert [(s.state, s.installed) for s in package_status.check([requirement], [str(target)])] == [("ok", "1.16.0")]
    probe = subprocess.run([sys.executable, "-S", "-c", "import six; print(six.__version__, six.__file__)"],
                           capture_output=True, text=True, env=package_status.probe_environment(str(target), {}),
                           timeout=60)
    version, location = probe.stdout.split()
    assert version == "1.16.0" and location.startswith(str(target))


def test_the_dialog_installs_a_missing_package(qgis_app, tmp_path):
    """The dependencies dialog, with the real pip of QGIS's Python: Install puts the missing package
    into the plugin-owned folder and the re-check finds it there."""
    from labelmigration.ui.dependencies_dialog import DependenciesDialog

    python = pip_install.python_executable()
    reason = registry_reachable(python)
    if reason:
        pytest.skip(reason)
    requirements = tmp_path / "requirements-plugin.txt"
    requirements.write_text(f"{PACKAGE}  # required; import=six; for=the test\n")
    target = tmp_path / "labelmigration-packages"
    dialog = DependenciesDialog(requirements_path=str(requirements), python=python, site_dir=str(target),
                                search_paths=[str(target)])
    assert dialog.status_rows() == [("six", "missing", "")]
    dialog.install_button.click()
    assert dialog.wait(300), dialog.log.toPlainText()[-2000:]
    assert dialog.status_rows() == [("six", "ok", "1.16.0")], dialog.log.toPlainText()[-2000:]
    assert (target / "six.py").is_file()
    probe = subprocess.run([sys.executable, "-S", "-c", "import six; print(six.__file__)"], capture_output=True,
                           text=True, env=package_status.probe_environment(str(target), {}), timeout=60)
    assert probe.stdout.strip().startswith(str(target))


WHEELS = "/opt/wheels"  # where these machines keep PyTorch's CPU-only wheel (requirements-training.txt)


def test_the_torch_line_installs_the_cpu_only_wheel(tmp_path):
    """The installer's files for requirements-plugin.txt's torch line name PyTorch's CPU index, and pip resolves the
    pin to the CPU-only wheel (torch-2.13.0+cpu, the build PyTorch publishes on https://download.pytorch.org/whl/cpu)
    from a local folder holding it, offline (a dry run: nothing is installed)."""
    import glob

    wheels = glob.glob(f"{WHEELS}/torch-*+cpu-*.whl")
    if not wheels:
        pytest.skip(f"no CPU-only torch wheel in {WHEELS}")
    torch_line = next(r for r in plugin_requirements.read_requirements() if r.key == "torch")
    requirements_path, _ = pip_install.write_install_files(str(tmp_path / "work"), [torch_line], [])
    lines = open(requirements_path).read().splitlines()[1:]
    assert lines == ["--extra-index-url https://download.pytorch.org/whl/cpu", torch_line.pin]
    command = pip_install.install_command(sys.executable, requirements_path, target=str(tmp_path / "target"))
    command[command.index("install") + 1:command.index("install") + 1] = ["--dry-run", "--no-index", "--find-links",
                                                                          WHEELS]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Would install torch-2.13.0+cpu" in result.stdout
    assert any(w.split("/")[-1].startswith(f"torch-{torch_line.version}-") for w in wheels)
