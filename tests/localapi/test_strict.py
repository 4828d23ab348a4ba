"""Strict mode: each of Telegram's limits, broken (Telegram's exact answer) and just kept."""

from __future__ import annotations

import aiohttp
import pytest
from telegram import Bot
from telegram.error import RetryAfter

from localapi import LocalBotApi

TOKEN = "123456789:AAH-local_test-token"
EMOJI = "\U0001f600"  # outside the Basic Multilingual Plane: 2 UTF-16 code units
SURROGATES = (
    "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
)
BARE_AMPERSAND = "Unsupported HTML entity at byte offset 1; a literal '&' must be written as &amp;"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(clock: Clock):
    # A burst of 3 in one chat keeps the flood tests short; the server's default is 10.
    async with LocalBotApi(strict=True, clock=clock, per_chat_burst=3) as server:
        yield server


async def call(api: LocalBotApi, method: str, **params) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.url}/bot{TOKEN}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


def refused(description: str, code: int = 400) -> dict:
    return {"ok": False, "error_code": code, "description": description}


async def started(api: LocalBotApi, user_id: int):
    user = api.user(user_id)
    user.started = True
    return user


async def send(api: LocalBotApi, chat_id: int, text: str, **params) -> tuple[int, dict]:
    return await call(api, "sendMessage", chat_id=chat_id, text=text, **params)


# ---------------------------------------------------------------------- HTML


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a <br> b", 'Unsupported start tag "br" at byte offset 2'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<B>x</B> <P>", 'Unsupported start tag "p" at byte offset 9'),
        ("é <b/>", 'Unsupported start tag "b/" at byte offset 3'),  # byte offsets count UTF-8 bytes
        ("<b>bold</i>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b>x</b y>", "Unclosed end tag at byte offset 4"),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("<a href", 'Unclosed start tag "a" at byte offset 0'),
        ("<b >", 'Can\'t find end tag corresponding to start tag "b"'),
        ('<b "x">', 'Empty attribute name in the tag "b" at byte offset 0'),
        ("<b x=y/>z</b>", "Unexpected end of name token at byte offset 5"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<span class="spoiler">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("&#xD83D;&#xDE00;", SURROGATES),
        # the documented rule, stricter than Telegram's server (see localapi/formatting.py)
        ("Q&A", BARE_AMPERSAND),
        ("<i>&nbsp;</i>", "Unsupported HTML entity at byte offset 3; a literal '&' must be written as &amp;"),
    ],
)
async def test_html_that_telegram_cannot_parse_is_refused_with_its_description(api, html, description):
    user = await started(api, 11)
    status, body = await send(api, user.id, html, parse_mode="HTML")
    assert (status, body) == (400, refused(f"Bad Request: can't parse entities: {description}"))
    assert user.messages() == []
    assert api.violations[-1].violation == body["description"]


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("&lt;b&gt;", "<b>", []),  # three characters: "<", "b", ">"
        ("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;", '<b>bold</b> & "q"', []),
        ("&#8212; &#x2014; &#128512;", "\u2014 \u2014 " + EMOJI, []),
        ("&lt no semicolon", "< no semicolon", []),  # as Telegram's server reads it
        ("2 > 1", "2 > 1", []),
        ("<b>x</>", "x", [{"type": "bold", "offset": 0, "length": 1}]),  # </> closes the innermost tag
        ("<B>x</b>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        ("<b data-x>x</b>", "x", [{"type": "bold", "offset": 0, "length": 1}]),  # unknown attributes
        (
            "<strong>a</strong><em>b</em><ins>c</ins><del>d</del><tg-spoiler>e</tg-spoiler>",
            "abcde",
            [
                {"type": "bold", "offset": 0, "length": 1},
                {"type": "italic", "offset": 1, "length": 1},
                {"type": "underline", "offset": 2, "length": 1},
                {"type": "strikethrough", "offset": 3, "length": 1},
                {"type": "spoiler", "offset": 4, "length": 1},
            ],
        ),
        (
            '<span class="tg-spoiler">s</span> <s>t</s> <strike>u</strike> <u>v</u>',
            "s t u v",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "strikethrough", "offset": 2, "length": 1},
                {"type": "strikethrough", "offset": 4, "length": 1},
                {"type": "underline", "offset": 6, "length": 1},
            ],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        ("<code>c</code>", "c", [{"type": "code", "offset": 0, "length": 1}]),
        (
            "<blockquote expandable>q</blockquote><blockquote>r</blockquote>",
            "qr",
            [
                {"type": "expandable_blockquote", "offset": 0, "length": 1},
                {"type": "blockquote", "offset": 1, "length": 1},
            ],
        ),
        (
            '<a href="https://example.org/?a=1&amp;b=2">link</a>',
            "link",
            [{"type": "text_link", "offset": 0, "length": 4, "url": "https://example.org/?a=1&b=2"}],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">\U0001f44d</tg-emoji>',
            "\U0001f44d",
            [{"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5368324170671202286"}],
        ),
        (EMOJI + "<b>x</b>", EMOJI + "x", [{"type": "bold", "offset": 2, "length": 1}]),  # UTF-16 offsets
        ("<b></b>x", "x", []),  # empty entities are dropped
    ],
)
async def test_html_that_telegram_parses(api, html, text, entities):
    user = await started(api, 12)
    status, body = await send(api, user.id, html, parse_mode="HTML")
    assert status == 200, body
    assert body["result"]["text"] == text
    assert body["result"].get("entities", []) == entities
    assert user.messages()[-1].html == html
    assert api.violations == []


