"""Class configurations: both JSON forms, skynet-data's near-black colours, bad inputs, RGB encoding."""
import json

import numpy as np
import pytest

from labelmigration.core.labels.class_colours import (PALETTE, color_table, decode_rgb, display_colours, encode_rgb,
                                                      palette_colour, palette_colours)
from labelmigration.core.labels.class_config import ClassConfig, load_class_config, qgis_filter
from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.util.raster_write import color_table_from

SKYNET_NAMES = ["Water", "Forest", "Farmland", "Residential", "Industrial", "Road"]
SKYNET = {
    "classes": [
        {"name": "Water", "color": "#010101", "filter": "[natural] = 'water' or [waterway] = 'riverbank'"},
        {"name": "Forest", "color": "#020202", "filter": "[landuse] = 'forest' or [natural] = 'wood'"},
        {"name": "Farmland", "color": "#030303", "filter": "[landuse] = 'farmland'"},
        {"name": "Residential", "color": "#040404", "filter": "[landuse] = 'residential'"},
        {"name": "Industrial", "color": "#050505", "filter": "[landuse] = 'industrial'"},
        {"name": "Road", "color": "#060606", "stroke-width": "5", "filter": "[highway] != ''"},
    ]
}


def test_list_form():
    config = load_class_config(json.dumps([
        {"name": "residential", "color": "#ff0000", "filter": "\"landuse\" = 'residential'"},
        {"name": "building", "color": "#00F", "filter": "\"building\" IS NOT NULL"},
    ]))
    assert config == [
        ClassConfig(1, "residential", (255, 0, 0), "\"landuse\" = 'residential'"),
        ClassConfig(2, "building", (0, 0, 255), "\"building\" IS NOT NULL"),
    ]


def test_skynet_form_from_file(tmp_path):
    path = tmp_path / "classes.json"
    path.write_text(json.dumps(SKYNET))
    config = load_class_config(str(path))
    assert [c.name for c in config] == SKYNET_NAMES
    assert [c.index for c in config] == [1, 2, 3, 4, 5, 6]
    assert [c.color for c in config] == [(i, i, i) for i in range(1, 7)]
    assert config[0].filter == "\"natural\" = 'water' or \"waterway\" = 'riverbank'"
    assert config[5].filter == "\"highway\" != ''"
    assert load_class_config(path) == config  # a Path works too
    assert load_class_config(SKYNET) == config  # and parsed JSON


def test_skynet_list_without_wrapper():
    assert [c.name for c in load_class_config(json.dumps(SKYNET["classes"]))] == SKYNET_NAMES


@pytest.mark.parametrize("expression, expected", [
    ("[landuse] = 'residential'", "\"landuse\" = 'residential'"),
    ("\"landuse\" = 'residential'", "\"landuse\" = 'residential'"),
    ("[name] = '[not a field]'", "\"name\" = '[not a field]'"),
    ("[name] = 'it''s [x]' and [a b] = 1", "\"name\" = 'it''s [x]' and \"a b\" = 1"),
    ("\"odd[field]\" = 2", "\"odd[field]\" = 2"),
])
def test_qgis_filter(expression, expected):
    assert qgis_filter(expression) == expected


