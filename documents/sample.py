"""A realistic sample draft, with the sectoral bodies and Member States to consult.

The draft is a zero draft of the ASEAN Framework and Plan of Action for the
Implementation of the ASEAN Declaration on Strengthening Social Protection, as the
ASEAN Secretariat would circulate it. It deliberately mixes the ways real drafts are
numbered, so that it exercises the parser end to end:

* sections 1, 2 and 6 have typed heading numbers and typed clause numbers ("1.1",
  "2.3.1", "a)", "(a)", "(i)");
* sections 3, 4 and 5 use Word's automatic numbering, for the headings ("%1.") as well
  as for the clauses ("%1.%2", "%3)"), from a multi-level list written into
  numbering.xml;
* section 6 has a bulleted list whose numbering comes from the "List Bullet" style;
* section 1 opens with an unnumbered preamble, and section 5 has a table inside a
  clause.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any

import docx
from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.shared import Cm, Mm, Pt
from docx.text.paragraph import Paragraph
from lxml import etree

from ._ooxml import w

__all__ = ["SAMPLE_TITLE", "propose_edit", "sample_bodies", "sample_draft", "sample_states"]

SAMPLE_TITLE = (
    "ASEAN Framework and Plan of Action for the Implementation of the ASEAN Declaration "
    "on Strengthening Social Protection"
)

_BODIES: list[tuple[str, str]] = [
    ("SOMSWD", "Senior Officials Meeting on Social Welfare and Development"),
    ("SLOM", "Senior Labour Officials Meeting"),
    ("SOMHD", "Senior Officials Meeting on Health Development"),
    ("SOMRDPE", "Senior Officials Meeting on Rural Development and Poverty Eradication"),
    ("SOMAMAF", "Senior Officials Meeting of the ASEAN Ministers on Agriculture and Forestry"),
    ("SOMDP", "Senior Officials Meeting on Development Planning"),
    ("ACW", "ASEAN Committee on Women"),
    ("ACDM", "ASEAN Committee on Disaster Management"),
]

_STATES: list[tuple[str, str, str]] = [
    ("Brunei Darussalam", "BN", "Asia/Brunei"),
    ("Cambodia", "KH", "Asia/Phnom_Penh"),
    ("Indonesia", "ID", "Asia/Jakarta"),
    ("Lao PDR", "LA", "Asia/Vientiane"),
    ("Malaysia", "MY", "Asia/Kuala_Lumpur"),
    ("Myanmar", "MM", "Asia/Yangon"),
    ("Philippines", "PH", "Asia/Manila"),
    ("Singapore", "SG", "Asia/Singapore"),
    ("Thailand", "TH", "Asia/Bangkok"),
    ("Viet Nam", "VN", "Asia/Ho_Chi_Minh"),
]


def sample_bodies() -> list[tuple[str, str]]:
    """``(code, full name)`` of the eight ASEAN sectoral bodies consulted on the sample."""
    return list(_BODIES)


def sample_states() -> list[tuple[str, str, str]]:
    """``(name, ISO 3166 alpha-2 code, IANA time zone)`` of the ten ASEAN Member States."""
    return list(_STATES)


# ------------------------------------------------------------------------- edits

# Edits a delegate makes to a clause of the sample (the demo's delegates and the benchmark
# propose them): a word replaced, or a phrase added at the end of the clause's first line.
_REPLACEMENTS = (
    ("shall", "should"),
    ("Strengthen", "Reinforce"),
    ("Improve", "Enhance"),
    ("Develop", "Establish"),
    ("adequate", "sufficient"),
    ("progressively", "gradually"),
    ("regional", "ASEAN-wide"),
    ("Promote", "Encourage"),
    ("national", "national and local"),
    ("including", "in particular"),
)
_ADDITIONS = (
    ", including workers in the informal economy and their dependants",
    ", in accordance with national circumstances and capacities",
    ", in consultation with the relevant ASEAN sectoral bodies",
    ", with particular attention to persons with disabilities",
)
_LINE_END = re.compile(r"(?:[.;:,](?:\s+(?:and|or))?)?\s*$")


def propose_edit(text: str, choice: int) -> str:
    """``text`` (a clause) as a delegate might propose it, the edit picked by ``choice``:
    a word replaced where the clause has one of the words delegates often change, else a
    phrase added before the end of its first line."""
    lines = text.split("\n")
    first = lines[0]
    # A phrase does not go before the colon that opens a list.
    if choice % 2 == 0 or first.rstrip().endswith(":"):
        for k in range(len(_REPLACEMENTS)):
            old, new = _REPLACEMENTS[(choice // 2 + k) % len(_REPLACEMENTS)]
            found = re.search(rf"\b{re.escape(old)}\b", first)
            if found:
                lines[0] = first[: found.start()] + new + first[found.end() :]
                return "\n".join(lines)
    end = _LINE_END.search(first)
    at = end.start() if end is not None else len(first)
    lines[0] = first[:at] + _ADDITIONS[choice % len(_ADDITIONS)] + first[at:]
    return "\n".join(lines)


# ------------------------------------------------------------------------- content
#
# ("heading", number or None for automatic numbering, text)
# ("preamble", text)                       unnumbered paragraph
# ("typed", number as typed, depth, text)  number typed in the text, hanging indent
# ("auto", ilvl, text)                     automatic number from the multi-level list
# ("bullet", text)                         "List Bullet" style
# ("cont", text)                           unnumbered continuation paragraph
# ("table", rows)                          first row is the header

_CONTENT: Sequence[tuple[Any, ...]] = (
    ("heading", "1.", "Vision, Goal, Objectives, Principles and Definition of Social Protection"),
    (
        "preamble",
        (
            "This Framework and Plan of Action (hereinafter \u201cthe Framework\u201d) gives "
            "effect to the ASEAN Declaration on Strengthening Social Protection, adopted by the "
            "ASEAN Leaders in Bandar Seri Begawan in October 2013, and sets out the regional "
            "actions through which ASEAN Member States will implement it."
        ),
    ),
    (
        "preamble",
        (
            "The Framework has been prepared by the ASEAN Secretariat as a zero draft for "
            "consultation with the ASEAN sectoral bodies concerned. Bodies are invited to "
            "comment clause by clause, indicating whether each comment is general, technical "
            "or editorial, and to propose alternative wording where appropriate."
        ),
    ),
    (
        "typed",
        "1.1",
        0,
        (
            "Vision. An ASEAN Community in which every person, at every stage of life, has "
            "equitable access to social protection that is a basic right, needs-based, "
            "life-cycle sensitive and covering the essential services required."
        ),
    ),
    (
        "typed",
        "1.2",
        0,
        (
            "Goal. To strengthen social protection systems in ASEAN Member States so that they "
            "reduce poverty, vulnerability and inequality, and build the resilience of "
            "individuals, families and communities to the risks they face."
        ),
    ),
    ("typed", "1.3", 0, "Objectives. The objectives of the Framework are to:"),
    (
        "typed",
        "a)",
        1,
        ("extend the coverage of social protection progressively to all, with priority to the poor and vulnerable;"),
    ),
    (
        "typed",
        "b)",
        1,
        ("improve the availability, adequacy and quality of social protection benefits and services;"),
    ),
    (
        "typed",
        "c)",
        1,
        (
            "promote coordination across sectors and between levels of government in the "
            "design and delivery of social protection; and"
        ),
    ),
    (
        "typed",
        "d)",
        1,
        (
            "support regional cooperation, mutual learning and the exchange of data on social "
            "protection among Member States."
        ),
    ),
    (
        "typed",
        "1.4",
        0,
        ("Principles. Implementation of the Framework shall be guided by the following principles:"),
    ),
    (
        "typed",
        "a)",
        1,
        (
            "social protection is a right of every person, regardless of sex, age, disability, "
            "ethnicity or migration status, consistent with national laws and policies;"
        ),
    ),
    (
        "typed",
        "b)",
        1,
        ("programmes shall be needs-based and life-cycle sensitive, and shall give particular attention to:"),
    ),
    ("typed", "(i)", 2, "children, older persons and persons with disabilities;"),
    ("typed", "(ii)", 2, "women, in particular women heads of household; and"),
    ("typed", "(iii)", 2, "workers in the informal economy and migrant workers;"),
    (
        "typed",
        "c)",
        1,
        (
            "responsibility for social protection lies primarily with the State, with the "
            "participation of communities, the private sector and civil society; and"
        ),
    ),
    (
        "typed",
        "d)",
        1,
        ("measures shall be sustainable, fiscally responsible and adapted to national circumstances."),
    ),
    (
        "typed",
        "1.5",
        0,
        (
            "Definition. For the purposes of this Framework, social protection refers to "
            "policies and programmes that reduce poverty and vulnerability by promoting "
            "efficient labour markets, diminishing exposure to risks and enhancing the capacity "
            "of people to manage economic and social risks such as unemployment, exclusion, "
            "sickness, disability and old age."
        ),
    ),
    (
        "cont",
        (
            "Social protection covers, but is not limited to, social assistance, social "
            "insurance, social welfare services, labour market programmes and community-based "
            "or informal schemes."
        ),
    ),
    ("heading", "2.", "The Regional Social Protection Framework"),
    (
        "typed",
        "2.1",
        0,
        (
            "Risks addressed. The Framework addresses the principal risks to which people in "
            "the region are exposed, namely:"
        ),
    ),
    (
        "typed",
        "(a)",
        1,
        ("life-cycle risks, including those associated with childhood, maternity, old age, illness and disability;"),
    ),
    (
        "typed",
        "(b)",
        1,
        ("economic risks, including unemployment, under-employment, loss of income and price shocks;"),
    ),
    (
        "typed",
        "(c)",
        1,
        ("environmental risks, including natural disasters and the effects of climate change; and"),
    ),
    (
        "typed",
        "(d)",
        1,
        "social risks, including exclusion, discrimination and domestic violence.",
    ),
    (
        "typed",
        "2.2",
        0,
        (
            "Core programmes. Social protection in ASEAN comprises four core programme areas: "
            "social assistance, social insurance, social welfare services and labour market "
            "programmes. Member States will determine the combination of programmes best suited "
            "to their national circumstances."
        ),
    ),
    ("typed", "2.3", 0, "Coverage. The following provisions apply to the extension of coverage:"),
    (
        "typed",
        "2.3.1",
        1,
        (
            "Coverage shall be extended progressively, beginning with a nationally defined floor "
            "of basic income security and access to essential health care for all."
        ),
    ),
    (
        "typed",
        "2.3.2",
        1,
        (
            "Member States shall identify the groups not yet covered by any scheme, including "
            "workers in the informal economy, and set targets for extending coverage to them."
        ),
    ),
    (
        "typed",
        "2.3.3",
        1,
        (
            "Where contributory schemes cannot yet reach certain groups, non-contributory "
            "programmes financed from general revenue should be used to close the gap."
        ),
    ),
    (
        "typed",
        "2.4",
        0,
        (
            "Key strategies. The Framework will be implemented through the following key "
            "strategies, elaborated in sections 3 to 6:"
        ),
    ),
    ("typed", "a)", 1, "policy and programmes;"),
    ("typed", "b)", 1, "capacity building;"),
    ("typed", "c)", 1, "monitoring and evaluation; and"),
    ("typed", "d)", 1, "institutionalisation and sustainability."),
    ("heading", None, "Policy and Programmes"),
    (
        "auto",
        1,
        (
            "Strengthen the implementation of social protection programmes at national and "
            "local levels, including through a clear assignment of institutional "
            "responsibilities, adequate staffing and simplified enrolment procedures."
        ),
    ),
    (
        "auto",
        1,
        (
            "Improve the coverage, availability, comprehensiveness, quality, equality, "
            "affordability and sustainability of social protection, with particular attention "
            "to:"
        ),
    ),
    ("auto", 2, "the removal of legal, administrative and financial barriers to access;"),
    ("auto", 2, "the adequacy of benefit levels in relation to the cost of living; and"),
    (
        "auto",
        2,
        ("the long-term financial sustainability of contributory and non-contributory schemes."),
    ),
    (
        "auto",
        1,
        (
            "Explore arrangements for the portability of social insurance benefits for workers "
            "moving between ASEAN Member States, including bilateral or multilateral agreements "
            "on the totalisation of contribution periods."
        ),
    ),
    (
        "auto",
        1,
        (
            "Develop minimum standards, competency frameworks and training programmes for health "
            "and social welfare workers, taking into account the ASEAN Mutual Recognition "
            "Arrangements where applicable."
        ),
    ),
    (
        "auto",
        1,
        (
            "Formulate or review national policy and legislation to achieve universal health "
            "coverage, including financial protection against catastrophic health expenditure."
        ),
    ),
    ("heading", None, "Capacity Building"),
    (
        "auto",
        1,
        (
            "Strengthen the capacity of government agencies, local authorities and other service "
            "providers to plan, deliver, coordinate and evaluate social protection programmes."
        ),
    ),
    (
        "auto",
        1,
        (
            "Promote learning from each other\u2019s experience and good practice through study "
            "visits, peer reviews, regional workshops and an online knowledge platform."
        ),
    ),
    (
        "auto",
        1,
        (
            "Mobilise technical assistance from ASEAN Dialogue Partners, development partners "
            "and international organisations that is sensitive to the needs of vulnerable "
            "groups, including:"
        ),
    ),
    ("auto", 2, "persons with disabilities and older persons;"),
    ("auto", 2, "migrant workers and their families; and"),
    ("auto", 2, "communities affected by disasters and climate change."),
    ("heading", None, "Monitoring and Evaluation"),
    (
        "auto",
        1,
        (
            "Establish a regional baseline on social protection coverage, expenditure and "
            "outcomes within two years of the adoption of this Framework."
        ),
    ),
    (
        "auto",
        1,
        (
            "Compile global and national indicators relevant to social protection, including "
            "the indicators of the Sustainable Development Goals, and harmonise definitions to "
            "the extent possible."
        ),
    ),
    (
        "auto",
        1,
        (
            "Develop ASEAN statistical indicators on social protection and a regional database "
            "maintained by the ASEAN Secretariat in cooperation with the ASEAN Community "
            "Statistical System. The indicative milestones are set out below."
        ),
    ),
    (
        "table",
        (
            ("Timeframe", "Milestone", "Lead"),
            ("2026", "Regional baseline on social protection completed", "ASEAN Secretariat with SOMSWD and SLOM"),
            ("2027", "First ASEAN statistical report on social protection", "ASEAN Community Statistical System"),
            ("2028", "Mid-term review of the Framework", "Sectoral bodies concerned"),
            ("2030", "Final evaluation and report to the ASCC Council", "ASEAN Secretariat"),
        ),
    ),
    (
        "cont",
        ("The milestones may be adjusted by the senior officials concerned in the light of the progress made."),
    ),
    (
        "auto",
        1,
        (
            "Undertake a mid-term review and a final evaluation of the Framework and report the "
            "findings to the ASEAN Ministerial bodies concerned."
        ),
    ),
    ("heading", "6.", "Institutionalisation and Sustainability"),
    (
        "typed",
        "6.1",
        0,
        (
            "Member States shall allocate adequate financial resources for social protection "
            "in national budgets and explore innovative and sustainable sources of financing."
        ),
    ),
    (
        "typed",
        "6.2",
        0,
        "Implementation shall involve the participation of other sectors, including:",
    ),
    ("bullet", "the private sector and employers\u2019 and workers\u2019 organisations;"),
    ("bullet", "civil society organisations and academia; and"),
    ("bullet", "ASEAN Dialogue Partners and other external partners."),
    (
        "typed",
        "6.3",
        0,
        (
            "The ASEAN Secretariat shall support the sectoral bodies concerned in coordinating "
            "the implementation of this Framework and shall report on progress to the ASEAN "
            "Socio-Cultural Community Council."
        ),
    ),
    (
        "typed",
        "6.4",
        0,
        (
            "This Framework shall be reviewed every five years, or earlier if the ASEAN "
            "Socio-Cultural Community Council so decides."
        ),
    ),
)

# Numbering definitions added to the template's numbering.xml: one multi-level list
# whose level 0 numbers the headings of sections 3 to 5 and whose deeper levels number
# their clauses. The list starts at 3 through a startOverride on its w:num.
_LIST_ABSTRACT_ID = "20"
_LIST_NUM_ID = "20"
_LIST_LEVELS = (
    # ilvl, format, text, left indent (twips)
    (0, "decimal", "%1.", 567),
    (1, "decimal", "%1.%2", 567),
    (2, "lowerLetter", "%3)", 1134),
    (3, "lowerRoman", "(%4)", 1701),
)


def _add_numbering(document: docx.document.Document) -> None:
    numbering = document.part.numbering_part.element
    abstract = etree.Element(w("abstractNum"), {w("abstractNumId"): _LIST_ABSTRACT_ID})
    etree.SubElement(abstract, w("nsid"), {w("val"): "5A1C0D20"})
    etree.SubElement(abstract, w("multiLevelType"), {w("val"): "multilevel"})
    etree.SubElement(abstract, w("tmpl"), {w("val"): "0409001F"})
    for ilvl, fmt, text, indent in _LIST_LEVELS:
        lvl = etree.SubElement(abstract, w("lvl"), {w("ilvl"): str(ilvl)})
        etree.SubElement(lvl, w("start"), {w("val"): "1"})
        etree.SubElement(lvl, w("numFmt"), {w("val"): fmt})
        etree.SubElement(lvl, w("lvlText"), {w("val"): text})
        etree.SubElement(lvl, w("lvlJc"), {w("val"): "left"})
        ppr = etree.SubElement(lvl, w("pPr"))
        tabs = etree.SubElement(ppr, w("tabs"))
        etree.SubElement(tabs, w("tab"), {w("val"): "num", w("pos"): str(indent)})
        etree.SubElement(ppr, w("ind"), {w("left"): str(indent), w("hanging"): "567"})
    num = etree.Element(w("num"), {w("numId"): _LIST_NUM_ID})
    etree.SubElement(num, w("abstractNumId"), {w("val"): _LIST_ABSTRACT_ID})
    override = etree.SubElement(num, w("lvlOverride"), {w("ilvl"): "0"})
    etree.SubElement(override, w("startOverride"), {w("val"): "3"})

    # Schema order: every w:abstractNum comes before the first w:num.
    first_num = numbering.find(w("num"))
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(num)


def _set_numbering(paragraph: Paragraph, ilvl: int) -> None:
    # python-docx places w:numPr at its schema position inside w:pPr.
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = ilvl
    num_pr.get_or_add_numId().val = int(_LIST_NUM_ID)


def _typed_paragraph(document: Document, number: str, depth: int, text: str) -> Paragraph:
    paragraph = document.add_paragraph(f"{number}\t{text}")
    fmt = paragraph.paragraph_format
    left = Cm(1.0 + 1.0 * depth)
    fmt.left_indent = left
    fmt.first_line_indent = -Cm(1.0)
    fmt.tab_stops.add_tab_stop(left, WD_TAB_ALIGNMENT.LEFT)
    fmt.space_after = Pt(6)
    return paragraph


def _table(document: Document, rows: Sequence[Sequence[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Cm(2.8), Cm(7.4), Cm(5.8))
    for column, width in zip(table.columns, widths):
        column.width = width
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.width = widths[c]
            run = cell.paragraphs[0].add_run(value)
            run.bold = r == 0
    # Repeat the header row on each page.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    etree.SubElement(tr_pr, w("tblHeader"))


def sample_draft() -> bytes:
    """The sample zero draft as .docx bytes."""
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(25))
    document.styles["Normal"].font.size = Pt(11)

    props = document.core_properties
    props.title = SAMPLE_TITLE
    props.subject = "Zero draft for consultation with ASEAN sectoral bodies"
    props.author = "ASEAN Secretariat"
    props.last_modified_by = "ASEAN Secretariat"
    props.created = props.modified = dt.datetime(2026, 11, 2, 9, 0, 0)
    props.keywords = "social protection; ASEAN; plan of action"

    _add_numbering(document)

    document.add_heading(SAMPLE_TITLE, level=0)
    document.add_paragraph("Zero draft for consultation with the ASEAN sectoral bodies", style="Subtitle")
    for item in _CONTENT:
        kind = item[0]
        if kind == "heading":
            number, text = item[1], item[2]
            if number is None:
                _set_numbering(document.add_heading(text, level=1), 0)
            else:
                document.add_heading(f"{number}\t{text}", level=1)
        elif kind == "preamble":
            document.add_paragraph(item[1]).paragraph_format.space_after = Pt(6)
        elif kind == "cont":
            fmt = document.add_paragraph(item[1]).paragraph_format
            fmt.left_indent = Cm(1.0)  # aligned with the text of the clause it continues
            fmt.space_after = Pt(6)
        elif kind == "typed":
            _typed_paragraph(document, item[1], item[2], item[3])
        elif kind == "auto":
            paragraph = document.add_paragraph(item[2])
            paragraph.paragraph_format.space_after = Pt(6)
            _set_numbering(paragraph, item[1])
        elif kind == "bullet":
            fmt = document.add_paragraph(item[1], style="List Bullet").paragraph_format
            fmt.left_indent = Cm(1.6)
            fmt.first_line_indent = -Cm(0.6)
        elif kind == "table":
            _table(document, item[1])
        else:  # pragma: no cover - guards the content table above
            raise ValueError(f"unknown sample item {kind!r}")

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
