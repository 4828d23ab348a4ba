"""Small helpers that build test data the way users would provide it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from docx import Document


def small_draft(title: str = "Plan of Action on Social Protection") -> bytes:
    """A short draft: a title, three headed sections, clauses with typed numbers."""
    doc = Document()
    doc.add_paragraph(title, style="Title")
    doc.add_heading("1. Purpose", level=1)
    doc.add_paragraph("1.1 This Plan of Action sets out regional actions for the period 2026-2030.")
    doc.add_paragraph("1.2 It complements national social protection strategies.")
    doc.add_heading("2. Actions", level=1)
    doc.add_paragraph("2.1 Member States will extend coverage to informal workers.")
    doc.add_paragraph("a) through contributory schemes adapted to irregular incomes;")
    doc.add_paragraph("b) through tax-financed benefits where contributions are not feasible.")
    doc.add_paragraph("2.2 Sectoral bodies will report progress every two years.")
    doc.add_heading("3. Review", level=1)
    doc.add_paragraph("3.1 The Plan will be reviewed at mid-term.")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)
