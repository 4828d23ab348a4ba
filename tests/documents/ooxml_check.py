"""Validating the parts of a written .docx (or .xlsx) against the OOXML schemas.

The schemas are not part of the repository: ``CLAUSEBOT_OOXML_SCHEMAS`` names the folder
that holds ``ecma-376-transitional/``, ``dcmi-w3c/`` and ``ms-extensions/`` (by default
``/work/shared/ooxml-schemas``). Without it the checks are skipped, unless
CLAUSEBOT_REQUIRE_OFFICE=1, in which case they fail.

Markup compatibility is processed first, as a consumer does: the namespaces a part lists
in ``mc:Ignorable`` (Word's w14, w15, ...) are removed with their elements and attributes,
and so is ``mc:Ignorable`` itself; what remains must be valid ECMA-376 transitional. The
comment-thread part (``word/commentsExtended.xml``) is outside ECMA-376 and is validated
against the smaller schema written from [MS-DOCX].
"""

from __future__ import annotations

import functools
import io
import os
import zipfile
from pathlib import Path

import pytest
from lxml import etree

MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
W15_NS = "http://schemas.microsoft.com/office/word/2012/wordml"
W16CID_NS = "http://schemas.microsoft.com/office/word/2016/wordml/cid"
_IGNORABLE = f"{{{MC_NS}}}Ignorable"

# Imports the stored schemas leave out: dml-main.xsd uses them only inside an xsd:any
# with lax processing, so empty schemas stand in for them.
_STUBS = {
    "dml-chart.xsd": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "dml-diagram.xsd": "http://schemas.openxmlformats.org/drawingml/2006/diagram",
    "dml-lockedCanvas.xsd": "http://schemas.openxmlformats.org/drawingml/2006/lockedCanvas",
}
_DUBLIN_CORE = {
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dc.xsd": "dc.xsd",
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dcterms.xsd": "dcterms.xsd",
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dcmitype.xsd": "dcmitype.xsd",
}

# The schema (by file, relative to the schema folder) of each root element checked.
_ROOTS = {
    f"{{{W_NS}}}document": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}comments": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}styles": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}settings": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}numbering": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}fonts": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}webSettings": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}hdr": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}ftr": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}footnotes": "ecma-376-transitional/wml.xsd",
    f"{{{W_NS}}}endnotes": "ecma-376-transitional/wml.xsd",
    "{http://schemas.openxmlformats.org/package/2006/content-types}Types": "ecma-376-transitional/opc-contentTypes.xsd",
    "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships": (
        "ecma-376-transitional/opc-relationships.xsd"
    ),
    "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}coreProperties": (
        "ecma-376-transitional/opc-coreProperties.xsd"
    ),
    "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Properties": (
        "ecma-376-transitional/shared-documentPropertiesExtended.xsd"
    ),
    f"{{{S_NS}}}workbook": "ecma-376-transitional/sml.xsd",
    f"{{{S_NS}}}worksheet": "ecma-376-transitional/sml.xsd",
    f"{{{S_NS}}}styleSheet": "ecma-376-transitional/sml.xsd",
    f"{{{S_NS}}}sst": "ecma-376-transitional/sml.xsd",
    f"{{{W15_NS}}}commentsEx": "ms-extensions/w15-comments-people.xsd",
    f"{{{W16CID_NS}}}commentsIds": "ms-extensions/w16cid-comments-ids.xsd",
}


def schema_folder() -> Path:
    folder = Path(os.environ.get("CLAUSEBOT_OOXML_SCHEMAS", "/work/shared/ooxml-schemas"))
    if (folder / "ecma-376-transitional" / "wml.xsd").is_file():
        return folder
    if os.environ.get("CLAUSEBOT_REQUIRE_OFFICE") == "1":
        pytest.fail(f"CLAUSEBOT_REQUIRE_OFFICE=1 but the OOXML schemas are not in {folder}")
    pytest.skip(f"OOXML schemas not in {folder} (set CLAUSEBOT_OOXML_SCHEMAS)")


class _Resolver(etree.Resolver):
    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        name = url.rsplit("/", 1)[-1]
        if url in _DUBLIN_CORE:
            return self.resolve_filename(str(self.folder / "dcmi-w3c" / _DUBLIN_CORE[url]), context)
        if name in _STUBS and not (self.folder / "ecma-376-transitional" / name).exists():
            stub = (
                '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
                f'targetNamespace="{_STUBS[name]}" elementFormDefault="qualified"/>'
            )
            return self.resolve_string(stub, context)
        return None


@functools.cache
def _schema(folder: Path, relative: str) -> etree.XMLSchema:
    parser = etree.XMLParser()
    parser.resolvers.add(_Resolver(folder))
    # The xml: namespace (xml:space) is imported without a location by the ECMA files.
    xml_xsd = (folder / "dcmi-w3c" / "xml.xsd").as_uri()
    driver = (
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:clausebot:driver">'
        f'<xsd:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="{xml_xsd}"/>'
        f'<xsd:import namespace="{_target_namespace(folder / relative)}" '
        f'schemaLocation="{(folder / relative).as_uri()}"/></xsd:schema>'
    )
    document = etree.parse(io.BytesIO(driver.encode()), parser, base_url=str(folder / "driver.xsd"))
    return etree.XMLSchema(document)


def _target_namespace(path: Path) -> str:
    return etree.parse(str(path)).getroot().get("targetNamespace", "")


def process_compatibility(root: etree._Element) -> etree._Element:
    """``root`` as a consumer that knows none of its ignorable namespaces sees it."""
    root = etree.fromstring(etree.tostring(root))
    ignorable: set[str] = set()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        prefixes = element.get(_IGNORABLE)
        if prefixes:
            ignorable.update(element.nsmap[prefix] for prefix in prefixes.split())
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        if etree.QName(element).namespace in ignorable:
            element.getparent().remove(element)
            continue
        for name in list(element.attrib):
            if name == _IGNORABLE or etree.QName(name).namespace in ignorable:
                del element.attrib[name]
    etree.cleanup_namespaces(root)
    return root


def validation_errors(data: bytes) -> dict[str, list[str]]:
    """Schema errors of every XML part of ``data`` that a known schema covers, by part."""
    folder = schema_folder()
    errors: dict[str, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if not (name.endswith(".xml") or name.endswith(".rels")):
                continue
            root = etree.fromstring(package.read(name))
            relative = _ROOTS.get(root.tag)
            if relative is None:
                continue
            schema = _schema(folder, relative)
            processed = process_compatibility(root)
            if not schema.validate(processed):
                errors[name] = [f"{e.line}: {e.message}" for e in list(schema.error_log)[:10]]
    return errors


def validated_parts(data: bytes) -> set[str]:
    """The parts of ``data`` that :func:`validation_errors` checks."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {
            name
            for name in package.namelist()
            if (name.endswith(".xml") or name.endswith(".rels")) and etree.fromstring(package.read(name)).tag in _ROOTS
        }
