"""README.md's algorithm reference is what `make docs` (tools/generate_docs.py) makes from the registered
algorithms' own help and tools/algorithm_notes.md."""
import importlib.util
import re

import pytest

pytestmark = pytest.mark.qgis


@pytest.fixture(scope="module")
def generate_docs(repo_root):
    spec = importlib.util.spec_from_file_location("labelmigration_generate_docs",
                                                  repo_root / "tools" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_reference_is_current(provider, generate_docs, repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert generate_docs.current_reference(readme) == generate_docs.render(provider), \
        "README.md's algorithm reference is not current: run make docs"


def test_every_algorithm_has_a_runnable_example(provider, generate_docs):
    """Each registered algorithm has its notes, and they run it through qgis_process."""
    notes = generate_docs.read_notes()
    names = sorted(algorithm.name() for algorithm in provider.algorithms())
    assert sorted(notes) == names
    for name in names:
        assert re.search(rf"qgis_process\.bin run labelmigration:{name} --", notes[name]), name


def test_rich_text_becomes_markdown(generate_docs):
    rich = ("Cuts <i>scenes</i>.<br><br><b>Folder</b> (FOLDER): &lt;title&gt;.zip, *.example.org<br>"
            "<b>Bands</b> (BANDS): <code>B02,B03</code> | more<br><br>Example: <code>run -- A=&lt;x&gt;</code>")
    assert generate_docs.help_markdown(rich) == (
        "Cuts *scenes*.\n\n"
        "- **Folder** (FOLDER): &lt;title&gt;.zip, \\*.example.org\n"
        "- **Bands** (BANDS): `B02,B03` \\| more\n\n"
        "Example: `run -- A=<x>`")
