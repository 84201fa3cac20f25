"""core/util/metadata_xml.py against the ElementTree answers it replaces, on product metadata written to
the layout of real Sentinel-2 metadata and on small documents."""
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from labelmigration.core.util.metadata_xml import MetadataXmlError, parse_metadata_xml


def _strip(tag):
    return tag.split("}", 1)[-1]


def _same_tree(node, element):
    assert node.tag == _strip(element.tag)
    assert node.attrib == {_strip(k): v for k, v in element.attrib.items()}
    assert node.text == element.text
    assert len(node.children) == len(element)
    for child, sub in zip(node.children, element):
        _same_tree(child, sub)


def test_the_tree_matches_elementtree_on_product_metadata(tmp_path):
    """Every XML document of a test SAFE product (tests/support/safe_products.py, written to the layout and
    names of real L2A metadata) parses to the same tree as ElementTree gives (the parser it replaces)."""
    from labelmigration.tests.support.safe_products import make_safe_product

    product = make_safe_product(tmp_path, "L2A", "05.09", size_10m=60)
    documents = sorted(Path(product.path).rglob("*.xml"))
    assert any(p.name.startswith("MTD_MSIL2A") for p in documents) and any(p.name == "MTD_TL.xml" for p in documents)
    for path in documents:
        data = path.read_bytes()
        _same_tree(parse_metadata_xml(data), ElementTree.fromstring(data))


def test_iter_find_get_and_text():
    root = parse_metadata_xml('<a xmlns:n="urn:x"><n:b k="1">one<c/>tail</n:b><b k="2">two</b><d><b>three</b></d></a>')
    assert [b.get("k") for b in root.iter("b")] == ["1", "2", None]
    assert root.find_descendant("b").text == "one"
    assert root.find_descendant("a") is None  # descendants only, as ElementTree's find('.//a')
    assert [node.tag for node in root.iter()] == ["a", "b", "c", "b", "d", "b"]
    assert root.find_descendant("c").text is None


@pytest.mark.parametrize("text, message", [
    ("<a><b></a>", "mismatched tag"),
    ("", "no element found"),
    ('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "declares a document type"),
    ('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', "declares a document type"),
])
def test_bad_documents_are_refused(text, message):
    with pytest.raises(MetadataXmlError, match=message):
        parse_metadata_xml(text)
