"""Chats and messages: sending text, documents and photos, editing, deleting, keyboards."""

from __future__ import annotations

import mimetypes
import time
from typing import Any

from localapi.files import FilesMixin, Upload, image_size
from localapi.formatting import EntityParseError, clean_text, parse_text
from localapi.limits import (
    BUTTON_COPY_TEXT_INVALID,
    BUTTON_DATA_INVALID,
    CAPTION_TOO_LONG,
    MAX_CAPTION_LENGTH,
    MAX_INLINE_BUTTONS,
    MAX_TEXT_LENGTH,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    callback_data_valid,
    copy_text_valid,
    too_long,
)
from localapi.protocol import api, bad
from localapi.users import SimUser, _Record, _without_reply

__all__ = ["CHAT_ACTIONS", "MessagesMixin"]

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Inline button kinds other than callback_data/url that need no validation here.
_OTHER_BUTTON_KINDS = (
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "login_url",
)

_TEXT_BUTTONS = "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class MessagesMixin(FilesMixin):
    # ------------------------------------------------------------------ chats

    @api("getChat")
    async def _get_chat(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=False)
        return {
            **user.chat_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    @api("sendChatAction")
    async def _send_chat_action(self, params: dict, files: dict) -> bool:
        user = self._chat(params.get("chat_id"), writing=True)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        user.chat_actions.append(action)
        return True

    # ------------------------------------------------------------------ sending

    @api("sendMessage", sends=True)
    async def _send_message(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=True)
        plain, entities, html = self._message_text(params)
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._bot_message(user, params, content, html=html)

    @api("sendDocument", sends=True)
    async def _send_document(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=True)
        given = self._input_file(params, files, "document")
        caption, html = self._caption(params)
        if isinstance(given, Upload):
            mime = given.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(given.file_name)[0] or mime or "application/octet-stream"
            stored = self._store_file(given.data, file_name=given.file_name, mime_type=mime, kind="document")
        else:
            stored = given
            if stored.kind != "document":
                raise bad(f"can't use file of type {stored.kind.capitalize()} as Document")
        content: dict[str, Any] = {"document": stored.document_dict()}
        content.update(caption)
        return self._bot_message(user, params, content, html=html, file_bytes=stored.data)

    @api("sendPhoto", sends=True)
    async def _send_photo(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=True)
        given = self._input_file(params, files, "photo")
        caption, html = self._caption(params)
        if isinstance(given, Upload):
            size = image_size(given.data)
            if size is None:
                raise bad("IMAGE_PROCESS_FAILED")
            mime = "image/png" if given.data.startswith(b"\x89PNG") else "image/jpeg"
            stored = self._store_file(
                given.data, file_name=None, mime_type=mime, kind="photo", width=size[0], height=size[1]
            )
        else:
            stored = given
            if stored.kind != "photo":
                raise bad(f"can't use file of type {stored.kind.capitalize()} as Photo")
        content: dict[str, Any] = {"photo": stored.photo_sizes()}
        content.update(caption)
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_message(user, params, content, html=html, file_bytes=stored.data)

    # ------------------------------------------------------------------ editing and deleting

    @api("editMessageText", sends=True)
    async def _edit_message_text(self, params: dict, files: dict) -> dict:
        user, record = self._editable(params)
        if "text" not in record.data:
            raise bad("there is no text in the message to edit")
        plain, entities, html = self._message_text(params)
        markup = self._inline_markup(params)
        old = record.data
        if plain == old["text"] and entities == old.get("entities", []) and markup == old.get("reply_markup"):
            raise bad(_NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        data["text"] = plain
        if entities:
            data["entities"] = entities
        return self._finish_edit(user, record, data, markup, html)

    @api("editMessageCaption", sends=True)
    async def _edit_message_caption(self, params: dict, files: dict) -> dict:
        user, record = self._editable(params)
        if "text" in record.data:
            raise bad("there is no caption in the message to edit")
        caption, html = self._caption(params)
        markup = self._inline_markup(params)
        old = record.data
        if (
            caption.get("caption") == old.get("caption")
            and caption.get("caption_entities", []) == old.get("caption_entities", [])
            and markup == old.get("reply_markup")
        ):
            raise bad(_NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("caption", "caption_entities", "reply_markup")}
        data.update(caption)
        return self._finish_edit(user, record, data, markup, html)

    @api("editMessageReplyMarkup", sends=True)
    async def _edit_message_reply_markup(self, params: dict, files: dict) -> dict:
        user, record = self._editable(params)
        markup = self._inline_markup(params)
        if markup == record.data.get("reply_markup"):
            raise bad(_NOT_MODIFIED)
        data = {k: v for k, v in record.data.items() if k != "reply_markup"}
        return self._finish_edit(user, record, data, markup, record.html)

    @api("deleteMessage")
    async def _delete_message(self, params: dict, files: dict) -> bool:
        user = self._chat(params.get("chat_id"), writing=False)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad("message to delete not found")
        record = user._records.get(message_id)
        if record is None or record.deleted:
            raise bad("message to delete not found")
        user._delete(message_id)
        return True

    # ------------------------------------------------------------------ text, captions, keyboards

    def _format(
        self, text: str, parse_mode: Any, entities: Any, *, limit: int, too_long_description: str
    ) -> tuple[str, list[dict], str | None]:
        """Plain text, entities and the HTML as sent (None without HTML) of a text or caption."""
        if entities is not None and not isinstance(entities, list):
            raise bad("can't parse entities JSON object")
        mode = parse_mode if isinstance(parse_mode, str) else None
        try:
            parsed = parse_text(text, mode, entities, strict_ampersand=True)
        except EntityParseError as exc:
            self._breach(bad(f"can't parse entities: {exc}"))
            try:  # let through: as Telegram's own parser reads it, else as it was sent
                parsed = parse_text(text, mode, entities)
            except EntityParseError:
                parsed = clean_text(text)
        except ValueError:
            raise bad("unsupported parse_mode") from None
        if too_long(parsed.text, limit):
            self._breach(bad(too_long_description))
        html = text if mode is not None and mode.strip().lower() == "html" else None
        return parsed.text, parsed.entities, html

    def _message_text(self, params: dict) -> tuple[str, list[dict], str | None]:
        text = params.get("text")
        if text is None or text == "":
            raise bad(TEXT_EMPTY)
        plain, entities, html = self._format(
            str(text),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_TEXT_LENGTH,
            too_long_description=TEXT_TOO_LONG,
        )
        if not plain:
            raise bad(TEXT_EMPTY)
        return plain, entities, html

    def _caption(self, params: dict) -> tuple[dict, str | None]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return {}, None
        plain, entities, html = self._format(
            str(caption),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            too_long_description=CAPTION_TOO_LONG,
        )
        content: dict[str, Any] = {}
        if plain:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return content, html

    def _check_markup(self, markup: Any) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            buttons = [button for row in rows for button in row]
            if len(buttons) > MAX_INLINE_BUTTONS:
                raise bad("too many buttons")
            for button in buttons:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad(_TEXT_BUTTONS)
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str):
                        raise bad(BUTTON_DATA_INVALID)
                    if not callback_data_valid(data):
                        self._breach(bad(BUTTON_DATA_INVALID))
                elif "copy_text" in button:
                    if not copy_text_valid(button["copy_text"]):
                        self._breach(bad(BUTTON_COPY_TEXT_INVALID))
                elif "url" in button:
                    url = str(button["url"])
                    scheme, _, rest = url.partition(":")
                    if scheme.lower() not in ("http", "https", "tg") or not rest.strip("/"):
                        raise bad("BUTTON_URL_INVALID")
                elif not any(kind in button for kind in _OTHER_BUTTON_KINDS):
                    raise bad(_TEXT_BUTTONS)
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise bad("can't parse reply keyboard markup JSON object")

    def _inline_markup(self, params: dict) -> dict | None:
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad("inline keyboard expected")
        return markup

    # ------------------------------------------------------------------ delivering

    @staticmethod
    def _reply_target(user: SimUser, params: dict) -> int | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply", False))
        message_id: Any = None
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        elif reply is not None:
            raise bad("can't parse reply parameters JSON object")
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        try:
            message_id = int(message_id)
        except (TypeError, ValueError):
            raise bad("message to be replied not found") from None
        record = user._records.get(message_id)
        if record is None or record.deleted:
            if allow_missing:
                return None
            raise bad("message to be replied not found")
        return message_id

    def _bot_message(
        self,
        user: SimUser,
        params: dict,
        content: dict,
        *,
        html: str | None = None,
        file_bytes: bytes | None = None,
    ) -> dict:
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(user, params)
        self._count_message(user.chat_id)
        data: dict[str, Any] = {
            "message_id": user._next_message_id(),
            "from": self._bot_user(),
            "chat": user.chat_dict(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            data["reply_to_message"] = _without_reply(user._records[reply_to].data)
        data.update(content)
        if markup is not None:
            if "inline_keyboard" in markup:
                data["reply_markup"] = markup
            elif "keyboard" in markup:
                user.keyboard = markup
            elif markup.get("remove_keyboard"):
                user.keyboard = None
        if params.get("protect_content"):
            data["has_protected_content"] = True
        user._add_bot_message(_Record(data, from_bot=True, html=html, file_bytes=file_bytes))
        return data

    def _editable(self, params: dict) -> tuple[SimUser, _Record]:
        if params.get("inline_message_id"):
            raise bad("inline messages are not supported by the local Bot API server")
        user = self._chat(params.get("chat_id"), writing=True)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        record = user._records.get(message_id) if isinstance(message_id, int) else None
        if record is None or record.deleted:
            raise bad("message to edit not found")
        if not record.from_bot:
            raise bad("message can't be edited")
        return user, record

    def _finish_edit(self, user: SimUser, record: _Record, data: dict, markup: dict | None, html: str | None) -> dict:
        self._count_message(user.chat_id)
        if markup is not None:
            data["reply_markup"] = markup
        data["edit_date"] = max(int(time.time()), data["date"])
        user._replace(data["message_id"], data, html=html)
        return data
