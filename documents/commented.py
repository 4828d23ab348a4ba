"""A delegate's own Word file: their comments and tracked changes, clause by clause.

Delegates who work as they do by e-mail send the draft back as a .docx with Word
comments and tracked changes (from Word, LibreOffice or Google Docs).
:func:`read_commented` reads such a file against the clauses of the current draft and
returns plain data (:class:`CommentedCopy`); :func:`kind_of_upload` tells such a file
from a new draft. Nothing here words a message: the bot renders :class:`Summary` and the
refusals (:class:`CommentedFileError`, reason :class:`Refusal`) itself.

**Finding the clauses.** A delegate may have re-numbered the draft or edited it by hand,
so clauses are found by their text, never by the numbers typed in the file. Every
paragraph is read as it was before the delegate's tracked changes (all of them rejected;
paragraphs Word split or joined with a tracked paragraph mark are read as they were) and
its lines are compared with the lines of the current draft's clauses, numbers typed at
their start ("2.3.1", "a)", "•") left aside on both sides:

1. the longest runs of identical lines in the same order (:class:`difflib.SequenceMatcher`),
2. between two such runs, the lines left over on both sides compared with rapidfuzz
   (``fuzz.ratio``, from :data:`_NEAR` % similarity: the place agrees; a gap longer than
   :data:`_MAX_GAP_PAIRS` pairs, a copy edited throughout, is compared in bands of
   :data:`_BAND` lines, each against the draft's lines around it),
3. lines left over anywhere: the same text found once on each side (text moved by hand),
   then rapidfuzz from :data:`_FAR` %.

A paragraph the delegate added as a whole (nothing of it before their changes) belongs to
the clause of the paragraph before it, or, right after a heading, to the clause after it.
Headings (a "Heading N" or Title style, or an outline level) and paragraphs in tables or
content controls are never clauses, as for :func:`documents.draft.parse_draft`.

A file in which fewer than :data:`MIN_SHARE` of the paragraphs (headings, tables and
empty paragraphs aside) are found in the draft is another draft: it is refused with
:attr:`Refusal.NOT_THIS_DRAFT` and the share found (when few lines match word for word,
the share is estimated from a sample of the others, so that a foreign draft costs no
all-against-all comparison).

**Comments** (``word/comments.xml``). A comment's anchor is the text between the
``w:commentRangeStart`` and ``w:commentRangeEnd`` of its id; a comment on a point has
only its ``w:commentReference`` run, and is on the paragraph holding it. A range that
starts after the last character of a paragraph or ends before the first one (as Google
Docs and LibreOffice write ranges that run to the end of a paragraph) does not reach into
that paragraph. A comment is placed on the first clause its anchor covers
(:attr:`FileComment.ref`); :attr:`FileComment.refs` lists all of them. A comment that
covers no clause is not placed, and :attr:`FileComment.unplaced` says why
(:class:`Unplaced`):

* ``ON_HEADING``: on a heading or the title only. Such a comment is not put on a clause
  (a remark on a heading is rarely about the first clause under it); its
  :attr:`FileComment.section` is the section the heading opens, so that the bot can offer
  it as a comment on that section;
* ``NOT_IN_DRAFT``: on text that is not in the current draft (text the delegate typed
  without tracking, or that a later version removed);
* ``IN_TABLE``: in a table or a content control, where the draft has no clauses;
* ``NO_ANCHOR``: its markers are missing from the body (a comment in a footnote, a header
  or a text box).

Replies (``word/commentsExtended.xml``) name the comment they answer
(:attr:`FileComment.reply_to`), and a comment marked done is ``resolved``.

**Tracked changes** (``w:ins``, ``w:del``, ``w:moveFrom``/``w:moveTo``, and the same on
paragraph marks, nested in any order). For every clause they touch, :class:`Proposal`
gives the whole clause as the delegate wants it (their changes accepted: text present when
every insertion around it is accepted and no deletion around it is, so an insertion later
deleted adds nothing), the clause as the file had it before (every change rejected) and as
the current draft has it. A clause the delegate deleted whole has ``proposed == ""``. Moved
text is a deletion in the clause it left and an insertion in the clause it reached: both
get a proposal. A change that runs across clauses (a deletion through the paragraph mark
that ends a clause, so that two clauses become one paragraph) gives each clause its own
part as a proposal, and each names the other in :attr:`Proposal.across` (a clause
deleted whole, its paragraph mark with it, runs into nothing). Changes in no
clause (a heading renamed, a table edited) are :class:`StrayChange`, with the reason. Edits
made without tracking are not proposals, but the clauses that have them are listed in
:attr:`CommentedCopy.edited_by_hand`; where a clause also has tracked changes, its
proposal is the text of the file, hand edits included. Formatting changes are not read.

**Authors.** Every comment and change carries its ``w:author``;
:attr:`CommentedCopy.authors` lists them all, with what each wrote, so that the bot can ask
whose they are when there are several. ``read_commented(..., authors={"Ana"})`` reads only
those authors' comments and changes (the others' changes rejected).

**Refusals** (:class:`CommentedFileError`, nothing read or changed): not a .docx,
an older .doc, a password-protected file (an OLE compound file with an encrypted package),
a macro-enabled document, a file over the upload limit or expanding beyond the limits of
:mod:`documents.draft._unpack`, more than :data:`MAX_COMMENTS` comments, a damaged
package, and another draft (``NOT_THIS_DRAFT``).

Similar lines are taken best first, each line once, from each line's
:data:`_CANDIDATES` best candidates.

Work: one pass over ``document.xml`` with lxml, one sequence alignment of the lines and
rapidfuzz on what is left over. On 2 cores, against a 2,000-clause draft: 500 comments
read in 0.15 s, a tracked change in every clause in 0.3 s, a copy with every clause
edited by hand in 0.4 s, another 2,000-clause draft refused in 0.3 s. Only the parts read
are inflated (through the checked reader of :mod:`documents.draft._unpack`), one upload
at a time (:data:`documents.draft._unpack.PARSE_LOCK`).
"""

from __future__ import annotations

import difflib
import io
import posixpath
import zipfile
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy
from lxml import etree
from rapidfuzz import fuzz, process, utils

