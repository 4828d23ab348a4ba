"""The bot's token never reaches a log: message, arguments, exception text, stack."""

from __future__ import annotations

import io
import logging

import pytest
from telegram.error import InvalidToken, NetworkError

from bot.logs import MASK, TokenFilter

CONFIGURED = "123456:SHORT-TEST-TOKEN"
OTHER = "987654321:AAE" + "x" * 32


@pytest.fixture
def logged():
    """A logger whose handler has the filter; returns (logger, what it wrote)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(TokenFilter([CONFIGURED]))
    logger = logging.getLogger("tests.logs")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream.getvalue
    logger.removeHandler(handler)


def test_the_configured_token_and_any_token_shaped_text_are_masked(logged):
    logger, written = logged
    logger.info("calling https://api.telegram.org/bot%s/getMe", CONFIGURED)
    logger.warning(f"url was /bot{OTHER}/sendMessage and quoted 123456%3ASHORT-TEST-TOKEN")
    logger.info("%(token)s in a mapping", {"token": CONFIGURED})
    text = written()
    assert CONFIGURED not in text and OTHER not in text and "SHORT-TEST-TOKEN" not in text
    assert text.count(MASK) == 4
    assert "/bot<token>/getMe" in text


def test_an_exception_and_its_chain_are_masked(logged):
    logger, written = logged
    try:
        try:
            raise ValueError(f"inner {OTHER}")
        except ValueError as inner:
            raise RuntimeError(f"The token `{CONFIGURED}` was rejected by the server.") from inner
    except RuntimeError:
        logger.exception("failed")
    logger.info("where", stack_info=True)
    text = written()
    assert "Traceback" in text and "RuntimeError" in text and "inner" in text
    assert CONFIGURED not in text and OTHER not in text


def test_network_errors_and_refused_tokens_from_telegram_take_one_line(logged):
    logger, written = logged
    for error in (
        NetworkError("httpx.ConnectError: All connection attempts failed"),
        InvalidToken(f"The token `{CONFIGURED}` was rejected by the server."),
    ):
        try:
            raise error
        except type(error):
            logger.exception("Exception happened while polling for updates.")
    lines = written().strip().splitlines()
    assert lines == [
        "ERROR Exception happened while polling for updates.: NetworkError: httpx.ConnectError: All connection attempts failed",
        f"ERROR Exception happened while polling for updates.: InvalidToken: The token `{MASK}` was rejected by the server.",
    ]


def test_arguments_that_do_not_fit_the_format_are_still_masked(logged):
    logger, written = logged
    two = "two %s %s"  # a format the arguments do not fit
    logger.info(two, CONFIGURED)
    assert CONFIGURED not in written() and MASK in written()
