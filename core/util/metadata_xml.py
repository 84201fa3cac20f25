"""Product metadata XML, read safely: a product downloaded from a catalogue is untrusted input.

Python's XML parsers expand entities declared in a document type definition, which lets a hostile file grow
to gigabytes in memory ("billion laughs") or, with some parsers, read other files. Sentinel-2 metadata (and the
other product metadata read here) never carries a DTD, so the reader refuses any document that declares one,
before a single entity is expanded. It builds a small tree with the part of ElementTree's interface the
readers use (tag without namespace, attrib/get, text, iter, find of descendants).
"""
from typing import Dict, Iterator, List, Optional
from xml.parsers import expat


class MetadataXmlError(ValueError):
    """The text is not well-formed XML, or it declares a document type (refused)."""


class XmlNode:
    __slots__ = ("tag", "attrib", "text", "children")

    def __init__(self, tag: str, attrib: Dict[str, str]):
        self.tag = tag
        self.attrib = attrib
        self.text: Optional[str] = None  # the text before the first child, as in ElementTree
        self.children: List["XmlNode"] = []

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.attrib.get(name, default)

    def iter(self, tag: Optional[str] = None) -> Iterator["XmlNode"]:
        """This node and its descendants in document order, those named tag when given."""
        stack = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            stack.extend(reversed(node.children))

    def find_descendant(self, tag: str) -> Optional["XmlNode"]:
        """The first descendant named tag (ElementTree's find('.//tag')), or None."""
        return next((node for node in self.iter(tag) if node is not self), None)

    def __iter__(self):
        return iter(self.children)

    def __repr__(self):
        return f"<XmlNode {self.tag} {len(self.children)} children>"


def _local(name: str) -> str:
    # expat reports namespaced names as "uri}local" with namespace_separator="}"; element names are unique
    # enough in product metadata to drop the namespace
    return name.rsplit("}", 1)[-1]


def parse_metadata_xml(data) -> XmlNode:
    """The root node of an XML document (bytes or str); MetadataXmlError when it is not well-formed or
    declares a DTD."""
    parser = expat.ParserCreate(namespace_separator="}")
    stack: List[XmlNode] = []
    root: List[XmlNode] = []
    pieces: List[List[str]] = []

    def start(name, attributes):
        node = XmlNode(_local(name), {_local(k): v for k, v in attributes.items()})
        if stack:
            _close_text(stack[-1], pieces[-1])
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)
        pieces.append([])

    def end(_name):
        node = stack.pop()
        _close_text(node, pieces.pop())

    def characters(text):
        if pieces:
            pieces[-1].append(text)

    def refuse_dtd(*_args):
        raise MetadataXmlError("it declares a document type (DTD), which product metadata never has; "
                               "refused so that no entity is expanded")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise MetadataXmlError(str(error)) from error
    if not root:
        raise MetadataXmlError("no root element")
    return root[0]


def _close_text(node: XmlNode, pieces: List[str]) -> None:
    # only the text before the first child counts as the node's text (ElementTree's .text)
    if node.text is None and not node.children:
        node.text = "".join(pieces) if pieces else None
    pieces.clear()
