"""Formatted message text the way the Bot API reads it.

``parse_text(text, parse_mode)`` gives what Telegram stores for a message: the plain text
and its ``MessageEntity`` dicts.  The markup is parsed first (HTML, MarkdownV2 or the
legacy Markdown); then the text is cleaned as Telegram's server cleans every message text
(:func:`clean_text`): control characters other than a newline become spaces; ``\\r``, the
line and paragraph separators (U+2028, U+2029), the bidirectional embedding controls
(U+202A to U+202E) and three combining marks (U+030A, U+0333, U+033F) are dropped; spaces
and newlines are trimmed at the end, and at the start up to the first entity.  Entities
move with the text.  Offsets and lengths are in UTF-16 code units, as in the Bot API, so a
character outside the Basic Multilingual Plane (most emoji) counts as 2.

The HTML parser follows Telegram's own (``parse_html`` in TDLib, which the Bot API server
runs) rule for rule, with its error messages:

* the tags are ``b``/``strong``, ``i``/``em``, ``u``/``ins``, ``s``/``strike``/``del``,
  ``span class="tg-spoiler"``/``tg-spoiler``, ``a href``, ``code``, ``pre``,
  ``blockquote`` (``expandable``) and ``tg-emoji emoji-id``; any other start tag, a ``<``
  followed by a space included, is ``Unsupported start tag "x" at byte offset N``;
* every tag is closed in order (``Unmatched end tag ...``, ``Unexpected end tag ...``,
  ``Can't find end tag corresponding to start tag "b"``); ``</>`` closes the innermost;
* the named entities are ``&lt;``, ``&gt;``, ``&amp;`` and ``&quot;``; numeric ones
  (``&#8212;``, ``&#x2014;``) are all supported; byte offsets count UTF-8 bytes of the
  text as sent.

One rule is stricter than Telegram's server, and only when asked (``strict_ampersand``,
which the local server's strict mode sets): the Bot API documentation says that every
``&`` that does not begin an entity must be written ``&amp;``, but Telegram's server keeps
such an ``&`` as it is.  A bare ``&`` in a bot's HTML is nearly always text that was not
escaped, which breaks as soon as the same text holds a ``<``; strict mode refuses it with
``Unsupported HTML entity at byte offset N; a literal '&' must be written as &amp;``, a
description Telegram itself never gives.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "ParsedText", "clean_text", "parse_text", "utf16_len"]


class EntityParseError(ValueError):
    """The formatted text is malformed; ``str(exc)`` is Telegram's error detail."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_text(
    text: str,
    parse_mode: str | None,
    entities: list[dict] | None = None,
    *,
    strict_ampersand: bool = False,
) -> ParsedText:
    """Parse ``text`` according to ``parse_mode`` and clean it as Telegram does.

    Explicit ``entities`` are used as given when no parse mode is set (Telegram
    ignores them when a parse mode is given).  The result's text may be empty (a
    message of spaces, or of empty tags); the caller decides what that means.
    """
    mode = (parse_mode or "").strip()
    lowered = mode.lower()
    if not mode:
        parsed = ParsedText(text, [dict(e) for e in entities or [] if isinstance(e, dict)])
    elif lowered == "html":
        parsed = parse_html(text, strict_ampersand=strict_ampersand)
    elif lowered == "markdownv2":
        parsed = parse_markdown_v2(text)
    elif lowered == "markdown":
        parsed = parse_markdown(text)
    else:
        raise ValueError(f"unsupported parse_mode {parse_mode!r}")
    return clean_text(parsed.text, parsed.entities)


# ---------------------------------------------------------------------------
# Cleaning, as Telegram's server does to every text
# ---------------------------------------------------------------------------

# U+2028..U+202E (separators, bidirectional embeddings) and three combining marks.
_DROPPED = frozenset([*range(0x2028, 0x202F), 0x0333, 0x033F, 0x030A])


def _entity_bounds(entity: dict) -> tuple[int, int]:
    try:
        offset = int(entity.get("offset", 0))
        length = int(entity.get("length", 0))
    except (TypeError, ValueError):
        return 0, 0
    return offset, offset + length


