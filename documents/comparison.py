"""The comparison of two versions of a draft: v(n) -> v(n+1) as tracked changes.

:func:`compare_versions` takes the new version's .docx and the mapping of its clauses to
the old version's (:func:`documents.versions.map_clauses`) and gives the new version
with every change since the old one as a tracked change by the Secretariat, as Word's
Compare shows it: accepting every change gives the new version's text, rejecting every
change the old one's.

* A changed clause (changed, renumbered and edited) shows only the words that changed:
  the new ones inserted, the old ones deleted before them (:mod:`documents._wording`
  compares the two texts word by word; :mod:`documents._revisions` writes the marks, as
  it does for proposed wording, with the roles turned round). A paragraph the clause
  gained is inserted with the paragraph mark before it; one it lost is deleted text with
  a line break, at the place it stood. A typed number that changed ("2.3" -> "2.4") is
  compared too; an automatic number is not text and follows by itself.
* A new clause is inserted whole.
* A deleted clause is written back where it stood as a deleted paragraph, with the
  paragraph properties (style, indents, automatic numbering) of the nearest new clause
  of its level, and its typed number if that clause has one.
* A paragraph inserted or deleted whole goes with the paragraph mark before it (as Word
  writes a paragraph typed after another): accepting or rejecting joins that paragraph
  with the one before, which keeps its own properties, so no clause around it changes
  its style or number (LibreOffice would otherwise show the number a paragraph had in
  brackets, "5.1[4.5]").
* A moved clause is deleted where it stood and inserted where it is now (Word's Compare
  does the same when it does not track moves), with a comment on each: "Moved here from
  1.4." and "Moved to 2.2.". Tracked moves (``w:moveFrom``/``w:moveTo``) are not used:
  LibreOffice and pandoc read them poorly, and a moved clause that was also edited could
  not show its edits.
* Renumbered and unchanged clauses are left as they are.

Each clause of the new version that ``reasons`` names (by its reference in the new
version) gets a Word comment by the Secretariat saying which comments and answers led to
it: ``[("TH-004", "accepted"), ("PH-011", "partly")]`` reads "TH-004 accepted, PH-011
accepted in part" (the dispositions as in :data:`documents._entries.DISPOSITION_NAMES`,
other words as given); ``deleted_reasons`` does the same for deleted clauses, by their
reference in the old version.

Why the new file and the old clause texts, not both files: the new version's file is
what the Secretariat circulates next, so the comparison keeps all of its formatting,
tables and numbering exactly, and of the old version only what the consultation already
stores is needed (its clauses' text, number and level). The price is that a deleted
clause is written back in the formatting of its neighbours rather than its own, and
that text outside clauses (the title, headings, tables between clauses) is not compared.

Work is linear in the size of the draft: one pass over the clauses, each compared word by
word only when its text changed.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence

import docx
from lxml import etree

from ._entries import DISPOSITION_NAMES, iso
from ._ooxml import W_P, body_paragraphs, paragraph_text, w
from ._revisions import RevisionWriter, _label_length
from ._xmltext import parse_children
from .consolidate import (
    SECRETARIAT_AUTHOR,
    SECRETARIAT_INITIALS,
    _comment_element,
    _comment_paragraphs,
    _comments_root,
    _content_bounds,
    _ensure_styles,
    _insert_ends,
    _insert_starts,
    _max_id,
    _next_comment_id,
    _StyleIds,
)
from .versions import Clause, ClauseMapping

__all__ = ["COMPARISON_AUTHOR", "compare_versions", "reasons_text"]

COMPARISON_AUTHOR = SECRETARIAT_AUTHOR

Reasons = Mapping[str, Sequence[tuple[str, str]]]


def reasons_text(reasons: Sequence[tuple[str, str]]) -> str:
    """ "TH-004 accepted, PH-011 accepted in part" from ``(number, disposition)`` pairs."""
    return ", ".join(
        f"{number} {DISPOSITION_NAMES.get(disposition, disposition).lower()}".strip() for number, disposition in reasons
    )


class _Plan:
    """What the comparison writes, gathered before anything is touched (the comments'
    ids come first, the revisions' after them)."""

    def __init__(self) -> None:
        self.comments: list[tuple[list[etree._Element], str]] = []  # anchor paragraphs, text


def compare_versions(
    new_draft: bytes,
    mapping: ClauseMapping,
    *,
    reasons: Reasons | None = None,
    deleted_reasons: Reasons | None = None,
    date: dt.datetime,
) -> bytes:
    """The new version (``new_draft``, the .docx whose clauses are ``mapping.new``) with
    the changes since the old version (``mapping.old``) as tracked changes dated
    ``date``, and the comments that name what led to each change (see the module
    docstring). Raises ``ValueError`` if ``mapping`` is not of this file's clauses."""
    reasons = reasons or {}
    deleted_reasons = deleted_reasons or {}
    document = docx.Document(io.BytesIO(new_draft))
    body = document.element.body
    paragraphs = body_paragraphs(body)
    for clause in mapping.new:
        if not clause.paragraphs or max(clause.paragraphs) >= len(paragraphs):
            raise ValueError(f"clause {clause.ref} is not in the new draft")
    who = (COMPARISON_AUTHOR, iso(date))

    def own(clause: Clause) -> list[etree._Element]:
        return [paragraphs[i] for i in sorted(set(clause.paragraphs))]

    comments_root = _comments_root(document)
    styles = _ensure_styles(document.styles.element)
    first_comment = _next_comment_id(comments_root)
    # The revisions' ids come after every id the comments may take (one per clause at most).
    most = len(mapping.matches) + len(mapping.old_places())
    writer = RevisionWriter(max(_max_id(document.element), first_comment + most) + 1)
    plan = _Plan()
    inserted: list[etree._Element] = []  # paragraphs inserted whole
    deleted: list[etree._Element] = []  # paragraphs written back deleted

    for match in mapping.matches:
        new = match.new
        if new is None:
            continue
        mine = own(new)
        notes: list[str] = []
        if match.old is None or match.moved:
            writer.insert_all(mine, who)
            inserted.extend(mine)
            if match.old is not None:
                notes.append(f"Moved here from {match.old.ref}.")
        elif match.edited or match.old.label != new.label:
            writer.compare(mine, match.old.text, who, match.old.label)
        why = reasons_text(reasons.get(new.ref, ()))
        if why:
            notes.append(why)
        if notes:
            plan.comments.append((mine, " ".join(notes)))

    # Deleted and moved clauses where they stood, in the old version's order.
    after: dict[int, etree._Element] = {}  # new clause's position -> last paragraph placed after it
    position = {id(clause): k for k, clause in enumerate(mapping.new)}
    for match, where, place in mapping.old_places():
        old = match.old
        assert old is not None
        k = position[id(place)] if place is not None else None
        template = _template(mapping.new, k, old.level, paragraphs)
        typed = template is not None and _label_length(template) > 0
        text = old.text
        if typed and old.label and template is not None:
            first = paragraph_text(template)
            label = first[: _label_length(template)]
            separator = label[len(label.rstrip()) :] or "\t"
            text = f"{old.label}{separator}{old.text}"
        numbered = template is not None and not typed and template.find(f"{w('pPr')}/{w('numPr')}") is not None
        p = writer.deleted_paragraph(
            template if template is not None else etree.Element(W_P), text, who, numbered=numbered and bool(old.label)
        )
        if place is None or k is None:
            anchor = after.get(-1)
            if anchor is not None:
                anchor.addnext(p)
            elif mapping.new:
                own(mapping.new[0])[0].addprevious(p)
            else:
                body.insert(0, p)
            after[-1] = p
        elif where == "before":
            own(place)[0].addprevious(p)
        else:
            anchor = after.get(k, own(place)[-1])
            anchor.addnext(p)
            after[k] = p
        deleted.append(p)
        notes = []
        if match.new is not None:
            notes.append(f"Moved to {match.new.ref}.")
        why = reasons_text(deleted_reasons.get(old.ref, ()))
        if why:
            notes.append(why)
        if notes or match.new is not None:
            plan.comments.append(([p], " ".join(notes)))
        else:
            plan.comments.append(([p], f"Deleted: {old.ref}."))

    # The paragraph marks last, once every paragraph is in place: each inserted or deleted
    # paragraph goes with the mark before it.
    for p in inserted:
        writer.mark_before(p, who, w("ins"))
    for p in deleted:
        writer.mark_before(p, who, w("del"))
    _write_comments(plan, comments_root, first_comment, styles, iso(date))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _template(
    clauses: Sequence[Clause], k: int | None, level: int, paragraphs: list[etree._Element]
) -> etree._Element | None:
    """The first paragraph of the new clause nearest ``k`` of ``level`` (else of clause ``k``)."""
    if not clauses:
        return None
    start = min(max(k if k is not None else 0, 0), len(clauses) - 1)
    for distance in range(len(clauses)):
        for candidate in (start - distance, start + 1 + distance):
            if 0 <= candidate < len(clauses) and clauses[candidate].level == level:
                return paragraphs[min(clauses[candidate].paragraphs)]
    return paragraphs[min(clauses[start].paragraphs)]


def _write_comments(plan: _Plan, comments_root: etree._Element, first: int, styles: _StyleIds, date: str) -> None:
    xml: list[str] = []
    for n, (anchors, text) in enumerate(plan.comments):
        cid = first + n
        start, _ = _content_bounds(anchors[0])
        _insert_starts(anchors[0], start, [cid])
        _, end = _content_bounds(anchors[-1])
        _insert_ends(anchors[-1], end, [cid], styles.comment_reference)
        xml.append(
            _comment_element(
                cid, SECRETARIAT_AUTHOR, SECRETARIAT_INITIALS, date, _comment_paragraphs([text], [], styles)
            )
        )
    if xml:
        comments_root.extend(parse_children("comments", "".join(xml)))
