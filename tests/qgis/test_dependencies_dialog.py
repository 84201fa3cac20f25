"""The dependencies dialog, headless, against a fabricated requirements file and package folder.

Install runs a fake 'python' (a script that records its arguments and writes the metadata pip would
write into --target) instead of pip: the test checks the dialog runs exactly the command it shows.
"""
import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.qgis

REQUIREMENTS = """\
present==1.0  # required; import=present_mod; for=Doing A
absent==2.0  # required; import=absent_mod; for=Doing B
ancient==3.0  # optional; import=ancient_mod; for=Doing C
absent-helper==0.1  # via=absent
"""


def fake_dist(folder, name, version):
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{info.name}/METADATA,,\n")


FAKE_PIP = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
json.dump(args, open({record!r}, "w"))
target = args[args.index("--target") + 1]
requirements = [l.split("==") for l in open(args[args.index("-r") + 1]) if l.strip() and not l.startswith("#")]
for name, version in requirements:
    print("Collecting " + name + "==" + version.strip(), flush=True)
for name, version in requirements:
    info = os.path.join(target, name.replace("-", "_") + "-" + version.strip() + ".dist-info")
    os.makedirs(info)
    open(os.path.join(info, "METADATA"), "w").write("Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (name, version.strip()))
    open(os.path.join(info, "RECORD"), "w").write(name.replace("-", "_") + "/__init__.py,,\\n")
print("Successfully installed " + " ".join(n for n, v in requirements), flush=True)
"""


@pytest.fixture
def setup(tmp_path):
    requirements = tmp_path / "requirements-plugin.txt"
    requirements.write_text(REQUIREMENTS)
    site_packages = tmp_path / "site-packages"
    fake_dist(site_packages, "present", "1.5")
    fake_dist(site_packages, "ancient", "2.9")
    fake_dist(site_packages, "numpy", "1.24.2")
    record = tmp_path / "argv.json"
    python = tmp_path / "fake-python"
    python.write_text(FAKE_PIP.format(python=sys.executable, record=str(record)))
    python.chmod(0o755)
    return dict(requirements=str(requirements), site_packages=site_packages, site_dir=str(tmp_path / "target"),
                python=str(python), record=record)


def make_dialog(setup):
    from labelmigration.ui.dependencies_dialog import DependenciesDialog

    return DependenciesDialog(requirements_path=setup["requirements"], python=setup["python"],
                              site_dir=setup["site_dir"],
                              search_paths=[setup["site_dir"], str(setup["site_packages"])])


def test_lists_present_missing_and_too_old(qgis_app, setup):
    from qgis.PyQt.QtCore import Qt

    dialog = make_dialog(setup)
    assert dialog.status_rows() == [("present", "ok", "1.5"), ("absent", "missing", ""), ("ancient", "too old", "2.9")]
    table = dialog.table
    assert [table.item(row, 4).text() for row in range(3)] == ["OK", "missing", "too old"]
    # required and missing: ticked; optional: left to the user; OK: nothing to tick
    assert [table.item(row, 0).checkState() for row in range(3)] == [Qt.CheckState.Unchecked, Qt.CheckState.Checked,
                                                                     Qt.CheckState.Unchecked]
    assert dialog.chosen() == ["absent"]
    shown = dialog.command_edit.text()
    assert "--no-deps" in shown and "--target" in shown and setup["site_dir"] in shown
    assert open(dialog.command[-1]).read().splitlines()[1:] == ["absent==2.0", "absent-helper==0.1"]
    constraints = dialog.command[dialog.command.index("-c") + 1]
    assert "numpy==1.24.2" in open(constraints).read()
    table.item(2, 0).setCheckState(Qt.CheckState.Checked)
    assert open(dialog.command[-1]).read().splitlines()[1:] == ["absent==2.0", "ancient==3.0", "absent-helper==0.1"]


def test_install_runs_the_shown_command_and_rechecks(qgis_app, setup):
    dialog = make_dialog(setup)
    shown = list(dialog.command)
    assert subprocess.list2cmdline(shown) == dialog.command_edit.text()
    dialog.install_button.click()
    assert dialog.wait(60)
    assert json.loads(setup["record"].read_text()) == shown[1:]
    log = dialog.log.toPlainText()
    assert "Collecting absent==2.0" in log and "Successfully installed absent absent-helper" in log
    assert dialog.status_rows()[1] == ("absent", "ok", "2.0")
    assert dialog.progress.value() == 100
    assert dialog.result_label.text().startswith("✔ Installed absent, absent-helper.")
    assert "without restarting QGIS" in dialog.result_label.text()
    assert dialog.command_edit.text() == "Nothing to install"


def test_a_failing_pip_is_reported(qgis_app, setup, tmp_path):
    failing = tmp_path / "failing-python"
    failing.write_text(f"#!{sys.executable}\nimport sys\nprint('/x/python3: No module named pip')\nsys.exit(1)\n")
    failing.chmod(0o755)
    setup["python"] = str(failing)
    dialog = make_dialog(setup)
    dialog.install()
    assert dialog.wait(60)
    text = dialog.result_label.text()
    assert text.startswith("✖ pip failed (exit code 1)") and "ensurepip" in text
    assert dialog.status_rows()[1][1] == "missing"


def test_cancel_stops_pip(qgis_app, setup, tmp_path):
    slow = tmp_path / "slow-python"
    slow.write_text(f"#!{sys.executable}\nimport time\nprint('Collecting absent', flush=True)\ntime.sleep(60)\n")
    slow.chmod(0o755)
    setup["python"] = str(slow)
    dialog = make_dialog(setup)
    dialog.install()
    assert dialog.cancel_button.isEnabled()
    dialog.cancel()
    assert dialog.wait(20)
    assert dialog.result_label.text().startswith("✖ Cancelled")


def test_check_on_load_offers_the_dialog_only_when_a_required_package_is_missing(qgis_app, qgis_iface, monkeypatch):
    from labelmigration.core.install import package_status, plugin_requirements
    from labelmigration.ui import dependencies_dialog

    missing = package_status.Status(plugin_requirements.parse_requirements("onnxruntime==1.31.1  # required")[0],
                                    package_status.MISSING)
    pushed = []
    monkeypatch.setattr(qgis_iface.messageBar(), "pushWidget", lambda item, *args: pushed.append(item), raising=False)
    monkeypatch.setattr(dependencies_dialog, "missing_required", lambda: [])
    dependencies_dialog.check_on_load(qgis_iface)
    assert pushed == []
    monkeypatch.setattr(dependencies_dialog, "missing_required", lambda: [missing])
    opened = []
    monkeypatch.setattr(dependencies_dialog, "open_dialog", lambda parent=None: opened.append(parent))
    dependencies_dialog.check_on_load(qgis_iface)
    assert len(pushed) == 1
    from qgis.PyQt.QtWidgets import QPushButton

    button = pushed[0].findChild(QPushButton, "labelMigrationInstallDependencies")
    button.click()
    assert len(opened) == 1


def test_check_on_load_never_raises(qgis_iface, monkeypatch):
    from labelmigration.ui import dependencies_dialog

    def broken():
        raise OSError("disk gone")

    monkeypatch.setattr(dependencies_dialog, "missing_required", broken)
    dependencies_dialog.check_on_load(qgis_iface)


def test_the_real_requirements_check_is_fast_and_imports_nothing(qgis_app):
    script = textwrap.dedent("""
        import sys, time
        started = time.monotonic()
        from labelmigration.ui.dependencies_dialog import missing_required
        missing_required()
        print(time.monotonic() - started, [m for m in ("onnxruntime", "pystac_client", "sentinelsat") if m in sys.modules])
    """)
    from pathlib import Path

    import labelmigration

    import_root = str(Path(labelmigration.__path__[0]).parent)  # the symlink's folder, never the repository
    result = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {import_root!r})\n" + script],
                            capture_output=True, text=True, timeout=120,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    seconds, imported = result.stdout.split(" ", 1)
    assert imported.strip() == "[]"
    assert float(seconds) < 5
