"""The path guard and the name sanitiser (core/util/paths.py), with property-based tests (hypothesis).

The properties come from the issue's list of what must never happen: a name from a catalogue or a layer
that writes outside the chosen folder ('../../victim', an absolute title), an output that lands on an
input or on a file of its dataset (a GeoTIFF's .aux.xml, a shapefile's .dbf), two outputs on one file,
an output folder nested with an input folder.
"""
import os
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.util.paths import (MAX_NAME_LENGTH, check_paths, is_within, local_file, path_inside,
                                            related_files, safe_file_name, same_file, unreadable_reason)

# any text a catalogue could send: separators, dots, control characters, whole paths, unicode
hostile_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["..", ".", "/", "\\", "~", "C:", "\x00", "\n", " ", "a", "ä", "名", ":", "*"]),
             max_size=40).map("".join),
    st.builds(lambda parts: "/".join(parts), st.lists(st.sampled_from(["..", "etc", "passwd", "", "."]), max_size=8)),
)
FOLDER_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(hostile_text)
@settings(max_examples=500, deadline=None)
def test_a_sanitised_name_is_one_harmless_path_component(name):
    cleaned = safe_file_name(name)
    assert cleaned and len(cleaned) <= MAX_NAME_LENGTH
    assert "/" not in cleaned and "\\" not in cleaned and "\x00" not in cleaned
    assert ".." not in cleaned and not cleaned.startswith((".", " ")) and not cleaned.endswith((".", " "))
    assert all(ord(character) >= 32 and character != "\x7f" for character in cleaned)
    assert not os.path.isabs(cleaned) and os.path.basename(cleaned) == cleaned
    assert safe_file_name(cleaned) == cleaned  # idempotent: a clean name stays as it is


@given(hostile_text)
@FOLDER_SETTINGS
def test_a_sanitised_name_always_lands_inside_the_folder(tmp_path, name):
    target = path_inside(str(tmp_path), safe_file_name(name))
    assert os.path.dirname(os.path.realpath(target)) == os.path.realpath(tmp_path)


@given(hostile_text)
@FOLDER_SETTINGS
def test_path_inside_refuses_every_escape(tmp_path, name):
    if "\x00" in name:
        with pytest.raises(LabelMigrationError, match="NUL"):
            path_inside(str(tmp_path), name)
        return
    joined = os.path.realpath(os.path.join(str(tmp_path), name))
    inside = joined.startswith(os.path.realpath(tmp_path) + os.sep)
    if inside:
        assert is_within(path_inside(str(tmp_path), name), str(tmp_path))
    else:
        with pytest.raises(LabelMigrationError, match="outside the folder"):
            path_inside(str(tmp_path), name)


@pytest.mark.parametrize("name, expected", [
    ("S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_20200815T130012.SAFE.zip",
     "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_20200815T130012.SAFE.zip"),  # real names pass unchanged
    ("../../victim", "victim"), ("/etc/passwd", "etc_passwd"), ("a/../b", "a_b"), ("CON", "_CON"), ("", "unnamed"),
    ("a\x00b\nc", "a_b_c"), ("  .hidden. ", "hidden"),
])
def test_sanitiser_examples(name, expected):
    assert safe_file_name(name) == expected


def test_long_names_keep_their_extension():
    cleaned = safe_file_name("x" * 10_000 + ".zip")
    assert len(cleaned) == MAX_NAME_LENGTH and cleaned.endswith(".zip")


def test_symlinked_escape_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "link").symlink_to(outside)
    with pytest.raises(LabelMigrationError, match="outside the folder"):
        path_inside(str(folder), "link", "victim.zip")


# -- the guard ------------------------------------------------------------------------------------------------
names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
extensions = st.sampled_from([".tif", ".gpkg", ".csv", ".shp", ".png", ".json"])


@given(stem=names, extension=extensions, via=st.sampled_from(["same", "dot", "link", "hardlink", "sidecar"]))
@FOLDER_SETTINGS
def test_an_output_that_reaches_an_input_is_always_refused(tmp_path, stem, extension, via):
    folder = tmp_path / stem
    folder.mkdir(exist_ok=True)
    source = folder / f"{stem}{extension}"
    source.write_bytes(b"input")
    if via == "same":
        output = str(source)
    elif via == "dot":
        output = os.path.join(str(folder), ".", "..", stem, source.name)
    elif via == "link":
        output = str(folder / f"link{extension}")
        if not os.path.lexists(output):
            os.symlink(source, output)
    elif via == "hardlink":
        output = str(folder / f"hard{extension}")
        if not os.path.exists(output):
            os.link(source, output)
    else:
        output = str(source) + ".aux.xml"
    with pytest.raises(LabelMigrationError, match="would overwrite the input"):
        check_paths(inputs=[("INPUT", str(source))], outputs=[("OUTPUT", output)])


@given(first=names, second=names, extension=extensions)
@FOLDER_SETTINGS
def test_distinct_outputs_beside_distinct_inputs_pass(tmp_path, first, second, extension):
    assume(first != second)
    source = tmp_path / f"in_{first}{extension}"
    source.write_bytes(b"x")
    check_paths(inputs=[("INPUT", str(source))],
                outputs=[("A", str(tmp_path / f"a_{first}.tif")), ("B", str(tmp_path / f"b_{second}.csv"))])


