"""GUI tier fixtures: an Xvfb X server for the session, the QGIS desktop, the output folder, and
``start_desktop``: tests/gui/desktop_session.start_desktop with those filled in (each test module's run fixture
calls it with its script, report and log names, timeouts and inputs).

Xvfb is started with ``-displayfd`` so that it picks a free display number itself (no races with
other X servers or parallel test sessions) and reports it back through a pipe.
"""
import functools
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SCREEN_SIZE = "1600x1000x24"
XVFB_START_TIMEOUT_S = 15


@pytest.fixture(scope="session")
def xvfb_display():
    """':N' of a private Xvfb server, stopped after the session; skip when Xvfb is missing."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb); the GUI tier needs an X server")
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", SCREEN_SIZE, "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + XVFB_START_TIMEOUT_S
    try:
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.2)
            if ready:
                chunk = os.read(read_fd, 32)
                if not chunk:
                    break
                number += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(read_fd)
    if not number.strip().isdigit():
        process.kill()
        _, stderr = process.communicate(timeout=5)
        pytest.fail(f"Xvfb did not report a display number (exit {process.returncode}): "
                    f"{stderr.decode(errors='replace')[-2000:]}")
    display = f":{number.strip().decode()}"
    yield display
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def qgis_desktop() -> str:
    """The QGIS desktop launcher (Debian's /usr/bin/qgis wrapper, or $QGIS_DESKTOP)."""
    path = os.environ.get("QGIS_DESKTOP") or shutil.which("qgis")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the QGIS desktop ('qgis') is not installed; the GUI tier needs it")
    return path


@pytest.fixture(scope="session")
def gui_output_dir(repo_root) -> Path:
    """test-output/gui/ under the repository root (git-ignored): screenshots a person can look at."""
    path = repo_root / "test-output" / "gui"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def bare_exit(xvfb_display, qgis_desktop, tmp_path_factory):
    """How QGIS without the plugin exits on this machine (desktop_session.bare_exit), measured once per session
    and only when a run of the plugin did not exit with 0."""
    from labelmigration.tests.gui import desktop_session

    return functools.lru_cache(maxsize=1)(functools.partial(
        desktop_session.bare_exit, tmp_path_factory.mktemp("qgis-bare"), qgis_desktop=qgis_desktop,
        display=xvfb_display))


@pytest.fixture(scope="session")
def start_desktop(xvfb_display, qgis_desktop, gui_output_dir, repo_root, bare_exit):
    """desktop_session.start_desktop with this session's X display, QGIS, output folder and checkout filled in;
    its runs carry "bare_exit" for assert_ran_to_the_end."""
    from labelmigration.tests.gui import desktop_session

    def start(*args, **kwargs):
        run = desktop_session.start_desktop(*args, qgis_desktop=qgis_desktop, display=xvfb_display,
                                            output_dir=gui_output_dir, repo_root=repo_root, **kwargs)
        run["bare_exit"] = bare_exit
        return run

    return start