async def test_text_is_cleaned_as_telegram_cleans_it(api):
    user = await started(api, 13)
    status, body = await send(api, user.id, "\n  <b>Clause 1</b>\r\n\tdone \n\n", parse_mode="HTML")
    assert status == 200
    assert body["result"]["text"] == "Clause 1\n done"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 8}]
    # leading spaces before the first entity go; inside it they stay
    status, body = await send(api, user.id, "<b>  x</b>", parse_mode="HTML")
    assert body["result"]["text"] == "  x" and body["result"]["entities"][0]["length"] == 3


async def test_without_parse_mode_markup_is_plain_text(api):
    user = await started(api, 14)
    status, body = await send(api, user.id, "1 < 2 & <b>")
    assert status == 200 and body["result"]["text"] == "1 < 2 & <b>" and "entities" not in body["result"]
    assert user.messages()[-1].html is None


# ---------------------------------------------------------------------- lengths


@pytest.mark.parametrize(
    ("text", "parse_mode"),
    [
        ("x" * 4096, None),
        (EMOJI * 2048, None),  # 4,096 UTF-16 code units
        ("x" * 4094 + EMOJI, None),
        ("<b>" + "x" * 4096 + "</b>", "HTML"),  # tags don't count
        ("x" * 4093 + "&lt;b&gt;", "HTML"),  # an entity counts as the character it stands for
        ("x" * 4094 + "&#128512;", "HTML"),
        ("x" * 4096 + "\n\n   ", None),  # trailing whitespace is trimmed first
        ("x" * 4096 + "\r" * 10, None),  # so is \r
    ],
)
async def test_a_text_of_4096_utf16_units_after_parsing_passes(api, text, parse_mode):
    user = await started(api, 21)
    params = {"parse_mode": parse_mode} if parse_mode else {}
    status, body = await send(api, user.id, text, **params)
    assert status == 200, body


@pytest.mark.parametrize(
    ("text", "parse_mode"),
    [
        ("x" * 4097, None),
        (EMOJI * 2048 + "x", None),
        ("x" * 4095 + EMOJI, None),  # 4,097 code units in 4,096 characters
        ("<b>" + "x" * 4097 + "</b>", "HTML"),
        ("x" * 4094 + "&lt;b&gt;", "HTML"),
        ("x" * 4095 + "&#128512;", "HTML"),
    ],
)
async def test_a_longer_text_is_too_long(api, text, parse_mode):
    user = await started(api, 22)
    params = {"parse_mode": parse_mode} if parse_mode else {}
    status, body = await send(api, user.id, text, **params)
    assert (status, body) == (400, refused("Bad Request: message is too long"))
    assert user.messages() == []


async def test_an_edit_is_held_to_the_same_length(api):
    user = await started(api, 23)
    _, sent = await send(api, user.id, "short")
    message_id = sent["result"]["message_id"]
    status, body = await call(api, "editMessageText", chat_id=user.id, message_id=message_id, text=EMOJI * 2049)
    assert (status, body) == (400, refused("Bad Request: message is too long"))
    status, body = await call(api, "editMessageText", chat_id=user.id, message_id=message_id, text=EMOJI * 2048)
    assert status == 200


@pytest.mark.parametrize("text", ["", "   ", " \n\r\n ", "<b> </b>", "<b></b>"])
async def test_a_text_empty_after_parsing_is_empty(api, text):
    user = await started(api, 24)
    status, body = await send(api, user.id, text, parse_mode="HTML")
    assert (status, body) == (400, refused("Bad Request: message text is empty"))


