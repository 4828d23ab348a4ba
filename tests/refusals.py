"""Asserting a service's refusal as the person who asked reads it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot import texts
from bot.services.errors import ServiceError


@contextmanager
def refused(kind: type[ServiceError], match: str) -> Iterator[pytest.ExceptionInfo[ServiceError]]:
    """The block is refused with `kind`, and the refusal, worded, contains `match`."""
    with pytest.raises(kind) as caught:
        yield caught
    worded = texts.plain(texts.refusal(caught.value))
    assert re.search(match, worded), f"{match!r} not in {worded!r}"