def clean_text(text: str, entities: list[dict] | None = None) -> ParsedText:
    """The text and entities as Telegram stores them (see the module docstring)."""
    entities = [e for e in entities or [] if _entity_bounds(e)[1] > _entity_bounds(e)[0]]
    chars: list[str] = []
    new_at: list[int] = []  # UTF-16 offset in the old text -> offset in the new one
    new = 0
    for ch in text:
        code = ord(ch)
        width = 2 if code > 0xFFFF else 1
        new_at.extend([new] * width)
        if code < 32 and code != 10:
            if code != 13:
                chars.append(" ")
                new += 1
        elif code not in _DROPPED:
            chars.append(ch)
            new += width
    new_at.append(new)
    cleaned = "".join(chars)

    moved: list[dict] = []
    for entity in entities:
        start, end = _entity_bounds(entity)
        start = new_at[min(max(start, 0), len(new_at) - 1)]
        end = new_at[min(max(end, 0), len(new_at) - 1)]
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})

    kept = cleaned.rstrip(" \n")
    if not kept:
        return ParsedText("", [])
    limit = utf16_len(kept)
    trimmed: list[dict] = []
    for entity in moved:
        if entity["offset"] >= limit:
            continue
        end = min(entity["offset"] + entity["length"], limit)
        trimmed.append({**entity, "length": end - entity["offset"]})
    first_entity = min((e["offset"] for e in trimmed), default=limit)
    lead = 0  # leading spaces and newlines are one UTF-16 unit each
    while lead < first_entity and kept[lead] in " \n":
        lead += 1
    if lead:
        kept = kept[lead:]
        trimmed = [{**e, "offset": e["offset"] - lead} for e in trimmed]
    return ParsedText(kept, trimmed)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": ord("<"), "gt": ord(">"), "amp": ord("&"), "quot": ord('"')}
_SPACES = frozenset(" \t\r\n\v\0")
_LETTERS = frozenset(string.ascii_letters)
_DIGITS = frozenset(string.digits)
_HEX_DIGITS = frozenset(string.hexdigits)
_NAME_TOKEN = frozenset(string.ascii_letters + string.digits + ".-")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_INT64 = 2**63


class _Builder:
    """Accumulates plain text while tracking its UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 offset of the end of the text so far

    def add(self, chunk: str) -> None:
        if chunk:
            self.parts.append(chunk)
            self.pos += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _OpenTag:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the plain text where the tag's content begins
    part: int  # index into the builder's parts where the content begins


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_html_entity(text: str, i: int) -> tuple[int, int] | None:
    """The code point of the entity at ``text[i] == '&'`` and the index after it, or None
    when Telegram keeps the ``&`` as it is (TDLib's ``decode_html_entity``)."""
    n = len(text)
    j = i + 1
    if j < n and text[j] == "#":
        j += 1
        code = 0
        if j < n and text[j] == "x":
            j += 1
            while j < n and text[j] in _HEX_DIGITS:
                code = code * 16 + int(text[j], 16)
                j += 1
        else:
            while j < n and text[j] in _DIGITS:
                code = code * 10 + ord(text[j]) - 48
                j += 1
        if code == 0 or code >= 0x10FFFF or j - i >= 10:
            return None
    else:
        while j < n and text[j] in _LETTERS:
            j += 1
        named = _NAMED_ENTITIES.get(text[i + 1 : j])
        if named is None:
            return None
        code = named
    if j < n and text[j] == ";":
        j += 1
    return code, j


def parse_html(text: str, *, strict_ampersand: bool = False) -> ParsedText:
    """Parse Telegram's HTML (see the module docstring); raises :class:`EntityParseError`."""
    out = _Builder()
    entities: list[dict] = []
    stack: list[_OpenTag] = []
    surrogates = False
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                code, i = decoded
                surrogates = surrogates or 0xD800 <= code <= 0xDFFF
                out.add(chr(code))
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f"Unsupported HTML entity at byte offset {_byte_offset(text, i)}; "
                    "a literal '&' must be written as &amp;"
                )
        if c != "<":
            j = i + 1
            while j < n and text[j] != "<" and text[j] != "&":
                j += 1
            out.add(text[i:j])
            i = j
            continue

        begin = i
        i += 1
        if i >= n or text[i] != "/":
            i = _start_tag(text, begin, out, stack)
            continue

        # an end tag
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while i < n and text[i] not in _SPACES and text[i] != ">":
            i += 1
        end_name = text[begin + 2 : i].translate(_ASCII_LOWER)
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        top = stack[-1]
        if end_name and end_name != top.tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{top.tag}>", found "</{end_name}>"'
            )
        if out.pos > top.offset:
            _close_tag(top, out, entities)
        stack.pop()
        i += 1

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    if surrogates:
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(out.text(), entities)