from ._ooxml import MC_NS, W_ID, W_P, W_PPR, W_T, W_TBL, W_VAL, paragraph_text, w
from .draft import DEFAULT_MAX_BYTES, DraftError, DraftTooLarge, ParsedDraft
from .draft._markers import _typed_marker
from .draft._styles import _HEADING_NAME, _outline, _Styles
from .draft._unpack import PARSE_LOCK, _Budget, _checked, check_member_count, expanded_limit
from .versions import Clause, clauses_of

__all__ = [
    "MAX_COMMENTS",
    "MIN_SHARE",
    "Author",
    "ChangeKind",
    "CommentedCopy",
    "CommentedFileError",
    "FileComment",
    "Proposal",
    "Refusal",
    "StrayChange",
    "Summary",
    "TrackedChange",
    "Unplaced",
    "UploadKind",
    "kind_of_upload",
    "read_commented",
]

# Comments in one file: hundreds are read, more is not a delegate's copy of a draft.
MAX_COMMENTS = 500
# Below this share of its paragraphs found in the current draft, a file is another draft.
MIN_SHARE = 0.25
# rapidfuzz similarity (0-100) from which a line is the draft's line: between two runs
# of identical lines (the place agrees), and anywhere.
_NEAR = 60.0
_FAR = 80.0
# Lines left over anywhere are compared all against all up to this many pairs.
_MAX_FAR_PAIRS = 2_000_000
# Between two runs of identical lines, all against all up to this many pairs; a larger gap
# is compared in bands of this many lines, each against the draft's lines around it.
_MAX_GAP_PAIRS = 250_000
_BAND = 100
# Candidates kept for each line, best first.
_CANDIDATES = 3
# Lines of a file that few lines match word for word: this many looked at to estimate the share.
_SAMPLE = 200


# ------------------------------------------------------------------------ results


class Refusal(StrEnum):
    NOT_A_DOCX = "not a docx"  # data: format ("empty", "pdf", "rtf", "xlsx", "pptx", "odt", "zip", "unknown")
    OLD_WORD_FORMAT = "old word format"  # a Word 97-2003 .doc
    PASSWORD_PROTECTED = "password protected"
    MACRO_ENABLED = "macro enabled"
    TOO_LARGE = "too large"  # data: size and limit (bytes), or expanded=True
    TOO_MANY_COMMENTS = "too many comments"  # data: found, limit
    DAMAGED = "damaged"
    NOT_THIS_DRAFT = "not this draft"  # data: share (0 to 1), limit (MIN_SHARE)


class CommentedFileError(ValueError):
    """The file cannot be read as a commented copy of the draft: ``reason`` and the data
    that explains it (the bot words the message)."""

    def __init__(self, reason: Refusal, **data: Any) -> None:
        super().__init__(reason, data)
        self.reason = reason
        self.data = data

    def __str__(self) -> str:
        details = ", ".join(f"{key}={value!r}" for key, value in self.data.items())
        return f"{self.reason.value}({details})"


class Unplaced(StrEnum):
    ON_HEADING = "on a heading"
    NOT_IN_DRAFT = "not in the draft"
    IN_TABLE = "in a table"
    NO_ANCHOR = "no anchor"


class ChangeKind(StrEnum):
    INSERTED = "inserted"
    DELETED = "deleted"
    MOVED_FROM = "moved from"
    MOVED_TO = "moved to"


class UploadKind(StrEnum):
    COMMENTED = "commented"
    DRAFT = "draft"


@dataclass(frozen=True)
class TrackedChange:
    """One tracked change as Word shows it (adjacent changes of one kind and author are
    one). A paragraph break inserted or deleted is the text ``"\\n"``."""

    kind: ChangeKind
    author: str
    date: datetime | None
    text: str


@dataclass(frozen=True)
class FileComment:
    """A Word comment of the file. ``id`` is its ``w:id``; ``quote`` the text it is
    anchored on ("" for a comment on a point); ``ref`` the clause it is placed on
    (``None``: not placed, ``unplaced`` says why)."""

    id: str
    author: str
    initials: str
    date: datetime | None
    text: str
    quote: str
    ref: str | None
    refs: tuple[str, ...]
    section: str | None
    unplaced: Unplaced | None
    reply_to: str | None = None
    resolved: bool = False

    @property
    def placed(self) -> bool:
        return self.ref is not None


@dataclass(frozen=True)
class Proposal:
    """A clause as the delegate's tracked changes would make it."""

    ref: str
    section: str
    current: str  # the clause in the current draft
    original: str  # the clause in the file, every change rejected
    proposed: str  # the clause in the file, the changes accepted ("": the clause deleted)
    authors: tuple[str, ...]
    changes: tuple[TrackedChange, ...]
    across: tuple[str, ...] = ()  # clauses a change of this one runs into

    @property
    def deletes(self) -> bool:
        return self.proposed == ""


@dataclass(frozen=True)
class StrayChange:
    """A tracked change on no clause (a heading, a table, text not in the draft)."""

    change: TrackedChange
    reason: Unplaced
    section: str | None


@dataclass(frozen=True)
class Author:
    """An author named in the file, with how many comments and changes are theirs."""

    name: str
    comments: int
    changes: int


@dataclass(frozen=True)
class Summary:
    """What was read, as counts and references in the draft's order (for the bot to word)."""

    comments: int  # placed comments
    comment_refs: tuple[str, ...]  # the clauses they are on
    proposals: int
    proposal_refs: tuple[str, ...]
    unplaced_comments: int
    unplaced_changes: int
    unplaced_reasons: tuple[tuple[Unplaced, int], ...]  # comments and changes not placed, by reason
    authors: tuple[str, ...]
    edited_by_hand: tuple[str, ...]


