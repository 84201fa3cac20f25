"""The plugin zip passes the scan that plugins.qgis.org runs on every upload.

Where the expected answer comes from: the plugins site's scanner, QGIS-Django (now
qgis/QGIS-Plugins-Website) qgis-app/plugins/security_scanner.py, ``PluginSecurityScanner.scan()``. It
extracts the zip and runs five checks; each is repeated here the way the site runs it, and each must
find nothing:

1. bandit: ``bandit -r <extracted folder> -f json --quiet -ll`` (medium and high severity). Site admins
   may instead pick single tests, and then every severity is reported, so here bandit runs WITHOUT
   ``-ll``: zero findings at all severities, LOW included;
2. detect-secrets: ``detect-secrets scan --all-files --exclude-files 'metadata\\.txt'
   --exclude-files '\\.secrets\\.baseline' .`` run inside the extracted folder;
3. flake8: ``flake8 --format=json --max-line-length=120 <every .py file>``; without flake8-json the site
   falls back to the plain output, which is parsed here (``--isolated`` only keeps a config file around
   the test's working folder out; the site's scan reads none either);
4. file permissions: a ``.py`` member whose unix mode (``ZipInfo.external_attr >> 16``) has an execute
   bit;
5. suspicious files: a member whose base name starts with "." (the site lets .gitignore and
   .gitattributes pass; newer versions also .bandit, .secrets.baseline and .flake8, but the plugin ships
   none of these, so the stricter list is used) or ends with .exe .dll .so .dylib .bat .sh .ps1 .cmd.

What the sources may do to pass: targeted, per-line suppressions only, ``# nosec BXXX`` (bandit) and
``# noqa: CODE`` (flake8), each on the line it excuses, with a short reason; no blanket ``# nosec`` or
``# noqa`` and no shipped configuration that turns checks off (test_suppressions_are_targeted).

Each check also has a test proving it can fail: a small fake zip with ``eval(input())``, an over-long
line, an AWS-key-like string, an executable .py, a hidden file and a shell script is caught by the same
helpers. The tools are the pins of requirements-dev.txt (bandit, flake8, detect-secrets), found next to
the Python that runs the tests or on PATH; a test whose tool is missing is skipped, saying which.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_TOOL = REPO_ROOT / "tools" / "package.py"
TOOL_TIMEOUT = 300  # seconds; each tool takes a few seconds on the plugin
MAX_LINE_LENGTH = 120  # the site's flake8 --max-line-length
SUSPICIOUS_EXTENSIONS = (".exe", ".dll", ".so", ".dylib", ".bat", ".sh", ".ps1", ".cmd")
ALLOWED_HIDDEN = {".gitignore", ".gitattributes"}  # what every version of the site's scanner lets pass
BINARY_SUFFIXES = (".pyc", ".pyo", ".so", ".dll", ".exe")  # the site skips these in detect-secrets' results
# configuration that would turn the site's checks off (or baseline secrets) if the zip shipped it
CHECK_CONFIGS = {".bandit", ".flake8", "setup.cfg", "tox.ini", ".secrets.baseline"}
BLANKET_NOSEC = re.compile(r"#\s*nosec\b(?!:?\s*B\d{3})")
BLANKET_NOQA = re.compile(r"#\s*noqa\b(?!:\s?[A-Z]+\d+)", re.IGNORECASE)  # flake8 reads "# noqa : E501" as blanket


# ----- helpers: the site's five checks --------------------------------------------------------------

def tool(name: str) -> Optional[str]:
    """The command line tool ``name``: beside the running Python (the .venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def require_tool(name: str) -> str:
    found = tool(name)
    if found is None and os.environ.get("LM_MATRIX_QGIS"):
        pytest.skip(f"{name} reads the plugin's source text, the same on every QGIS version: the host leg of "
                    f"make test runs the plugins site's {name} check (the matrix roots do not install it)")
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -r requirements-dev.txt pins it): "
                    f"the plugins site's {name} check cannot run here")
    return found