def _start_tag(text: str, begin: int, out: _Builder, stack: list[_OpenTag]) -> int:
    """Read the start tag at ``text[begin] == '<'``, push it, and return the index after it."""
    n = len(text)
    i = begin + 1
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    tag = text[begin + 1 : i].translate(_ASCII_LOWER)
    if tag not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')

    def unclosed(named: bool) -> EntityParseError:
        name = f' "{tag}"' if named else ""
        return EntityParseError(f"Unclosed start tag{name} at byte offset {_byte_offset(text, begin)}")

    argument = ""
    while text[i] != ">":  # i < n holds at every turn
        while i < n and text[i] in _SPACES:
            i += 1
        if i < n and text[i] == ">":
            break
        attribute_begin = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>/\"'":
            i += 1
        attribute = text[attribute_begin:i]
        if not attribute:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise unclosed(True)
        if text[i] != "=":
            # an attribute without a value: only blockquote's "expandable" means anything
            if tag == "blockquote" and attribute == "expandable":
                argument = "1"
            continue
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise unclosed(True)
        if text[i] not in "'\"":
            token_begin = i
            while i < n and text[i] in _NAME_TOKEN:
                i += 1
            value = text[token_begin:i].translate(_ASCII_LOWER)
            if i < n and text[i] not in _SPACES and text[i] != ">":
                raise EntityParseError(f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}")
        else:
            quote = text[i]
            i += 1
            value_parts: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_html_entity(text, i)
                    if decoded is not None:
                        value_parts.append(chr(decoded[0]))
                        i = decoded[1]
                        continue
                value_parts.append(text[i])
                i += 1
            if i < n:
                i += 1  # the closing quote
            value = "".join(value_parts)
        if i >= n:
            raise unclosed(False)
        if tag == "a" and attribute == "href":
            argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and attribute == "emoji-id":
            argument = value
        elif tag == "blockquote" and attribute == "expandable":
            argument = "1"
    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
    stack.append(_OpenTag(tag, argument, out.pos, len(out.parts)))
    return i + 1


