"""The prompt for proposed wording gives the clause's text to start from."""

from __future__ import annotations

from bot import callbacks as cb
from bot import keyboards, texts
from bot.services.comments import STEP_PROPOSED, DraftView
from localapi.formatting import parse_text


def _view(clause_text: str) -> DraftView:
    return DraftView(1, "2.3.1", clause_text, "Plan", STEP_PROPOSED, "te", "Comment.", None, None)


def _copied(prompt: str) -> list[str]:
    parsed = parse_text(prompt, "HTML")
    units = parsed.text.encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in parsed.entities
        if e["type"] == "code"
    ]


def test_a_short_clause_comes_with_a_button_that_copies_it():
    view = _view("Coverage shall be extended <progressively> & fairly.")
    buttons = [b for row in keyboards.proposed(view.clause_text) for b in row]
    assert [b.text for b in buttons if isinstance(b, cb.CopyText)] == [view.clause_text]
    assert "📋 Copy the clause" in texts.ask_proposed(view) and _copied(texts.ask_proposed(view)) == []


def test_a_clause_too_long_for_the_button_is_in_a_block_that_copies_with_one_tap():
    text = "Member States shall <extend> coverage & more, " * 8 + "in full."
    assert len(text) > cb.COPY_TEXT_LIMIT
    view = _view(text)
    assert not any(isinstance(b, cb.CopyText) for row in keyboards.proposed(text) for b in row)
    assert _copied(texts.ask_proposed(view)) == [text]
    # Longer still, it is not repeated (a message holds 4,096 characters).
    huge = _view("word " * 1000)
    assert _copied(texts.ask_proposed(huge)) == [] and "too long to repeat" in texts.ask_proposed(huge)
