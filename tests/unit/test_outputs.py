"""Atomic outputs and output-path checks."""
import pytest

from labelmigration.core.errors import LabelMigrationError
from labelmigration.core.outputs import atomic_output, atomic_outputs, check_output_path


def test_output_appears_only_on_success(tmp_path):
    target = tmp_path / "out.tif"
    with atomic_output(str(target)) as temporary:
        assert not target.exists()
        with open(temporary, "w") as handle:
            handle.write("done")
    assert target.read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_failure_keeps_the_previous_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.tif"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(str(target)) as temporary:
            with open(temporary, "w") as handle:
                handle.write("half")
            with open(temporary + ".aux.xml", "w") as handle:
                handle.write("<PAM/>")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_pair_appears_together_or_not_at_all(tmp_path):
    image, label = tmp_path / "image.tif", tmp_path / "label.tif"
    with pytest.raises(LabelMigrationError, match="No output was produced"):
        with atomic_outputs(str(image), str(label)) as (image_tmp, _label_tmp):
            open(image_tmp, "w").close()  # the label is never written
    assert list(tmp_path.iterdir()) == []


def test_stale_sidecar_of_the_old_file_is_removed(tmp_path):
    target = tmp_path / "out.tif"
    target.write_text("old")
    (tmp_path / "out.tif.aux.xml").write_text("stats of the old file")
    with atomic_output(str(target)) as temporary:
        open(temporary, "w").close()
    assert not (tmp_path / "out.tif.aux.xml").exists()


def test_missing_folder_is_created_on_write_only_and_same_file_refused(tmp_path):
    nested = tmp_path / "a" / "b" / "out.tif"
    check_output_path(str(nested), [])
    assert not (tmp_path / "a").exists()  # a check creates nothing: a run that fails later leaves no folder
    with atomic_output(str(nested)) as temporary:
        open(temporary, "w").close()
    assert nested.is_file()
    source = tmp_path / "in.tif"
    source.write_text("x")
    link = tmp_path / "link.tif"
    link.symlink_to(source)
    with pytest.raises(LabelMigrationError, match="would overwrite the input"):
        check_output_path(str(link), [str(source)])
