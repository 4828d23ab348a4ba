"""The Secretariat's answers as replies threaded under the delegates' Word comments."""

from __future__ import annotations

import collections
import dataclasses
import io
import re
import zipfile

import docx
import pytest
from lxml import etree

from documents.consolidate import CommentEntry, consolidate, draft_with_proposals, sanitize_xml_text

from .builders import w
from .ooxml_check import W15_NS, process_compatibility, schema_folder, validation_errors
from .reading import part, text_of
from .test_consolidate import _comments, _info
from .test_proposals import _entries

W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
PARA_ID = f"{{{W14_NS}}}paraId"
RT_COMMENTS_EXTENDED = "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"
CT_COMMENTS_EXTENDED = "application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
PKG_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"


def _answered(sample) -> list[CommentEntry]:
    """The sample comments, every third one answered (with and without an observation)."""
    answers = [
        ("partly", "Kept, every 18 months."),
        ("noted", None),
        (None, "To be discussed at the meeting.\nSee also 2.1."),
        ("rejected", "Outside the scope of the Framework."),
    ]
    out = []
    for n, entry in enumerate(_unanswered(sample)):
        if n % 3 == 0:
            disposition, observation = answers[(n // 3) % len(answers)]
            entry = dataclasses.replace(entry, disposition=disposition, observation=observation)
        out.append(entry)
    return out


def _unanswered(sample) -> list[CommentEntry]:
    return [dataclasses.replace(c, disposition=None, observation=None) for c in _comments(sample)]


@dataclasses.dataclass
class Thread:
    parent: etree._Element  # the delegate's w:comment
    reply: etree._Element  # the Secretariat's


def _extended_part_name(data: bytes) -> str | None:
    """The commentsExtended part, found as Word finds it: through the relationship."""
    rels = part(data, "word/_rels/document.xml.rels")
    for rel in rels.iterchildren(f"{{{PKG_RELS}}}Relationship"):
        if rel.get("Type") == RT_COMMENTS_EXTENDED:
            return "word/" + rel.get("Target").lstrip("/").removeprefix("word/")
    return None


def _threads(data: bytes) -> list[Thread]:
    comments = list(part(data, "word/comments.xml").iterchildren(w("comment")))
    by_para_id = {}
    for comment in comments:
        last = comment.findall(w("p"))[-1]
        if last.get(PARA_ID) is not None:
            by_para_id[last.get(PARA_ID)] = comment
    name = _extended_part_name(data)
    if name is None:
        return []
    threads = []
    for entry in part(data, name).iterchildren(f"{{{W15_NS}}}commentEx"):
        parent = entry.get(f"{{{W15_NS}}}paraIdParent")
        if parent is not None:
            threads.append(Thread(by_para_id[parent], by_para_id[entry.get(f"{{{W15_NS}}}paraId")]))
    return threads


def _text(comment: etree._Element) -> str:
    return "\n".join(text_of(p) for p in comment.iterchildren(w("p")))


@pytest.fixture(scope="module")
def answered(sample_bytes, sample):
    comments = _answered(sample)
    return comments, consolidate(sample_bytes, comments, _info())


def test_an_answered_comment_gets_the_answer_as_a_reply(answered):
    comments, out = answered
    threads = _threads(out)
    expected = collections.Counter((c.author, c.answer) for c in comments if c.answer)
    assert sum(expected.values()) == 10
    assert collections.Counter((t.parent.get(w("author")), _text(t.reply)) for t in threads) == expected
    for thread in threads:
        assert thread.reply.get(w("author")) == "Secretariat"
        assert thread.reply.get(w("initials")) == "SEC"
        assert thread.reply.get(w("date")) == "2026-12-02T09:30:00Z"
        # The delegate's comment keeps its own text only.
        assert "Kept, every 18 months." not in _text(thread.parent)
        assert "Secretariat" not in _text(thread.parent)
    texts = {_text(t.reply) for t in threads}
    assert "Accepted in part. Kept, every 18 months." in texts
    assert "Noted" in texts
    assert "To be discussed at the meeting.\nSee also 2.1." in texts
    assert "Not accepted. Outside the scope of the Framework." in texts


def test_an_unanswered_comment_gets_no_reply(answered):
    comments, out = answered
    all_comments = list(part(out, "word/comments.xml").iterchildren(w("comment")))
    unanswered = sum(1 for c in comments if not c.answer)
    parents = {t.parent.get(w("id")) for t in _threads(out)}
    delegates = [c for c in all_comments if c.get(w("author")) != "Secretariat"]
    assert len(delegates) == len(comments)
    without_reply = [c for c in delegates if c.get(w("id")) not in parents]
    assert len(without_reply) == unanswered == 20
    texts = {sanitize_xml_text(c.text).strip().split("\n")[0][:40] for c in comments if not c.answer}
    assert all(any(t in _text(c) for t in texts) for c in without_reply)
    assert len(all_comments) == len(comments) + len(_threads(out))


def test_no_answers_no_thread_part(sample_bytes, sample):
    out = consolidate(sample_bytes, _unanswered(sample), _info())
    assert _extended_part_name(out) is None
    assert "word/commentsExtended.xml" not in zipfile.ZipFile(io.BytesIO(out)).namelist()
    assert b"paraId" not in zipfile.ZipFile(io.BytesIO(out)).read("word/comments.xml")


def test_the_thread_part_is_declared(answered):
    _, out = answered
    assert _extended_part_name(out) == "word/commentsExtended.xml"
    types = part(out, "[Content_Types].xml")
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iterchildren(f"{{{PKG_TYPES}}}Override")}
    assert overrides["/word/commentsExtended.xml"] == CT_COMMENTS_EXTENDED


def test_paragraph_ids_are_on_the_last_paragraph_and_ignorable(answered):
    _, out = answered
    root = part(out, "word/comments.xml")
    assert "w14" in root.get(f"{{{MC_NS}}}Ignorable").split()
    ids = [p.get(PARA_ID) for p in root.iter(w("p")) if p.get(PARA_ID) is not None]
    assert len(ids) == len(set(ids)) == 2 * len(_threads(out))
    assert all(re.fullmatch("[0-9A-F]{8}", i) and 0 < int(i, 16) < 0x80000000 for i in ids)
    multi = next(t for t in _threads(out) if _text(t.reply).startswith("To be discussed"))
    paragraphs = multi.reply.findall(w("p"))
    assert len(paragraphs) == 2
    assert paragraphs[0].get(PARA_ID) is None and paragraphs[1].get(PARA_ID) is not None


def test_a_reply_is_anchored_within_its_comments_range(answered):
    _, out = answered
    body = list(part(out).iter(w("commentRangeStart"), w("commentRangeEnd"), w("commentReference")))
    position = {(el.tag, el.get(w("id"))): n for n, el in enumerate(body)}
    for thread in _threads(out):
        parent, reply = thread.parent.get(w("id")), thread.reply.get(w("id"))
        start, end = w("commentRangeStart"), w("commentRangeEnd")
        # Start of the comment, then of the reply; the comment's range ends first.
        assert position[(start, parent)] < position[(start, reply)] < position[(end, parent)]
        assert position[(end, parent)] < position[(end, reply)]
        assert (w("commentReference"), reply) in position


def test_the_draft_with_proposals_has_the_replies_too(sample_bytes, sample):
    comments = _answered(sample) + _entries(sample)
    out = draft_with_proposals(sample_bytes, comments, _info())
    threads = _threads(out)
    assert len(threads) == sum(1 for c in comments if c.answer)
    ids = [c.get(w("id")) for c in part(out, "word/comments.xml").iterchildren(w("comment"))]
    revisions = [el.get(w("id")) for el in part(out).iter(w("ins"), w("del"))]
    assert len(set(ids)) == len(ids) and not set(ids) & set(revisions)


def _with_paragraph_ids(data: bytes, first: int) -> tuple[bytes, set[str]]:
    """``data`` with Word's paragraph ids on every body paragraph, counted from ``first``."""
    document = docx.Document(io.BytesIO(data))
    given = set()
    for n, p in enumerate(document.element.body.iter(w("p"))):
        value = f"{first + n:08X}"
        p.set(PARA_ID, value)
        given.add(value)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), given