@dataclass(frozen=True)
class CommentedCopy:
    """The comments and proposals of a delegate's file (see the module docstring).
    ``share`` is the share of the file's paragraphs found in the draft."""

    comments: tuple[FileComment, ...]  # in the order of their anchors, unanchored last
    proposals: tuple[Proposal, ...]  # in the draft's order
    stray_changes: tuple[StrayChange, ...]
    authors: tuple[Author, ...]  # every author of the file, the busiest first
    share: float
    edited_by_hand: tuple[str, ...] = ()
    _order: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def placed(self) -> tuple[FileComment, ...]:
        return tuple(c for c in self.comments if c.ref is not None)

    @property
    def unplaced(self) -> tuple[FileComment, ...]:
        return tuple(c for c in self.comments if c.ref is None)

    def summary(self) -> Summary:
        placed = self.placed
        order = self._order
        refs = sorted({c.ref for c in placed if c.ref is not None}, key=lambda r: order.get(r, len(order)))
        reasons: Counter[Unplaced] = Counter()
        for comment in self.unplaced:
            assert comment.unplaced is not None
            reasons[comment.unplaced] += 1
        for stray in self.stray_changes:
            reasons[stray.reason] += 1
        return Summary(
            comments=len(placed),
            comment_refs=tuple(refs),
            proposals=len(self.proposals),
            proposal_refs=tuple(p.ref for p in self.proposals),
            unplaced_comments=len(self.comments) - len(placed),
            unplaced_changes=len(self.stray_changes),
            unplaced_reasons=tuple((reason, reasons[reason]) for reason in Unplaced if reasons[reason]),
            authors=tuple(a.name for a in self.authors),
            edited_by_hand=self.edited_by_hand,
        )


# ------------------------------------------------------------------------ the API