def build_plugin_zip(target: Path) -> Path:
    """`make package`: tools/package.py writes the zip that is uploaded to the plugins site."""
    subprocess.run([sys.executable, str(PACKAGE_TOOL), str(target)], cwd=REPO_ROOT, check=True,
                   capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    return target


def extract(zip_path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    return folder


def python_files(folder: Path) -> List[str]:
    return sorted(str(path) for path in folder.rglob("*.py") if path.is_file())


def _relative(text: str, folder: Path) -> str:
    return text.replace(str(folder) + os.sep, "").replace(str(folder), "")


def bandit_findings(folder: Path, all_severities: bool = True) -> List[str]:
    """bandit -r FOLDER -f json --quiet (the site adds -ll unless an admin picks tests; all_severities
    leaves it out). Files bandit could not parse are findings too: nothing in them was checked."""
    command = [require_tool("bandit"), "-r", str(folder), "-f", "json", "--quiet"]
    if not all_severities:
        command.append("-ll")
    done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"bandit gave no JSON (exit {done.returncode}): {done.stdout[:500]} {done.stderr[:2000]}")
    findings = [f"{_relative(issue['filename'], folder)}:{issue['line_number']}: {issue['test_id']} "
                f"[{issue['issue_severity']}/{issue['issue_confidence']}] {issue['issue_text']}"
                for issue in report.get("results", [])]
    findings += [f"{_relative(error['filename'], folder)}: not scanned: {error['reason']}"
                 for error in report.get("errors", [])]
    return findings


def detect_secrets_findings(folder: Path) -> List[str]:
    """detect-secrets scan --all-files --exclude-files 'metadata\\.txt' --exclude-files '\\.secrets\\.baseline' .
    in FOLDER, as the site runs it."""
    command = [require_tool("detect-secrets"), "scan", "--all-files", "--exclude-files", r"metadata\.txt",
               "--exclude-files", r"\.secrets\.baseline", "."]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"detect-secrets gave no JSON (exit {done.returncode}): {done.stdout[:500]} "
                    f"{done.stderr[:2000]}")
    return [f"{path}:{secret.get('line_number', 0)}: {secret.get('type', 'secret')}"
            for path, secrets in sorted(report.get("results", {}).items()) if not path.endswith(BINARY_SUFFIXES)
            for secret in secrets]


def flake8_findings(files: List[str], folder: Path) -> List[str]:
    """flake8 --max-line-length=120 FILES (the site's plain-output fallback: one finding a line)."""
    if not files:
        return []
    command = [require_tool("flake8"), "--isolated", f"--max-line-length={MAX_LINE_LENGTH}", *files]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    if done.returncode not in (0, 1):
        pytest.fail(f"flake8 failed (exit {done.returncode}): {done.stderr[:2000]}")
    return [_relative(line, folder) for line in done.stdout.splitlines() if line.strip()]


def permission_findings(zip_path: Path) -> List[str]:
    """A .py member whose unix mode has an execute bit."""
    with zipfile.ZipFile(zip_path) as archive:
        return [f"{info.filename}: mode {oct(info.external_attr >> 16)}: executable Python file"
                for info in archive.infolist()
                if (info.external_attr >> 16) & 0o111 and info.filename.endswith(".py")]


def suspicious_findings(zip_path: Path) -> List[str]:
    """Hidden members (base name starting with ".") and executables or native libraries by extension."""
    findings = []
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            name = os.path.basename(info.filename)
            if name.startswith(".") and name not in ALLOWED_HIDDEN:
                findings.append(f"{info.filename}: hidden file")
            if info.filename.lower().endswith(SUSPICIOUS_EXTENSIONS):
                findings.append(f"{info.filename}: executable or binary file")
    return findings


def report(findings: List[str]) -> str:
    return f"{len(findings)} finding(s):\n" + "\n".join(findings)


# ----- the plugin zip ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory) -> Path:
    return build_plugin_zip(tmp_path_factory.mktemp("site-checks") / "labelmigration.zip")


@pytest.fixture(scope="module")
def plugin_folder(plugin_zip) -> Path:
    return extract(plugin_zip, plugin_zip.parent / "extracted")


def test_plugin_zip_has_no_bandit_findings_at_any_severity(plugin_folder):
    findings = bandit_findings(plugin_folder)
    assert findings == [], report(findings)


def test_plugin_zip_has_no_detect_secrets_findings(plugin_folder):
    findings = detect_secrets_findings(plugin_folder)
    assert findings == [], report(findings)