def test_paragraph_ids_stay_unique_in_a_draft_that_has_them(sample_bytes, sample):
    draft, given = _with_paragraph_ids(sample_bytes, 1)
    out = consolidate(draft, _answered(sample), _info())
    ids = [p.get(PARA_ID) for p in part(out, "word/comments.xml").iter(w("p")) if p.get(PARA_ID)]
    assert ids and not set(ids) & given
    assert len(_threads(out)) == 10


def test_consolidating_an_answered_output_again_keeps_every_thread(answered, sample):
    comments, once = answered
    twice = consolidate(once, comments, _info())
    assert len(_threads(twice)) == 2 * len(_threads(once))
    ids = [p.get(PARA_ID) for p in part(twice, "word/comments.xml").iter(w("p")) if p.get(PARA_ID)]
    assert len(ids) == len(set(ids))
    names = zipfile.ZipFile(io.BytesIO(twice)).namelist()
    assert sum(1 for name in names if "commentsExtended" in name) == 1


def test_replies_in_a_comments_part_with_another_prefix(sample_bytes, sample):
    from .test_consolidate import _with_prefix

    comments = _answered(sample)
    once = consolidate(sample_bytes, comments[1:3], _info())  # none of them answered
    draft = _with_prefix(once, ("word/comments.xml",), "ns0")
    out = consolidate(draft, comments[:1], _info())
    threads = _threads(out)
    assert [_text(t.reply) for t in threads] == [comments[0].answer]


# ------------------------------------------------------------------------ validity


def test_paragraph_ids_are_valid_only_as_ignorable_markup(answered):
    """The check is not blind to them: the same comments part without ``mc:Ignorable``
    is invalid ECMA-376."""
    schema_folder()
    _, out = answered
    source = zipfile.ZipFile(io.BytesIO(out))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/comments.xml":
                data = data.replace(b' mc:Ignorable="w14"', b"")
            target.writestr(info, data)
    errors = validation_errors(broken.getvalue())
    assert any("paraId" in message for message in errors["word/comments.xml"])
    assert process_compatibility(part(out, "word/comments.xml")).find(f".//{w('p')}[@{{{W14_NS}}}paraId]") is None