def _close_tag(top: _OpenTag, out: _Builder, entities: list[dict]) -> None:
    """Add the entity of a closed, non-empty tag (TDLib's rules, including pre/code merging)."""
    offset, length = top.offset, out.pos - top.offset
    tag, argument = top.tag, top.argument
    last = entities[-1] if entities else None
    same_range = last is not None and last["offset"] == offset and last["length"] == length
    entity: dict
    if tag in _SIMPLE_TAGS:
        entity = {"type": _SIMPLE_TAGS[tag], "offset": offset, "length": length}
    elif tag == "tg-emoji":
        if not re.fullmatch(r"-?\d+", argument) or not 0 < abs(int(argument)) < _INT64:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entity = {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": argument}
    elif tag == "a":
        url = argument or "".join(out.parts[top.part :])
        user = re.fullmatch(r"tg://user\?id=(\d{1,18})", url.strip())
        if user:
            mentioned = {"id": int(user.group(1)), "is_bot": False, "first_name": ""}
            entity = {"type": "text_mention", "offset": offset, "length": length, "user": mentioned}
        else:
            checked = _checked_link(url)
            if not checked:
                return  # Telegram drops a link it can't use
            entity = {"type": "text_link", "offset": offset, "length": length, "url": checked}
    elif tag == "pre":
        if last is not None and same_range and last["type"] == "code" and last.get("_language"):
            last["type"] = "pre"
            last["language"] = last.pop("_language")
            return
        entity = {"type": "pre", "offset": offset, "length": length}
    elif tag == "code":
        if last is not None and same_range and last["type"] == "pre" and argument:
            last["language"] = argument
            return
        entity = {"type": "code", "offset": offset, "length": length}
        if argument:
            entity["_language"] = argument
    else:  # blockquote
        kind = "expandable_blockquote" if argument else "blockquote"
        entity = {"type": kind, "offset": offset, "length": length}
    entities.append(entity)


def _checked_link(url: str) -> str:
    """The link Telegram keeps for ``<a href>``, or "" when it drops it (an approximation
    of TDLib's ``LinkManager::get_checked_link``: http, https, tg and ton links, and bare
    domains, which get ``http://``)."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return ""
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?", url)
    if match and (match.group(2) or match.group(1).lower() in ("tg", "ton")):
        scheme = match.group(1).lower()
        if scheme in ("tg", "ton"):
            return url
        if scheme not in ("http", "https"):
            return ""
        rest = url[match.end() :]
    else:
        rest = url
        url = "http://" + url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not host or not re.fullmatch(r"[\w.-]+|\[[0-9A-Fa-f:.]+\]", host):
        return ""
    return url


# ---------------------------------------------------------------------------
# MarkdownV2
# ---------------------------------------------------------------------------

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def parse_markdown_v2(text: str) -> ParsedText:
    out = _Builder()
    entities: list[dict] = []
    # stack entries: dict(type, offset, byte_offset, extra...)
    stack: list[dict] = []
    quote: dict | None = None  # currently open blockquote
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and quote is not None and c != ">":
            # the previous line ended the quote; the newline before belongs to it
            _finish_quote(quote, out.pos - 1, entities)
            quote = None
        in_code = bool(stack) and stack[-1]["type"] in ("code", "pre")
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if in_code:
            reserved = c == "`"
        else:
            reserved = c in _MDV2_RESERVED
        if not reserved:
            out.add(c)
            i += 1
            continue

        if at_line_start and c == ">" and not stack:
            if quote is None:
                quote = {"offset": out.pos, "expandable": False}
            i += 1
            continue

        top = stack[-1] if stack else None
        closes = False
        if top is not None:
            t = top["type"]
            if t == "bold":
                closes = c == "*"
            elif t == "italic":
                closes = c == "_" and text[i + 1 : i + 2] != "_"
            elif t == "underline":
                closes = c == "_" and text[i + 1 : i + 2] == "_"
            elif t == "strikethrough":
                closes = c == "~"
            elif t == "spoiler":
                closes = c == "|" and text[i + 1 : i + 2] == "|"
            elif t == "code":
                closes = c == "`"
            elif t == "pre":
                closes = text[i : i + 3] == "```"
            elif t in ("text_link", "custom_emoji"):
                closes = c == "]"

        if closes:
            assert top is not None
            stack.pop()
            start = top["offset"]
            t = top["type"]
            entity: dict = {"type": t, "offset": start, "length": out.pos - start}
            if t in ("underline", "spoiler"):
                i += 2
            elif t == "pre":
                i += 3
                if top.get("language"):
                    entity["language"] = top["language"]
            elif t in ("text_link", "custom_emoji"):
                i += 1
                url = ""
                if i < n and text[i] == "(":
                    i += 1
                    url_parts: list[str] = []
                    while i < n and text[i] != ")":
                        if text[i] == "\\" and i + 1 < n and text[i + 1] in ")\\":
                            url_parts.append(text[i + 1])
                            i += 2
                            continue
                        url_parts.append(text[i])
                        i += 1
                    if i >= n:
                        raise EntityParseError(f"Can't find end of a url at byte offset {top['byte_offset']}")
                    i += 1
                    url = "".join(url_parts)
                if t == "custom_emoji":
                    match = re.match(r"^tg://emoji\?id=(\d+)$", url)
                    if not match:
                        raise EntityParseError(
                            f"Custom emoji entity must contain a tg://emoji URL at byte offset {top['byte_offset']}"
                        )
                    entity["custom_emoji_id"] = match.group(1)
                else:
                    if not url:
                        # "[text]" without a URL is kept as plain text
                        entity = {}
                    else:
                        entity["url"] = url
            else:
                i += 1
            if entity and entity["length"] > 0:
                entities.append(entity)
            continue

        # opening
        byte_offset = _byte_offset(text, i)
        if c == "_":
            if text[i + 1 : i + 2] == "_":
                stack.append({"type": "underline", "offset": out.pos, "byte_offset": byte_offset})
                i += 2
            else:
                stack.append({"type": "italic", "offset": out.pos, "byte_offset": byte_offset})
                i += 1
        elif c == "*":
            if at_line_start and text[i : i + 3] == "**>" and not stack:
                quote = {"offset": out.pos, "expandable": True}
                i += 3
                continue
            stack.append({"type": "bold", "offset": out.pos, "byte_offset": byte_offset})
            i += 1
        elif c == "~":
            stack.append({"type": "strikethrough", "offset": out.pos, "byte_offset": byte_offset})
            i += 1
        elif c == "|" and text[i + 1 : i + 2] == "|":
            if quote is not None and quote["expandable"] and (i + 2 == n or text[i + 2] == "\n"):
                # "||" at the end of an expandable block quotation
                i += 2
                continue
            stack.append({"type": "spoiler", "offset": out.pos, "byte_offset": byte_offset})
            i += 2
        elif c == "[":
            stack.append({"type": "text_link", "offset": out.pos, "byte_offset": byte_offset})
            i += 1
        elif c == "!" and text[i + 1 : i + 2] == "[":
            stack.append({"type": "custom_emoji", "offset": out.pos, "byte_offset": byte_offset})
            i += 2
        elif c == "`":
            if text[i : i + 3] == "```":
                i += 3
                line_end = i
                while line_end < n and not text[line_end].isspace() and text[line_end] != "`":
                    line_end += 1
                language = ""
                if line_end < n and text[line_end] == "\n":
                    language = text[i:line_end]
                    i = line_end + 1
                stack.append({"type": "pre", "offset": out.pos, "byte_offset": byte_offset, "language": language})
            else:
                stack.append({"type": "code", "offset": out.pos, "byte_offset": byte_offset})
                i += 1
        else:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")

    if stack:
        unclosed = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[unclosed['type']]} entity at byte offset {unclosed['byte_offset']}"
        )
    if quote is not None:
        _finish_quote(quote, out.pos, entities)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(out.text(), entities)


_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _finish_quote(quote: dict, end: int, entities: list[dict]) -> None:
    length = end - quote["offset"]
    if length > 0:
        entities.append(
            {
                "type": "expandable_blockquote" if quote["expandable"] else "blockquote",
                "offset": quote["offset"],
                "length": length,
            }
        )


# ---------------------------------------------------------------------------
# Legacy Markdown
# ---------------------------------------------------------------------------


def parse_markdown(text: str) -> ParsedText:
    out = _Builder()
    entities: list[dict] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        start = out.pos
        if c == "`" and text[i : i + 3] == "```":
            i += 3
            language = ""
            line_end = i
            while line_end < n and not text[line_end].isspace() and text[line_end] != "`":
                line_end += 1
            if line_end < n and text[line_end] == "\n":
                language = text[i:line_end]
                i = line_end + 1
            end = text.find("```", i)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            out.add(text[i:end])
            entity: dict[str, Any] = {"type": "pre", "offset": start, "length": out.pos - start}
            if language:
                entity["language"] = language
            i = end + 3
        elif c == "[":
            end = text.find("]", i + 1)
            if end == -1 or text[end + 1 : end + 2] != "(":
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            url_end = text.find(")", end + 2)
            if url_end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            out.add(text[i + 1 : end])
            entity = {
                "type": "text_link",
                "offset": start,
                "length": out.pos - start,
                "url": text[end + 2 : url_end],
            }
            i = url_end + 1
        else:
            end = text.find(c, i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            out.add(text[i + 1 : end])
            entity = {
                "type": {"_": "italic", "*": "bold", "`": "code"}[c],
                "offset": start,
                "length": out.pos - start,
            }
            i = end + 1
        if entity["length"] > 0:
            entities.append(entity)
    return ParsedText(out.text(), entities)