def test_plugin_zip_has_no_flake8_findings(plugin_folder):
    files = python_files(plugin_folder)
    assert files, "the zip holds no Python file"
    findings = flake8_findings(files, plugin_folder)
    assert findings == [], report(findings)


def test_plugin_zip_has_no_executable_python_files(plugin_zip):
    findings = permission_findings(plugin_zip)
    assert findings == [], report(findings)


def test_plugin_zip_has_no_hidden_or_executable_files(plugin_zip):
    findings = suspicious_findings(plugin_zip)
    assert findings == [], report(findings)


def test_suppressions_are_targeted(plugin_zip, plugin_folder):
    """Only per-line `# nosec BXXX` and `# noqa: CODE`; no shipped file that configures the checks."""
    findings = []
    for path in python_files(plugin_folder):
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if BLANKET_NOSEC.search(line) or BLANKET_NOQA.search(line):
                    findings.append(f"{_relative(path, plugin_folder)}:{number}: {line.strip()}")
    with zipfile.ZipFile(plugin_zip) as archive:
        findings += [f"{name}: configures the checks" for name in archive.namelist()
                     if os.path.basename(name) in CHECK_CONFIGS]
    assert findings == [], report(findings)


# ----- each check can fail ------------------------------------------------------------------------

FILE_MODE, EXECUTABLE_MODE = 0o100644, 0o100755
FAKE_MEMBERS = {  # name -> (text, unix mode)
    "fake/__init__.py": ("", FILE_MODE),
    "fake/evil.py": ("eval(input())\n", FILE_MODE),
    "fake/long.py": ("VALUE = '" + "x" * MAX_LINE_LENGTH + "'\n", FILE_MODE),
    "fake/keys.txt": ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", FILE_MODE),
    "fake/run.py": ("print('hello')\n", EXECUTABLE_MODE),
    "fake/.hidden": ("hidden\n", FILE_MODE),
    "fake/.gitignore": ("*.pyc\n", FILE_MODE),  # allowed by the site
    "fake/install.sh": ("echo hello\n", FILE_MODE),
}


@pytest.fixture(scope="module")
def fake_zip(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site-checks-fake") / "fake.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (text, mode) in FAKE_MEMBERS.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            archive.writestr(info, text)
    return target


@pytest.fixture(scope="module")
def fake_folder(fake_zip) -> Path:
    return extract(fake_zip, fake_zip.parent / "extracted")


def test_bandit_check_catches_eval_even_at_the_sites_default_levels(fake_folder):
    for all_severities in (True, False):
        findings = bandit_findings(fake_folder, all_severities=all_severities)
        assert any(finding.startswith("fake/evil.py:1: B307") for finding in findings), report(findings)


def test_detect_secrets_check_catches_an_aws_key(fake_folder):
    findings = detect_secrets_findings(fake_folder)
    assert "fake/keys.txt:1: AWS Access Key" in findings, report(findings)


def test_flake8_check_catches_an_overlong_line(fake_folder):
    findings = flake8_findings(python_files(fake_folder), fake_folder)
    assert any(finding.startswith("fake/long.py:1:121: E501") for finding in findings), report(findings)


def test_permission_check_catches_an_executable_python_file(fake_zip):
    assert permission_findings(fake_zip) == ["fake/run.py: mode 0o100755: executable Python file"]


def test_suspicious_files_check_catches_hidden_files_and_scripts(fake_zip):
    assert suspicious_findings(fake_zip) == ["fake/.hidden: hidden file",
                                             "fake/install.sh: executable or binary file"]


@pytest.mark.parametrize("line, blanket", [
    ("import subprocess  # nosec B404  # reason", False), ("x = 1  # nosec: B105", False),
    ("x = 1  # nosec", True), ("x = 1  #nosec (a reason, but no test id)", True),
    ("f = lambda: 1  # noqa: E731", False), ("def x():  # noqa:N802 (Qt's name)", False),
    ("x = 1  # noqa", True), ("x = 1  # noqa : E501", True)])
def test_blanket_suppressions_are_told_from_targeted_ones(line, blanket):
    assert bool(BLANKET_NOSEC.search(line) or BLANKET_NOQA.search(line)) is blanket
