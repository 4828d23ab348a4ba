"""Fixtures for the documents tests."""

from __future__ import annotations

import pytest

from documents.draft import ParsedDraft, parse_draft
from documents.sample import sample_draft

from .builders import DocBuilder


@pytest.fixture(scope="session")
def sample_bytes() -> bytes:
    return sample_draft()


@pytest.fixture(scope="session")
def sample(sample_bytes: bytes) -> ParsedDraft:
    return parse_draft(sample_bytes)


@pytest.fixture
def builder() -> DocBuilder:
    return DocBuilder()