@pytest.mark.parametrize("text, message", [
    ("[{\"name\": \"a\", \"color\": \"#010101\", \"filter\": \"x\"", "not valid JSON"),
    ("[]", "non-empty list"),
    ("{\"colors\": []}", "without a 'classes' list"),
    ("[1]", "not a"),
    ("[{\"color\": \"#010101\", \"filter\": \"x\"}]", "has no name"),
    ("[{\"name\": \"a\", \"color\": \"#010101\", \"filter\": \"x\"}, "
     "{\"name\": \"A\", \"color\": \"#020202\", \"filter\": \"y\"}]", "same name as class 1"),
    ("[{\"name\": \"a\", \"color\": \"red\", \"filter\": \"x\"}]", "'red', which is not a colour"),
    ("[{\"name\": \"a\", \"color\": \"#01010\", \"filter\": \"x\"}]", "not a colour"),
    ("[{\"name\": \"a\", \"color\": [1, 2, 300], \"filter\": \"x\"}]", "not a colour"),
    ("[{\"name\": \"a\", \"filter\": \"x\"}]", "has no color"),
    ("[{\"name\": \"a\", \"color\": \"#000000\", \"filter\": \"x\"}]", "reserved for the background"),
    ("[{\"name\": \"a\", \"color\": \"#010101\", \"filter\": \"x\"}, "
     "{\"name\": \"b\", \"color\": \"#010101\", \"filter\": \"y\"}]", "same colour as class 1"),
    ("[{\"name\": \"a\", \"color\": \"#010101\"}]", "no filter"),
    ("[{\"name\": \"a\", \"color\": \"#010101\", \"filter\": \"  \"}]", "no filter"),
])
def test_bad_configs(text, message):
    with pytest.raises(LabelMigrationError, match=message.replace("[", r"\[")):
        load_class_config(text)


def test_missing_file_and_empty_input(tmp_path):
    with pytest.raises(LabelMigrationError, match="neither JSON nor a file that can be read: .*missing.json. does not "
                                                  "exist"):
        load_class_config(str(tmp_path / "missing.json"))
    with pytest.raises(LabelMigrationError, match="No class configuration"):
        load_class_config("")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(LabelMigrationError, match="bad.json' is not valid JSON"):
        load_class_config(str(bad))


def test_too_many_classes():
    entries = [{"name": f"c{i}", "color": f"#{i:06x}", "filter": "x"} for i in range(1, 257)]
    with pytest.raises(LabelMigrationError, match="at most 255"):
        load_class_config(entries)


def test_color_tables():
    config = load_class_config(SKYNET)
    encoding = color_table(config)
    assert encoding == {0: (0, 0, 0), **{i: (i, i, i) for i in range(1, 7)}}
    display = display_colours(config)
    assert color_table(config, display=True) == display
    assert display[0] == (0, 0, 0)
    visible = [display[i] for i in range(1, 7)]
    assert len(set(visible)) == 6
    assert all(max(c) > 60 for c in visible)  # no near-black left
    table = color_table_from(display)  # usable as a GDAL colour table
    assert table.GetCount() == 7 and table.GetColorEntry(1)[:3] == display[1]


def test_display_keeps_visible_colours_and_avoids_them():
    config = load_class_config([
        {"name": "a", "color": "#1f77b4", "filter": "x"},  # the palette's first colour, already visible
        {"name": "b", "color": "#010101", "filter": "y"},
    ])
    display = display_colours(config)
    assert display[1] == (31, 119, 180)
    assert display[2] != display[1] and max(display[2]) > 60


def test_display_colours_beyond_the_palette_are_distinct():
    config = load_class_config([{"name": f"c{i}", "color": f"#{i:02x}{i:02x}{i:02x}", "filter": "x"}
                                for i in range(1, 31)])
    display = display_colours(config)
    assert len(set(display.values())) == 31


def test_rgb_round_trip():
    config = load_class_config(SKYNET)
    classes = np.array([[0, 1, 2, 3],
                        [4, 5, 6, 0],
                        [6, 6, 1, 0]], np.uint8)
    rgb = encode_rgb(classes, config)
    assert rgb.shape == (3, 3, 4) and rgb.dtype == np.uint8
    assert rgb[:, 0, 1].tolist() == [1, 1, 1] and rgb[:, 1, 2].tolist() == [6, 6, 6]
    assert (rgb[0] == classes).all()  # skynet's greys: the red channel is the class index
    assert np.array_equal(decode_rgb(rgb, config), classes)


def test_rgb_round_trip_with_real_colours():
    config = load_class_config([{"name": "a", "color": "#ff0000", "filter": "x"},
                                {"name": "b", "color": "#00ff80", "filter": "y"}])
    classes = np.array([[0, 1], [2, 1]], np.uint8)
    rgb = encode_rgb(classes, config)
    assert rgb[:, 1, 0].tolist() == [0, 255, 128]
    assert np.array_equal(decode_rgb(rgb, config), classes)


