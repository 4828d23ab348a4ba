"""Parsing of formatted message text the way the Bot API does it.

``parse_text`` turns ``(text, parse_mode)`` into the plain text plus the list of
``MessageEntity`` dicts that Telegram would store for the message.  The parsers
follow the rules (and the error messages) of Telegram's server implementation
closely, with one intentional difference: in HTML mode a bare ``&`` that does not
start a known entity is rejected instead of being kept literally.  Accepting it is
almost always an escaping bug in the bot that breaks as soon as the text happens to
contain ``<``, so the local server surfaces it early.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["EntityParseError", "ParsedText", "parse_text", "utf16_len"]


class EntityParseError(ValueError):
    """The formatted text is malformed; ``str(exc)`` is Telegram's error detail."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None, entities: list[dict] | None = None) -> ParsedText:
    """Parse ``text`` according to ``parse_mode``.

    Explicit ``entities`` are used as given when no parse mode is set (Telegram
    ignores them when a parse mode is given).
    """
    mode = (parse_mode or "").strip()
    if not mode:
        return ParsedText(text, list(entities or []))
    lowered = mode.lower()
    if lowered == "html":
        return parse_html(text)
    if lowered == "markdownv2":
        return parse_markdown_v2(text)
    if lowered == "markdown":
        return parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


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


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode the entity starting at ``text[i] == '&'``; return (char, next index)."""
    end = text.find(";", i + 1, i + 12)
    if end == -1:
        return None
    name = text[i + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    if name.startswith("#"):
        digits = name[1:]
        try:
            if digits[:1] in ("x", "X"):
                code = int(digits[1:], 16) if re.fullmatch(r"[0-9a-fA-F]+", digits[1:]) else -1
            else:
                code = int(digits) if digits.isdigit() else -1
        except ValueError:
            return None
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return None


def parse_html(text: str) -> ParsedText:
    out = _Builder()
    entities: list[dict] = []
    # stack entries: [tag_name, argument, start_offset, extra]
    stack: list[list] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is None:
                raise EntityParseError(
                    f"Unsupported HTML entity at byte offset {_byte_offset(text, i)}; "
                    "a literal '&' must be written as &amp;"
                )
            out.add(decoded[0])
            i = decoded[1]
            continue
        if c == ">":
            # Telegram accepts a bare '>' in text.
            out.add(c)
            i += 1
            continue
        if c != "<":
            j = i + 1
            while j < n and text[j] not in "<&>":
                j += 1
            out.add(text[i:j])
            i = j
            continue

        begin = i
        if i + 1 < n and text[i + 1] == "/":
            # end tag
            end = text.find(">", i + 2)
            if end == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            top = stack[-1]
            if name != top[0]:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{top[0]}>", found "</{name}>"'
                )
            stack.pop()
            _close_html_entity(top, out.pos, entities, stack)
            i = end + 1
            continue

        # start tag
        i += 1
        while i < n and not text[i].isspace() and text[i] not in ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        argument = ""
        expandable = False
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] == ">":
                i += 1
                break
            attr_begin = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr = text[attr_begin:i].lower()
            if not attr:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    expandable = True
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value_parts: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_html_entity(text, i)
                        if decoded is not None:
                            value_parts.append(decoded[0])
                            i = decoded[1]
                            continue
                    value_parts.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                i += 1
                value = "".join(value_parts)
            else:
                token_begin = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value = text[token_begin:i].lower()
                if i < n and not text[i].isspace() and text[i] != ">":
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                    )
            if tag == "a" and attr == "href":
                argument = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attr == "emoji-id":
                argument = value
            elif tag == "blockquote" and attr == "expandable":
                expandable = True
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        if tag == "tg-emoji" and not argument.isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have a valid "emoji-id" attribute '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        stack.append([tag, argument, out.pos, {"expandable": expandable}])

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(out.text(), entities)


def _close_html_entity(entry: list, end: int, entities: list[dict], stack: list[list]) -> None:
    tag, argument, start, extra = entry
    length = end - start
    kind = _HTML_TAGS[tag]
    if tag == "code" and argument and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
        # <pre><code class="language-x">...</code></pre>: the language belongs to the pre.
        stack[-1][3]["language"] = argument
        return
    if length <= 0:
        return
    entity: dict = {"type": kind, "offset": start, "length": length}
    if kind == "text_link":
        if not argument:
            # Telegram silently drops links without a usable URL.
            return
        entity["url"] = argument
    elif kind == "pre":
        language = extra.get("language")
        if language:
            entity["language"] = language
    elif kind == "blockquote" and extra.get("expandable"):
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = argument
    entities.append(entity)


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
                            "Custom emoji entity must contain a tg://emoji URL "
                            f"at byte offset {top['byte_offset']}"
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
                stack.append(
                    {"type": "pre", "offset": out.pos, "byte_offset": byte_offset, "language": language}
                )
            else:
                stack.append({"type": "code", "offset": out.pos, "byte_offset": byte_offset})
                i += 1
        else:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")

    if stack:
        unclosed = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[unclosed['type']]} entity "
            f"at byte offset {unclosed['byte_offset']}"
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
            entity = {"type": "pre", "offset": start, "length": out.pos - start}
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