@given(stem=names, depth=st.integers(0, 3), direction=st.sampled_from(["output-inside", "input-inside"]))
@FOLDER_SETTINGS
def test_nested_folders_are_always_refused(tmp_path, stem, depth, direction):
    outer = tmp_path / stem
    inner = outer.joinpath(*["sub"] * depth)
    inner.mkdir(parents=True, exist_ok=True)
    output, source = (inner, outer) if direction == "output-inside" else (outer, inner)
    with pytest.raises(LabelMigrationError, match="(is|is nested with) the input folder"):
        check_paths(input_folders=[("LABELS", str(source))], output_folders=[("OUTPUT_FOLDER", str(output))])


def test_shapefile_parts_and_world_files_belong_to_their_dataset(tmp_path):
    shapefile = tmp_path / "roads.shp"
    assert str(tmp_path / "roads.dbf") in related_files(str(shapefile))
    with pytest.raises(LabelMigrationError, match="would overwrite"):
        check_paths(inputs=[("INPUT", str(shapefile))], outputs=[("OUTPUT_TABLE", str(tmp_path / "roads.dbf"))])
    # a PNG label and the GeoTIFF made from it share a stem but no file: allowed
    check_paths(inputs=[("INPUT", str(tmp_path / "mask.png"))], outputs=[("OUTPUT", str(tmp_path / "mask.tif"))])


def test_outputs_on_one_file_and_exclusive_folders(tmp_path):
    with pytest.raises(LabelMigrationError, match="OUTPUT and OUTPUT_PROBABILITY are the same file"):
        check_paths(outputs=[("OUTPUT", str(tmp_path / "m.tif")), ("OUTPUT_PROBABILITY", str(tmp_path / "m.tif"))])
    label = tmp_path / "out" / "images" / "a.tif"
    label.parent.mkdir(parents=True)
    label.write_bytes(b"x")
    check_paths(inputs=[("LABEL_FILES", str(label))], output_folders=[("FOLDER", str(tmp_path / "out"))])
    with pytest.raises(LabelMigrationError, match="lies inside the output folder OUTPUT_FOLDER"):
        check_paths(inputs=[("LABEL_FILES", str(label))], output_folders=[("OUTPUT_FOLDER", str(tmp_path / "out"))],
                    exclusive_folders=["OUTPUT_FOLDER"])


def test_gdal_source_strings_map_to_their_files(tmp_path):
    assert local_file(f"{tmp_path}/x.gpkg|layername=footprints") == f"{tmp_path}/x.gpkg"
    assert local_file(f"/vsizip/{tmp_path}/p.SAFE.zip/p.SAFE/MTD_MSIL2A.xml") == f"{tmp_path}/p.SAFE.zip"
    assert local_file("/vsicurl/https://example.org/a.tif") is None
    assert local_file("memory:scenes") is None and local_file("postgres:dbname=x") is None
    assert local_file(r"C:\data\a.tif") == r"C:\data\a.tif"  # a drive letter is no URL scheme
    # GDAL's subdataset names (as GDAL's SENTINEL2 and netCDF drivers list them): the file behind them
    assert local_file(f"SENTINEL2_L2A:{tmp_path}/p.SAFE/MTD_MSIL2A.xml:10m:EPSG_32632") == \
        f"{tmp_path}/p.SAFE/MTD_MSIL2A.xml"
    assert local_file(f"SENTINEL2_L1C:/vsizip/{tmp_path}/p.SAFE.zip/p.SAFE/MTD_MSIL1C.xml:TCI:EPSG_32632") == \
        f"{tmp_path}/p.SAFE.zip"
    assert local_file(f'NETCDF:"{tmp_path}/a.nc":temperature') == f"{tmp_path}/a.nc"
    product = tmp_path / "p.SAFE.zip"
    product.write_bytes(b"PK")
    with pytest.raises(LabelMigrationError, match="would overwrite the input"):
        check_paths(inputs=[("SCENE", f"/vsizip/{product}/p.SAFE/MTD_MSIL2A.xml")], outputs=[("OUTPUT", str(product))])


def test_same_file_follows_the_file_system_not_the_spelling(tmp_path):
    upper, lower = tmp_path / "Scene.TIF", tmp_path / "scene.tif"
    upper.write_bytes(b"x")
    # Linux file systems tell case apart: without a file of the other spelling, they are two paths
    assert same_file(str(upper), str(lower)) == lower.exists()
    lower.write_bytes(b"y") if not lower.exists() else None
    assert same_file(str(upper), str(lower)) == os.path.samefile(upper, lower)


def test_unreadable_reasons(tmp_path):
    assert unreadable_reason(str(tmp_path / "missing.tif")) == f"'{tmp_path / 'missing.tif'}' does not exist"
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    assert "is an empty file" in unreadable_reason(str(empty))
    loop = tmp_path / "loop.tif"
    loop.symlink_to(loop)
    assert "loops back on itself" in unreadable_reason(str(loop))
    (tmp_path / "dangling.tif").symlink_to(tmp_path / "nowhere.tif")
    assert "broken link" in unreadable_reason(str(tmp_path / "dangling.tif"))
    assert "is a file, not a folder" in unreadable_reason(str(empty), folder=True)
    assert unreadable_reason("/vsicurl/https://example.org/a.tif") is None