def test_encode_unknown_class_and_decode_unknown_colour():
    config = load_class_config(SKYNET)
    with pytest.raises(LabelMigrationError, match=r"\[7\]"):
        encode_rgb(np.array([[7]], np.uint8), config)
    with pytest.raises(LabelMigrationError, match="belong to no class"):
        decode_rgb(np.full((3, 1, 1), 9, np.uint8), config)


# ----- issue 13: hostile configurations ----------------------------------------------------------------------

def test_json_nested_too_deeply_is_a_message_not_a_recursion_error():
    # the issue: a class JSON nested 5,000 deep raised RecursionError
    with pytest.raises(LabelMigrationError, match="not valid JSON for a class configuration: it is nested too deeply"):
        load_class_config("[" * 5000 + "]" * 5000)


def test_config_files_and_texts_over_the_metadata_limit_are_not_read(tmp_path):
    from labelmigration.core.util import limits

    big = tmp_path / "classes.json"
    big.write_text(json.dumps(SKYNET) + " " * 3000)
    with limits.using(limits.with_values(max_metadata_mb=0.002)):
        with pytest.raises(LabelMigrationError, match=r"class configuration file '.*classes\.json' is [\d.]+ MB, more "
                                                      r"than the limit"):
            load_class_config(str(big))
        with pytest.raises(LabelMigrationError, match=r"The class configuration is [\d.]+ MB, more than the limit"):
            load_class_config(big.read_text())
    assert len(load_class_config(str(big))) == 6  # within the default limit


def test_a_folder_is_no_config_file(tmp_path):
    with pytest.raises(LabelMigrationError, match=r"neither JSON nor a file that can be read: '.*' is a folder"):
        load_class_config(str(tmp_path))


# matplotlib's tab20 in the order core/labels/class_colours.py has always listed it: the colour tables that segment and
# rasterizelabels wrote before the palette had one home (qgis_common/styles.py's own gold-first palette went away)
TAB20 = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
         (227, 119, 194), (188, 189, 34), (23, 190, 207), (127, 127, 127), (174, 199, 232), (255, 187, 120),
         (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (219, 219, 141),
         (158, 218, 229), (199, 199, 199))


def test_the_one_palette():
    assert PALETTE == TAB20 and len(set(PALETTE)) == len(PALETTE)
    assert [palette_colour(i) for i in (1, 2, 20, 21, 22)] == [TAB20[0], TAB20[1], TAB20[19], TAB20[0], TAB20[1]]
    assert palette_colours(3) == {0: (0, 0, 0), 1: TAB20[0], 2: TAB20[1], 3: TAB20[2]}
    # near-black classes get the palette's colours in order, skipping those the config itself uses
    config = load_class_config([{"name": "a", "color": "#ff7f0e", "filter": "x"},
                                {"name": "b", "color": "#010101", "filter": "y"},
                                {"name": "c", "color": "#020202", "filter": "z"}])
    assert display_colours(config) == {0: (0, 0, 0), 1: TAB20[1], 2: TAB20[0], 3: TAB20[2]}


def test_no_second_palette_in_the_sources():
    """A list of colours anywhere else in the plugin would be a second palette that drifts from this one."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hex_list = re.compile(r'("#[0-9a-fA-F]{6}",\s*){2,}"#[0-9a-fA-F]{6}"')
    rgb_list = re.compile(r'(\(\d{1,3}, \d{1,3}, \d{1,3}\),\s*){3,}')
    sources = [p for folder in ("core", "processing", "ui") for p in (root / folder).rglob("*.py")]
    offenders = [str(p.relative_to(root)) for p in sources
                 if p.name != "class_colours.py" and (hex_list.search(p.read_text(encoding="utf-8"))
                                                      or rgb_list.search(p.read_text(encoding="utf-8")))]
    assert sources and offenders == []