def read_commented(
    data: bytes,
    clauses: Sequence[Clause] | ParsedDraft,
    *,
    authors: Collection[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> CommentedCopy:
    """The comments and tracked changes of ``data`` (a .docx), placed on ``clauses`` (those
    of the current draft). ``authors``: read only theirs (``None``: everyone's).

    Raises :class:`CommentedFileError`. Safe to call from a thread.
    """
    draft = clauses_of(clauses) if isinstance(clauses, ParsedDraft) else list(clauses)
    with PARSE_LOCK:
        package = _open(data, max_bytes)
        comments = _comments(package)
        if len(comments) > MAX_COMMENTS:
            raise CommentedFileError(Refusal.TOO_MANY_COMMENTS, found=len(comments), limit=MAX_COMMENTS)
        body = _Body(package.document, package.styles)
        layout = _Layout(body, draft)
        if layout.share < MIN_SHARE:
            raise CommentedFileError(Refusal.NOT_THIS_DRAFT, share=round(layout.share, 3), limit=MIN_SHARE)
        return _Reading(body, layout, draft, comments, package.threads, authors).result()


def kind_of_upload(
    data: bytes, clauses: Sequence[Clause] | ParsedDraft, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> UploadKind:
    """``COMMENTED`` for a copy of the current draft with comments or tracked changes,
    ``DRAFT`` for anything else that is a .docx: no comments and no tracked changes (a new
    version, or another draft), or comments on text that is not the current draft's.

    A revised draft the Secretariat left with its tracked changes against the current one
    reads as ``COMMENTED``: the file cannot tell who made the changes.
    Raises :class:`CommentedFileError` for a file that is no readable .docx.
    """
    draft = clauses_of(clauses) if isinstance(clauses, ParsedDraft) else list(clauses)
    with PARSE_LOCK:
        package = _open(data, max_bytes)
        if not draft or not (package.has_comments or _has_revisions(package.document)):
            return UploadKind.DRAFT
        layout = _Layout(_Body(package.document, package.styles), draft)
        return UploadKind.COMMENTED if layout.share >= MIN_SHARE else UploadKind.DRAFT


# ------------------------------------------------------------------------ the package

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
_CONTENT_TYPES = "[Content_Types].xml"
_DOCUMENT = "word/document.xml"
_DOCUMENT_RELS = "word/_rels/document.xml.rels"
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_RT_COMMENTS = _RT + "comments"
_RT_STYLES = _RT + "styles"
_RT_COMMENTS_EXTENDED = "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"
_W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
_W15 = "{http://schemas.microsoft.com/office/word/2012/wordml}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


@dataclass
class _Package:
    document: Any  # the root of word/document.xml
    styles: _Styles
    comments: Any  # the root of the comments part, or None
    threads: dict[str, tuple[str | None, bool]]  # paraId -> (parent paraId, done)

    @property
    def has_comments(self) -> bool:
        return self.comments is not None and self.comments.find(w("comment")) is not None


def _refuse(reason: Refusal, **data: Any) -> CommentedFileError:
    return CommentedFileError(reason, **data)


def _open(data: bytes, max_bytes: int) -> _Package:
    """The parts of the upload that are read, checked and parsed."""
    if not data:
        raise _refuse(Refusal.NOT_A_DOCX, format="empty")
    if len(data) > max_bytes:
        raise _refuse(Refusal.TOO_LARGE, size=len(data), limit=max_bytes)
    if data.startswith(_OLE):
        if any(name in data for name in _ENCRYPTED):
            raise _refuse(Refusal.PASSWORD_PROTECTED)
        raise _refuse(Refusal.OLD_WORD_FORMAT)
    if data.startswith(b"%PDF"):
        raise _refuse(Refusal.NOT_A_DOCX, format="pdf")
    if data.startswith(b"{\\rtf"):
        raise _refuse(Refusal.NOT_A_DOCX, format="rtf")
    if not data.startswith(b"PK"):
        raise _refuse(Refusal.NOT_A_DOCX, format="unknown")
    try:
        check_member_count(data)
    except DraftTooLarge as exc:
        raise _refuse(Refusal.TOO_LARGE, expanded=True) from exc
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise _refuse(Refusal.DAMAGED) from exc
    members = {info.filename: info for info in infos}
    if len(members) != len(infos):
        raise _refuse(Refusal.DAMAGED)
    if _DOCUMENT not in members or _CONTENT_TYPES not in members:
        if "xl/workbook.xml" in members:
            kind = "xlsx"
        elif "ppt/presentation.xml" in members:
            kind = "pptx"
        elif "mimetype" in members and "content.xml" in members:
            kind = "odt"
        else:
            kind = "zip"
        raise _refuse(Refusal.NOT_A_DOCX, format=kind)
    if any(name.lower().endswith("vbaproject.bin") for name in members):
        raise _refuse(Refusal.MACRO_ENABLED)
    budget = _Budget(expanded_limit(max_bytes))

    def read(name: str) -> Any:
        info = members.get(name)
        if info is None:
            return None
        if info.flag_bits & 0x1:
            raise _refuse(Refusal.PASSWORD_PROTECTED)
        try:
            xml = b"".join(_checked(data, info, budget, True))
        except DraftTooLarge as exc:
            raise _refuse(Refusal.TOO_LARGE, expanded=True) from exc
        except DraftError as exc:
            raise _refuse(Refusal.DAMAGED) from exc
        try:
            return etree.fromstring(xml, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise _refuse(Refusal.DAMAGED) from exc

    types = read(_CONTENT_TYPES)
    for override in types.iter(_TYPES_NS + "Override"):
        if (override.get("PartName") or "").lower() == "/" + _DOCUMENT and "macroEnabled" in (
            override.get("ContentType") or ""
        ):
            raise _refuse(Refusal.MACRO_ENABLED)
    targets = _related(read(_DOCUMENT_RELS))
    document = read(_DOCUMENT)
    if document is None or document.find(w("body")) is None:
        raise _refuse(Refusal.DAMAGED)
    styles = read(targets.get(_RT_STYLES, "word/styles.xml"))
    comments = read(targets.get(_RT_COMMENTS, "word/comments.xml"))
    extended = read(targets.get(_RT_COMMENTS_EXTENDED, "word/commentsExtended.xml"))
    threads: dict[str, tuple[str | None, bool]] = {}
    if extended is not None:
        for entry in extended.iter(_W15 + "commentEx"):
            para_id = entry.get(_W15 + "paraId")
            if para_id:
                threads[para_id.upper()] = (
                    (entry.get(_W15 + "paraIdParent") or "").upper() or None,
                    entry.get(_W15 + "done") in ("1", "true", "on"),
                )
    return _Package(document, _Styles(styles), comments, threads)


def _related(rels: Any) -> dict[str, str]:
    """Relationship type -> the member it points to, for the main document's relationships."""
    found: dict[str, str] = {}
    if rels is None:
        return found
    for rel in rels.iter(_RELS_NS + "Relationship"):
        kind, target = rel.get("Type") or "", rel.get("Target") or ""
        if not target or rel.get("TargetMode") == "External" or kind in found:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("word", target))
        found[kind] = path
    return found


_REVISION_TAGS = {
    w("ins"): ChangeKind.INSERTED,
    w("del"): ChangeKind.DELETED,
    w("moveFrom"): ChangeKind.MOVED_FROM,
    w("moveTo"): ChangeKind.MOVED_TO,
}
_REMOVES = frozenset({ChangeKind.DELETED, ChangeKind.MOVED_FROM})


def _has_revisions(document: Any) -> bool:
    return any(True for _ in document.iter(*_REVISION_TAGS))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class _Comment:
    id: str
    author: str
    initials: str
    date: datetime | None
    text: str
    para_id: str | None


def _comments(package: _Package) -> list[_Comment]:
    root = package.comments
    if root is None:
        return []
    found: list[_Comment] = []
    for el in root.iterchildren(w("comment")):
        paragraphs = list(el.iter(W_P))
        lines = [paragraph_text(p).strip() for p in paragraphs]
        para_id = paragraphs[-1].get(_W14 + "paraId") if paragraphs else None
        found.append(
            _Comment(
                id=el.get(W_ID) or "",
                author=el.get(w("author")) or "",
                initials=el.get(w("initials")) or "",
                date=_date(el.get(w("date"))),
                text="\n".join(lines).strip(),
                para_id=para_id.upper() if para_id else None,
            )
        )
    return found


# ------------------------------------------------------------------------ the body

_RANGE_START = w("commentRangeStart")
_RANGE_END = w("commentRangeEnd")
_REFERENCE = w("commentReference")
_DEL_TEXT = w("delText")
_RPR = w("rPr")
_BLOCKS_OUTSIDE = frozenset({W_TBL, w("sdt"), w("customXml")})
_BLOCK_SKIP = frozenset(w(t) for t in ("sectPr", "tblPr", "tblGrid", "trPr", "tcPr", "sdtPr", "sdtEndPr"))
_INLINE_SKIP = frozenset(
    {
        W_PPR,
        _RPR,
        w("instrText"),
        w("delInstrText"),
        w("drawing"),
        w("pict"),
        w("object"),
        w("footnoteReference"),
        w("endnoteReference"),
        w("annotationRef"),
        w("txbxContent"),
        w("sdtPr"),
        w("sdtEndPr"),
        f"{{{MC_NS}}}AlternateContent",
    }
)
_TABS = frozenset({w("tab"), w("ptab")})
_BREAKS = frozenset({w("br"), w("cr")})
_NO_BREAK_HYPHEN = w("noBreakHyphen")
_ROLE_SKIP_NAMES = ("subtitle", "toc heading")

Revs = tuple[int, ...]  # indices into _Body.revs, outermost first


@dataclass(frozen=True)
class _Rev:
    kind: ChangeKind
    author: str
    date: datetime | None

    @property
    def removes(self) -> bool:
        return self.kind in _REMOVES


@dataclass
class _Para:
    pieces: list[tuple[str, Revs]]
    role: str  # "body", "heading", "title" or "skip"
    outside: bool  # in a table or a content control
    mark: Revs = ()


Position = tuple[int, int]  # (paragraph, number of pieces before)


class _Body:
    """The paragraphs of the body as pieces of text under their revisions, and where the
    comments' markers are."""

    def __init__(self, document: Any, styles: _Styles):
        self.styles = styles
        self.paras: list[_Para] = []
        self.revs: list[_Rev] = []
        self.starts: dict[str, Position] = {}
        self.ends: dict[str, Position] = {}
        self.points: dict[str, Position] = {}
        self._pending: list[str] = []  # range starts between paragraphs, for the next one
        self._stack: Revs = ()
        self._roles: dict[str | None, str] = {}
        self._block(document.find(w("body")), False)
        for cid in self._pending:  # a start after the last paragraph
            if self.paras:
                self.starts.setdefault(cid, (len(self.paras) - 1, len(self.paras[-1].pieces)))

    def _block(self, element: Any, outside: bool) -> None:
        for child in element:
            tag = child.tag
            if tag == W_P:
                self._paragraph(child, outside)
            elif tag == _RANGE_START:
                self._pending.append(child.get(W_ID) or "")
            elif tag == _RANGE_END:
                if self.paras:
                    self.ends.setdefault(child.get(W_ID) or "", (len(self.paras) - 1, len(self.paras[-1].pieces)))
            elif isinstance(tag, str) and tag not in _BLOCK_SKIP:
                self._block(child, outside or tag in _BLOCKS_OUTSIDE)

    def _paragraph(self, p: Any, outside: bool) -> None:
        ppr = p.find(W_PPR)
        para = _Para([], self._role(ppr), outside)
        index = len(self.paras)
        self.paras.append(para)
        for cid in self._pending:
            self.starts.setdefault(cid, (index, 0))
        self._pending.clear()
        self._stack = ()
        self._inline(p, para, index)
        if ppr is not None:
            rpr = ppr.find(_RPR)
            if rpr is not None:
                para.mark = tuple(self._rev(child) for child in rpr if child.tag in _REVISION_TAGS)

    def _rev(self, el: Any) -> int:
        self.revs.append(_Rev(_REVISION_TAGS[el.tag], el.get(w("author")) or "", _date(el.get(w("date")))))
        return len(self.revs) - 1

    def _inline(self, element: Any, para: _Para, index: int) -> None:
        pieces = para.pieces
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _INLINE_SKIP:
                continue
            if tag in (W_T, _DEL_TEXT):
                if child.text:
                    pieces.append((child.text, self._stack))
            elif tag in _TABS:
                pieces.append(("\t", self._stack))
            elif tag in _BREAKS:
                if child.get(w("type")) in (None, "textWrapping"):
                    pieces.append(("\n", self._stack))
            elif tag == _NO_BREAK_HYPHEN:
                pieces.append(("-", self._stack))
            elif tag in _REVISION_TAGS:
                outer = self._stack
                self._stack = outer + (self._rev(child),)
                self._inline(child, para, index)
                self._stack = outer
            elif tag == _RANGE_START:
                self.starts.setdefault(child.get(W_ID) or "", (index, len(pieces)))
            elif tag == _RANGE_END:
                self.ends.setdefault(child.get(W_ID) or "", (index, len(pieces)))
            elif tag == _REFERENCE:
                self.points.setdefault(child.get(W_ID) or "", (index, len(pieces)))
            else:
                self._inline(child, para, index)

    def _role(self, ppr: Any) -> str:
        sid = None
        if ppr is not None:
            style = ppr.find(w("pStyle"))
            if style is not None:
                sid = style.get(W_VAL)
        role = self._roles.get(sid)
        if role is None:
            role = "body"
            for _, style in self.styles.chain(sid):
                if style.name == "title":
                    role = "title"
                elif style.name in _ROLE_SKIP_NAMES or style.name.startswith("toc "):
                    role = "skip"
                elif _HEADING_NAME.match(style.name) or (style.outline is not None and 0 <= style.outline < 9):
                    role = "heading"
                elif style.outline is None:
                    continue
                break
            self._roles[sid] = role
        if role in ("title", "skip"):
            return role
        outline = _outline(ppr)
        if outline is not None:
            return "heading" if 0 <= outline < 9 else "body"
        return role

    # -- views ----------------------------------------------------------------------

    def view(self, accepted: Callable[[int], bool] | None, *, union: bool = False) -> _View:
        """The text with the revisions ``accepted`` says yes to accepted, the others
        rejected (``None``: every revision rejected, the text before the changes);
        ``union``: all the text there is, inserted and deleted alike (as Word shows it
        with all markup)."""
        return _View(self.revs, accepted, union)


class _View:
    def __init__(self, revs: list[_Rev], accepted: Callable[[int], bool] | None, union: bool = False):
        self._revs = revs
        self._accepted = accepted
        self._present: dict[Revs, bool] = {(): True}
        self._union = union

    def accepts(self, r: int) -> bool:
        return self._accepted is not None and self._accepted(r)

    def present(self, revs: Revs) -> bool:
        known = self._present.get(revs)
        if known is None:
            known = True
            if self._union:
                self._present[revs] = known
                return known
            for r in revs:
                if self._revs[r].removes == self.accepts(r):
                    known = False  # a deletion accepted, or an insertion not
                    break
            self._present[revs] = known
        return known

    def text(self, para: _Para, start: int = 0, end: int | None = None) -> str:
        return "".join(t for t, revs in para.pieces[start:end] if self.present(revs))


# ------------------------------------------------------------------------ the clauses


def _key(line: str) -> str:
    """A line as it is compared: the numbers typed at its start and spacing left aside."""
    text = line.strip()
    for _ in range(3):
        marker = _typed_marker(text)
        if marker is None or not marker.text:
            break
        text = marker.text.strip()
    return " ".join(text.split())


class _Layout:
    """Which clause of the draft every paragraph of the file belongs to.

    ``clause[i]`` is the index in ``draft`` of paragraph ``i``'s clause (or ``None``),
    ``kind[i]`` one of "clause", "heading", "outside", "unmatched" and ``section[i]`` the
    section it is in, when one can tell.
    """

    def __init__(self, body: _Body, draft: Sequence[Clause]):
        self.body, self.draft = body, draft
        paras = body.paras
        count = len(paras)
        self.clause: list[int | None] = [None] * count
        self.kind: list[str] = ["unmatched"] * count
        self.section: list[str | None] = [None] * count
        original = body.view(None)
        texts = [original.text(p) for p in paras]
        empty = [not t.strip() for t in texts]
        # Paragraphs as they were before the changes: joined where a paragraph mark was inserted.
        groups: list[list[int]] = []
        current: list[int] = []
        for i, para in enumerate(paras):
            if para.outside:
                if current:
                    groups.append(current)
                    current = []
                self.kind[i] = "outside"
                continue
            current.append(i)
            if original.present(para.mark):
                groups.append(current)
                current = []
        if current:
            groups.append(current)
        file_lines: list[str] = []
        file_group: list[int] = []
        for g, members in enumerate(groups):
            content = [i for i in members if not empty[i]]
            roles = {paras[i].role for i in content}
            if "heading" in roles or "title" in roles:
                for i in members:
                    if not empty[i] or paras[i].role in ("heading", "title"):
                        self.kind[i] = "title" if paras[i].role == "title" else "heading"
                continue
            if "skip" in roles:
                continue
            for line in "".join(texts[i] for i in members).split("\n"):
                key = _key(line)
                if key:
                    file_lines.append(key)
                    file_group.append(g)
        draft_lines: list[str] = []
        draft_clause: list[int] = []
        for c, clause in enumerate(draft):
            for line in clause.text.split("\n"):
                key = _key(line)
                if key:
                    draft_lines.append(key)
                    draft_clause.append(c)
        matches, self.share = _match_lines(file_lines, draft_lines, file_group)
        votes: dict[int, Counter[int]] = {}
        for a, b in matches.items():
            votes.setdefault(file_group[a], Counter())[draft_clause[b]] += 1
        for g, counter in votes.items():
            best = counter.most_common(1)[0][0]
            for i in groups[g]:
                if not empty[i]:
                    self.clause[i], self.kind[i] = best, "clause"
        self._attach_new(empty)
        self._sections()

    def _attach_new(self, empty: list[bool]) -> None:
        """A paragraph with nothing before the changes (added whole, or typed into an empty
        one) goes with the clause before it, or right after a heading with the one after."""
        paras, kind, clause = self.body.paras, self.kind, self.clause
        count = len(paras)
        new = [empty[i] and kind[i] != "outside" and kind[i] not in ("heading", "title") for i in range(count)]
        before: list[int | None] = [None] * count
        last: int | None = None
        for i in range(count):
            before[i] = last
            if not new[i]:
                last = i
        after: int | None = None
        for i in range(count - 1, -1, -1):
            if new[i]:
                previous = before[i]
                if previous is not None and kind[previous] == "clause":
                    clause[i], kind[i] = clause[previous], "clause"
                elif (
                    (previous is None or kind[previous] in ("heading", "title"))
                    and after is not None
                    and kind[after] == "clause"
                ):
                    clause[i], kind[i] = clause[after], "clause"
            else:
                after = i

    def _sections(self) -> None:
        kind, clause, section = self.kind, self.clause, self.section
        last: str | None = None
        for i, c in enumerate(clause):
            if c is not None:
                last = self.draft[c].section
                section[i] = last
            elif kind[i] in ("heading", "title"):
                last = None
            else:
                section[i] = last
        upcoming: str | None = None
        for i in range(len(clause) - 1, -1, -1):
            c = clause[i]
            if c is not None:
                upcoming = self.draft[c].section
            elif kind[i] == "heading":
                section[i] = upcoming
            elif kind[i] == "title":
                section[i] = None


def _match_lines(file_lines: list[str], draft_lines: list[str], file_group: list[int]) -> tuple[dict[int, int], float]:
    """Each line of the file matched to a line of the draft, and the share of the file's
    paragraphs found (see the module docstring)."""
    groups = len(set(file_group))
    if not file_lines or not draft_lines:
        return {}, 0.0
    matcher = difflib.SequenceMatcher(None, file_lines, draft_lines, autojunk=False)
    matches: dict[int, int] = {}
    gaps: list[tuple[range, range]] = []
    a_end = b_end = 0
    for block in matcher.get_matching_blocks():
        if block.a > a_end and block.b > b_end:
            gaps.append((range(a_end, block.a), range(b_end, block.b)))
        for k in range(block.size):
            matches[block.a + k] = block.b + k
        a_end, b_end = block.a + block.size, block.b + block.size
    exact_share = len({file_group[a] for a in matches}) / groups
    if exact_share < MIN_SHARE:
        # Few lines are the draft's word for word: a sample of the others tells whether
        # the file is this draft edited throughout or another draft.
        left = [a for a in range(len(file_lines)) if a not in matches]
        step = max(1, len(left) // _SAMPLE)
        sample = left[::step][:_SAMPLE]
        scores = process.cdist(
            [file_lines[a] for a in sample],
            draft_lines,
            scorer=fuzz.ratio,
            processor=utils.default_process,
            score_cutoff=_FAR,
            workers=-1,
        )
        found = int((scores.max(axis=1) > 0).sum()) if len(sample) else 0
        estimate = exact_share + (1 - exact_share) * (found / len(sample) if sample else 0.0)
        if estimate < MIN_SHARE:
            return matches, estimate
    taken = set(matches.values())
    for a_range, b_range in gaps:
        for a, b in _similar(file_lines, draft_lines, list(a_range), list(b_range), _NEAR):
            matches[a] = b
            taken.add(b)
    # What is left anywhere: the same text once on each side, then similar text.
    left_a = [a for a in range(len(file_lines)) if a not in matches]
    left_b = [b for b in range(len(draft_lines)) if b not in taken]
    if left_a and left_b:
        by_text: dict[str, list[int]] = {}
        for b in left_b:
            by_text.setdefault(draft_lines[b], []).append(b)
        counts = Counter(file_lines[a] for a in left_a)
        for a in left_a:
            found_b = by_text.get(file_lines[a])
            if found_b is not None and len(found_b) == 1 and counts[file_lines[a]] == 1:
                matches[a] = found_b[0]
                taken.add(found_b[0])
        left_a = [a for a in left_a if a not in matches]
        left_b = [b for b in left_b if b not in taken]
        if left_a and left_b and len(left_a) * len(left_b) <= _MAX_FAR_PAIRS:
            for a, b in _similar(file_lines, draft_lines, left_a, left_b, _FAR):
                matches[a] = b
    return matches, len({file_group[a] for a in matches}) / groups


def _similar(
    a_lines: list[str], b_lines: list[str], a_idx: list[int], b_idx: list[int], cutoff: float
) -> Iterator[tuple[int, int]]:
    """Pairs of similar lines, best first, each line once: each line of ``a_idx`` against
    every line of ``b_idx``, or, for a gap too large for that (both sides in the same
    order), against the lines of ``b_idx`` around where it should be."""
    if len(a_idx) * len(b_idx) <= _MAX_GAP_PAIRS:
        yield from _best_pairs(a_lines, b_lines, a_idx, b_idx, cutoff, set())
        return
    used_b: set[int] = set()
    ratio = len(b_idx) / len(a_idx)
    for low in range(0, len(a_idx), _BAND):
        rows = a_idx[low : low + _BAND]
        first = max(0, int(low * ratio) - _BAND)
        last = min(len(b_idx), int((low + len(rows)) * ratio) + _BAND)
        for a, b in _best_pairs(a_lines, b_lines, rows, b_idx[first:last], cutoff, used_b):
            used_b.add(b)
            yield a, b


def _best_pairs(
    a_lines: list[str], b_lines: list[str], a_idx: list[int], b_idx: list[int], cutoff: float, used_b: set[int]
) -> Iterator[tuple[int, int]]:
    if not a_idx or not b_idx:
        return
    if len(a_idx) == 1 and len(b_idx) == 1:
        score = fuzz.ratio(a_lines[a_idx[0]], b_lines[b_idx[0]], processor=utils.default_process)
        if score >= cutoff and b_idx[0] not in used_b:
            yield a_idx[0], b_idx[0]
        return
    scores = process.cdist(
        [a_lines[a] for a in a_idx],
        [b_lines[b] for b in b_idx],
        scorer=fuzz.ratio,
        processor=utils.default_process,
        score_cutoff=cutoff,
        workers=-1,
    )
    # Each line's best few candidates (lines of a draft that share its phrasing can be
    # many): taken best first, each line once.
    keep = min(_CANDIDATES, len(b_idx))
    best = numpy.argpartition(-scores, keep - 1, axis=1)[:, :keep]
    candidates: list[tuple[float, int, int]] = []
    for r, columns in enumerate(best.tolist()):
        for c in columns:
            score = float(scores[r, c])
            if score >= cutoff:
                candidates.append((score, r, c))
    candidates.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_a: set[int] = set()
    taken: set[int] = set()
    for _, r, c in candidates:
        if r in used_a or c in taken or b_idx[c] in used_b:
            continue
        used_a.add(r)
        taken.add(c)
        yield a_idx[r], b_idx[c]


# ------------------------------------------------------------------------ reading


class _Reading:
    def __init__(
        self,
        body: _Body,
        layout: _Layout,
        draft: Sequence[Clause],
        comments: list[_Comment],
        threads: dict[str, tuple[str | None, bool]],
        authors: Collection[str] | None,
    ):
        self.body, self.layout, self.draft = body, layout, draft
        self.raw_comments, self.threads = comments, threads
        self.wanted = None if authors is None else frozenset(authors)
        revs = body.revs
        wanted = self.wanted
        self.accepted: Callable[[int], bool] = _every if wanted is None else (lambda r: revs[r].author in wanted)
        self.original = body.view(None)
        self.new = body.view(self.accepted)
        self.every = body.view(_every)
        self.markup = body.view(None, union=True)

    def result(self) -> CommentedCopy:
        proposals, by_hand = self._proposals()
        comments = self._comments()
        return CommentedCopy(
            comments=tuple(comments),
            proposals=tuple(proposals),
            stray_changes=tuple(self._strays()),
            authors=self._authors(),
            share=self.layout.share,
            edited_by_hand=tuple(by_hand),
            _order={clause.ref: k for k, clause in enumerate(self.draft)},
        )

    # -- proposals ----------------------------------------------------------------------

    def _paragraphs_of(self) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        for i, c in enumerate(self.layout.clause):
            if c is not None:
                found.setdefault(c, []).append(i)
        return found

    def _lines(self, indices: list[int], view: _View) -> list[tuple[str, int]]:
        """The paragraphs ``indices`` in ``view``: (text, first paragraph index) of each,
        joined where a paragraph mark is absent from the view."""
        paras = self.body.paras
        out: list[tuple[str, int]] = []
        parts: list[str] = []
        first = -1
        for k, i in enumerate(indices):
            if not parts:
                first = i
            parts.append(view.text(paras[i]))
            ends = k == len(indices) - 1 or indices[k + 1] != i + 1
            if ends or view.present(paras[i].mark):
                text = "".join(parts).strip()
                if text:
                    out.append((text, first))
                parts = []
        return out

    def _proposals(self) -> tuple[list[Proposal], list[str]]:
        paras = self.body.paras
        proposals: list[Proposal] = []
        by_hand: list[str] = []
        layout_clause = self.layout.clause
        for c, indices in sorted(self._paragraphs_of().items()):
            clause = self.draft[c]
            before = self._lines(indices, self.original)
            touched = any(revs for i in indices for _, revs in paras[i].pieces) or any(paras[i].mark for i in indices)
            original = [t for t, _ in before]
            strip = False
            if before:
                marker = _typed_marker(before[0][0])
                strip = marker is not None and not clause.text.lstrip().startswith(marker.label)
                if strip:
                    original[0] = _without_marker(original[0])
            if _keys("\n".join(original)) != _keys(clause.text):
                by_hand.append(clause.ref)
            if not touched:
                continue
            after = self._lines(indices, self.new)
            proposed = [t for t, _ in after]
            if strip and before:
                for k, (_, first) in enumerate(after):
                    if first == before[0][1]:
                        proposed[k] = _without_marker(proposed[k])
                        break
            original_text, proposed_text = "\n".join(original), "\n".join(p for p in proposed if p)
            if original_text == proposed_text:
                continue
            changes = self._changes(indices)
            across: list[str] = []
            for i in (indices[0] - 1, indices[-1]):
                if i < 0 or i + 1 >= len(paras):
                    continue
                if self._runs_across(i):
                    other = layout_clause[i + 1] if i == indices[-1] else layout_clause[i]
                    if other is not None and other != c:
                        across.append(self.draft[other].ref)
            proposals.append(
                Proposal(
                    ref=clause.ref,
                    section=clause.section,
                    current=clause.text,
                    original=original_text,
                    proposed=proposed_text,
                    authors=tuple(dict.fromkeys(change.author for change in changes)),
                    changes=tuple(changes),
                    across=tuple(across),
                )
            )
        return proposals, by_hand

    def _removed(self, revs: Revs) -> bool:
        return any(self.body.revs[r].removes and self.accepted(r) for r in revs)

    def _runs_across(self, i: int) -> bool:
        """A deletion runs from paragraph ``i`` through its mark into paragraph ``i + 1``
        (the end of one, its mark and the start of the next are all deleted)."""
        paras = self.body.paras
        ending = [revs for text, revs in paras[i].pieces if text.strip()]
        starting = [revs for text, revs in paras[i + 1].pieces if text.strip()]
        return (
            self._removed(paras[i].mark)
            and bool(ending)
            and bool(starting)
            and self._removed(ending[-1])
            and self._removed(starting[0])
        )

    def _stream(self, indices: Sequence[int]) -> Iterator[tuple[str, Revs]]:
        paras = self.body.paras
        previous = -2
        for i in indices:
            if i != previous + 1:
                yield "", ()  # not adjacent: a change does not run on
            yield from paras[i].pieces
            yield "\n", paras[i].mark
            previous = i

    def _changes(self, indices: Sequence[int], accepted: Callable[[int], bool] | None = None) -> list[TrackedChange]:
        """The changes in the paragraphs ``indices``, adjacent ones of one kind and author joined."""
        accept = accepted or self.accepted
        revs = self.body.revs
        groups: list[tuple[_Rev, list[str]]] = []
        open_of: dict[int, int] = {}
        previous: Revs = ()
        for text, piece_revs in self._stream(indices):
            for r in piece_revs:
                if not accept(r):
                    continue
                g = open_of.get(r)
                if g is None:
                    rev = revs[r]
                    for q in previous:
                        h = open_of.get(q)
                        if h is not None and revs[q].kind == rev.kind and revs[q].author == rev.author:
                            g = h
                            break
                    if g is None:
                        groups.append((rev, []))
                        g = len(groups) - 1
                    open_of[r] = g
                groups[g][1].append(text)
            previous = piece_revs
        changes = []
        for rev, parts in groups:
            text = "".join(parts)
            if text:
                changes.append(TrackedChange(rev.kind, rev.author, rev.date, text))
        return changes

    def _strays(self, accepted: Callable[[int], bool] | None = None) -> list[StrayChange]:
        layout, paras = self.layout, self.body.paras
        strays: list[StrayChange] = []
        run: list[int] = []

        def flush() -> None:
            if run:
                reason = _reason(layout.kind[run[0]])
                for change in self._changes(run, accepted):
                    strays.append(StrayChange(change, reason, layout.section[run[0]]))
                run.clear()

        for i, para in enumerate(paras):
            if layout.clause[i] is not None or not (para.mark or any(revs for _, revs in para.pieces)):
                flush()
                continue
            if run and (_reason(layout.kind[run[0]]) != _reason(layout.kind[i]) or run[-1] != i - 1):
                flush()
            run.append(i)
        flush()
        return strays

    # -- comments -----------------------------------------------------------------------

    def _comments(self) -> list[FileComment]:
        body, layout = self.body, self.layout
        by_para_id = {c.para_id: c.id for c in self.raw_comments if c.para_id}
        placed: list[tuple[tuple[int, int, int], FileComment]] = []
        for n, raw in enumerate(self.raw_comments):
            if self.wanted is not None and raw.author not in self.wanted:
                continue
            reply_to, resolved = None, False
            thread = self.threads.get(raw.para_id or "")
            if thread is not None:
                parent, resolved = thread
                reply_to = by_para_id.get(parent) if parent else None
            span = self._span(raw.id)
            if span is None:
                comment = FileComment(
                    raw.id, raw.author, raw.initials, raw.date, raw.text, "", None, (), None, Unplaced.NO_ANCHOR
                )
                placed.append(((len(body.paras), 0, n), comment))
                continue
            (s_para, s_pos), (e_para, e_pos), point = span
            refs = list(dict.fromkeys(c for c in layout.clause[s_para : e_para + 1] if c is not None))
            quote = "" if point else self._quote(s_para, s_pos, e_para, e_pos)
            if refs:
                first = self.draft[refs[0]]
                comment = FileComment(
                    raw.id,
                    raw.author,
                    raw.initials,
                    raw.date,
                    raw.text,
                    quote,
                    first.ref,
                    tuple(self.draft[c].ref for c in refs),
                    first.section,
                    None,
                    reply_to,
                    resolved,
                )
            else:
                kinds = layout.kind[s_para : e_para + 1]
                where = next((k for k in ("heading", "title", "outside") if k in kinds), "unmatched")
                at = s_para + kinds.index(where) if where in kinds else s_para
                comment = FileComment(
                    raw.id,
                    raw.author,
                    raw.initials,
                    raw.date,
                    raw.text,
                    quote,
                    None,
                    (),
                    layout.section[at],
                    _reason(where),
                    reply_to,
                    resolved,
                )
            placed.append(((s_para, s_pos, n), comment))
        placed.sort(key=lambda item: item[0])
        return [comment for _, comment in placed]

    def _span(self, cid: str) -> tuple[Position, Position, bool] | None:
        """Where comment ``cid`` starts and ends, and whether it is on a point."""
        body = self.body
        start, end, point = body.starts.get(cid), body.ends.get(cid), body.points.get(cid)
        if start is None and end is None:
            if point is None:
                return None
            return point, point, True
        if start is None:
            assert end is not None
            start = (end[0], 0)
        if end is None:
            end = point if point is not None and point >= start else (start[0], len(body.paras[start[0]].pieces))
        if end < start:
            start, end = end, start
        paras = body.paras
        markup = self.markup
        # A range that starts after the text of its paragraph, or ends before it, does not
        # reach into that paragraph.
        while start[0] < end[0] and not markup.text(paras[start[0]], start[1]).strip():
            start = (start[0] + 1, 0)
        while end[0] > start[0] and not markup.text(paras[end[0]], 0, end[1]).strip():
            end = (end[0] - 1, len(paras[end[0] - 1].pieces))
        return start, end, start == end

    def _quote(self, s_para: int, s_pos: int, e_para: int, e_pos: int) -> str:
        for view in (self.every, self.original):
            parts = []
            for i in range(s_para, e_para + 1):
                para = self.body.paras[i]
                parts.append(view.text(para, s_pos if i == s_para else 0, e_pos if i == e_para else None))
            text = "\n".join(p.strip() for p in parts).strip()
            if text:
                return text
        return ""

    # -- authors ------------------------------------------------------------------------

    def _authors(self) -> tuple[Author, ...]:
        """Everyone named in the file (whatever ``authors`` selected)."""
        comments = Counter(c.author for c in self.raw_comments)
        changes: Counter[str] = Counter()
        for indices in self._paragraphs_of().values():
            for change in self._changes(indices, _every):
                changes[change.author] += 1
        for stray in self._strays(_every):
            changes[stray.change.author] += 1
        names = set(comments) | set(changes)
        ordered = sorted(names, key=lambda name: (-(comments[name] + changes[name]), name))
        return tuple(Author(name, comments[name], changes[name]) for name in ordered)


def _every(r: int) -> bool:
    return True


def _keys(text: str) -> list[str]:
    return [key for key in map(_key, text.split("\n")) if key]


def _without_marker(text: str) -> str:
    marker = _typed_marker(text.lstrip())
    return marker.text.strip() if marker is not None and marker.text.strip() else text


def _reason(kind: str) -> Unplaced:
    if kind in ("heading", "title"):
        return Unplaced.ON_HEADING
    if kind == "outside":
        return Unplaced.IN_TABLE
    return Unplaced.NOT_IN_DRAFT
