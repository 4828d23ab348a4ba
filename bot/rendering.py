"""The renderer services word their messages with: Telegram HTML from `bot.texts`, buttons
from `bot.keyboards`."""

from __future__ import annotations

from collections.abc import Sequence

from bot import keyboards, texts
from bot.models import Section
from bot.services.render import Renderer, Rows


class TelegramRenderer:
    circulation_intro = staticmethod(texts.circulation_intro)
    section_parts = staticmethod(texts.section_parts)
    section_buttons = staticmethod(keyboards.section_buttons)
    reminder = staticmethod(texts.reminder)
    nudge_message = staticmethod(texts.nudge_message)
    summary_label = staticmethod(texts.summary_label)
    chair_summary = staticmethod(texts.chair_summary)
    secretariat_summary = staticmethod(texts.secretariat_summary)
    chart_caption = staticmethod(texts.chart_caption)
    nudge_buttons = staticmethod(keyboards.nudge)
    deadline_moved = staticmethod(texts.deadline_moved)
    round_closed_notice = staticmethod(texts.round_closed_notice)
    answers_message = staticmethod(texts.answers_message)
    answer_summary = staticmethod(texts.answer_summary)
    answer_chart_caption = staticmethod(texts.answer_chart_caption)
    disposition_label = staticmethod(texts.disposition_label)
    comment_returned = staticmethod(texts.comment_returned)
    focal_reminder = staticmethod(texts.focal_reminder)
    focal_digest = staticmethod(texts.focal_digest)
    ballot = staticmethod(texts.ballot)
    ballot_buttons = staticmethod(keyboards.ballot)
    endorsement_reminder = staticmethod(texts.endorsement_reminder)
    silence_broken = staticmethod(texts.silence_broken)
    endorsement_record_buttons = staticmethod(keyboards.endorsement_record)
    endorsement_record_caption = staticmethod(texts.endorsement_record_caption)
    endorsement_closed = staticmethod(texts.endorsement_closed)

    @staticmethod
    def reminder_buttons(sections: Sequence[Section], consultation_id: int) -> Rows:
        return keyboards.reminder(
            [(s.id, texts.section_button_label(s.ref, s.heading)) for s in sections], consultation_id
        )


RENDERER: Renderer = TelegramRenderer()