async def test_captions_hold_1024_utf16_units(api):
    user = await started(api, 25)
    for caption, ok in [("c" * 1024, True), ("c" * 1025, False), (EMOJI * 512, True), (EMOJI * 512 + "c", False)]:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(user.id))
        form.add_field("caption", caption)
        form.add_field("document", b"data", filename="a.txt", content_type="text/plain")
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{api.url}/bot{TOKEN}/sendDocument", data=form) as response,
        ):
            status, body = response.status, await response.json()
        if ok:
            assert status == 200 and body["result"]["caption"] == caption
        else:
            assert (status, body) == (400, refused("Bad Request: message caption is too long"))


# ---------------------------------------------------------------------- callback answers and data


async def press(api: LocalBotApi, user_id: int) -> str:
    user = await started(api, user_id)
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    _, sent = await send(api, user.id, "pick", reply_markup=keyboard)
    return await user.press(sent["result"]["message_id"], "Go")


@pytest.mark.parametrize(
    ("text", "ok"), [("a" * 200, True), ("a" * 201, False), (EMOJI * 100, True), (EMOJI * 101, False)]
)
async def test_a_callback_answer_holds_200_utf16_units(api, text, ok):
    query_id = await press(api, 31)
    status, body = await call(api, "answerCallbackQuery", callback_query_id=query_id, text=text)
    if ok:
        assert (status, body) == (200, {"ok": True, "result": True})
    else:
        assert (status, body) == (400, refused("Bad Request: MESSAGE_TOO_LONG"))


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ("x" * 64, True),
        ("x" * 65, False),
        ("\u00e9" * 32, True),  # 64 bytes in UTF-8
        ("\u00e9" * 33, False),  # 33 characters, 66 bytes
        (EMOJI * 16, True),  # 4 bytes each
        (EMOJI * 16 + "x", False),
        ("x", True),
        ("", False),
    ],
)
async def test_callback_data_holds_1_to_64_bytes(api, data, ok):
    user = await started(api, 32)
    keyboard = {"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}, {"text": "Go", "callback_data": data}]]}
    status, body = await send(api, user.id, "pick", reply_markup=keyboard)
    if ok:
        assert status == 200 and body["result"]["reply_markup"] == keyboard
    else:
        assert (status, body) == (400, refused("Bad Request: BUTTON_DATA_INVALID"))
    # an edit of the keyboard alone is checked the same way
    _, sent = await send(api, user.id, "again")
    status, body = await call(
        api, "editMessageReplyMarkup", chat_id=user.id, message_id=sent["result"]["message_id"], reply_markup=keyboard
    )
    assert status == (200 if ok else 400)


@pytest.mark.parametrize(("text", "ok"), [("x" * 256, True), ("x" * 257, False), ("", False)])
async def test_copy_text_buttons_copy_1_to_256_characters(api, text, ok):
    user = await started(api, 33)
    keyboard = {"inline_keyboard": [[{"text": "📋 Copy", "copy_text": {"text": text}}]]}
    status, body = await send(api, user.id, "copy", reply_markup=keyboard)
    if ok:
        assert status == 200 and user.messages()[-1].copy_texts() == [text]
    else:
        assert (status, body) == (400, refused("Bad Request: BUTTON_COPY_TEXT_INVALID"))


# ---------------------------------------------------------------------- flood control


def too_many(retry_after: int) -> dict:
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


async def test_one_chat_takes_a_burst_of_three_then_one_a_second(api, clock):
    user = await started(api, 41)
    for n in range(3):
        assert (await send(api, user.id, f"burst {n}"))[0] == 200
    assert await send(api, user.id, "fourth") == (429, too_many(1))
    clock.advance(0.5)
    assert await send(api, user.id, "still too soon") == (429, too_many(1))
    clock.advance(0.5)
    assert (await send(api, user.id, "a second later"))[0] == 200
    assert await send(api, user.id, "again at once") == (429, too_many(1))
    clock.advance(3)  # the bucket is full again
    for n in range(3):
        assert (await send(api, user.id, f"second burst {n}"))[0] == 200
    assert (await send(api, user.id, "over"))[0] == 429
    assert [m.text for m in user.messages()][3] == "a second later"
    assert len(user.messages()) == 7  # refused messages don't count
    assert api.stats == {"sent": 7, "rejected_429": 4}


async def test_thirty_messages_a_second_over_all_chats(api, clock):
    users = [await started(api, 100 + n) for n in range(31)]
    for user in users[:30]:
        assert (await send(api, user.id, "hello"))[0] == 200
    assert await send(api, users[30].id, "the 31st in this second") == (429, too_many(1))
    clock.advance(0.999)
    assert (await send(api, users[30].id, "not yet"))[0] == 429
    clock.advance(0.001)  # the first of the thirty is a second old
    assert (await send(api, users[30].id, "now"))[0] == 200
    for user in users[1:30]:
        assert (await send(api, user.id, "a second second"))[0] == 200
    assert await send(api, users[0].id, "the 31st of this second") == (429, too_many(1))


async def test_edits_count_and_callback_answers_actions_and_deletes_do_not(api, clock):
    user = await started(api, 42)
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    _, sent = await send(api, user.id, "one", reply_markup=keyboard)
    message_id = sent["result"]["message_id"]
    assert (await call(api, "editMessageText", chat_id=user.id, message_id=message_id, text="two"))[0] == 200
    assert (await call(api, "editMessageReplyMarkup", chat_id=user.id, message_id=message_id, reply_markup=keyboard))[
        0
    ] == 200
    status, body = await call(api, "editMessageText", chat_id=user.id, message_id=message_id, text="three")
    assert (status, body) == (429, too_many(1))
    for _ in range(5):
        query_id = await user.press(message_id, "Go")
        assert (await call(api, "answerCallbackQuery", callback_query_id=query_id, text="ok"))[0] == 200
        assert (await call(api, "sendChatAction", chat_id=user.id, action="typing"))[0] == 200
    assert (await call(api, "deleteMessage", chat_id=user.id, message_id=message_id))[0] == 200


async def test_a_malformed_message_is_a_400_even_when_it_is_also_too_fast(api):
    user = await started(api, 43)
    for _ in range(3):
        await send(api, user.id, "x")
    assert await send(api, user.id, "<b>", parse_mode="HTML") == (
        400,
        refused("Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""),
    )
    assert (await send(api, user.id, "fine but fast"))[0] == 429


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_python_telegram_bot_sees_retry_after(api):
    user = await started(api, 44)
    async with Bot(TOKEN, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot") as bot:
        for _ in range(3):
            await bot.send_message(user.id, "x")
        with pytest.raises(RetryAfter) as excinfo:
            await bot.send_message(user.id, "y")
    assert "Retry in 1 seconds" in str(excinfo.value)


async def test_a_limit_can_be_switched_off():
    clock = Clock()
    async with LocalBotApi(strict=True, per_chat_per_second=None, overall_per_second=None, clock=clock) as api:
        user = await started(api, 45)
        for n in range(50):
            assert (await send(api, user.id, f"{n}"))[0] == 200
        assert (await send(api, user.id, "x" * 4097))[0] == 400  # the other limits still hold


# ---------------------------------------------------------------------- without strict mode


async def test_without_strict_mode_everything_goes_through_and_is_noted(clock):
    async with LocalBotApi(clock=clock, per_chat_burst=3) as api:
        assert not api.strict
        user = await started(api, 51)
        keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "x" * 65}]]}
        assert (await send(api, user.id, "Q&A <b>fine</b>", parse_mode="HTML"))[0] == 200
        assert (await send(api, user.id, "1 < 2", parse_mode="HTML"))[0] == 200
        assert (await send(api, user.id, "x" * 4097))[0] == 200
        assert (await send(api, user.id, "keys", reply_markup=keyboard))[0] == 200
        query_id = await user.press(user.messages()[-1], "Go")
        assert (await call(api, "answerCallbackQuery", callback_query_id=query_id, text="a" * 201))[0] == 200
        assert [m.text for m in user.messages()][:2] == ["Q&A fine", "1 < 2"]  # Telegram's reading, else as sent
        assert user.messages()[0].entities == [{"type": "bold", "offset": 4, "length": 4}]
        assert (await send(api, user.id, "the fifth at once"))[0] == 200
        assert [(c.method, c.violation) for c in api.violations] == [
            ("sendMessage", f"Bad Request: can't parse entities: {BARE_AMPERSAND}"),
            ("sendMessage", 'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2'),
            ("sendMessage", "Bad Request: message is too long"),
            ("sendMessage", "Bad Request: BUTTON_DATA_INVALID"),  # the first breach of a call is noted
            ("answerCallbackQuery", "Bad Request: MESSAGE_TOO_LONG"),
            ("sendMessage", "Too Many Requests: retry after 1"),
        ]
        assert api.stats["rejected_429"] == 0
        # what is not one of Telegram's limits is refused either way
        assert await send(api, user.id, "<b> </b>", parse_mode="HTML") == (
            400,
            refused("Bad Request: message text is empty"),
        )

        api.strict = True  # switched at any time
        assert (await send(api, user.id, "1 < 2", parse_mode="HTML"))[0] == 400


async def test_rate_limit_is_the_former_name_of_strict():
    assert LocalBotApi(rate_limit=True).strict
    assert not LocalBotApi().strict
