"""The bot itself: ``getMe``, its command menus, menu button, name and descriptions."""

from __future__ import annotations

import re

from localapi.core import ServerCore
from localapi.protocol import api, bad

__all__ = ["ProfileMixin"]


class ProfileMixin(ServerCore):
    #: last setMyCommands per scope key ("default", "all_private_chats", "chat:<id>",
    #: with "/<language_code>" appended for language-specific lists)
    commands: dict[str, list[dict]]
    #: setChatMenuButton per key ("default" or "chat:<id>")
    menu_buttons: dict[str, dict]
    #: setMyName/setMyDescription/setMyShortDescription values per "field" or "field/<lang>"
    profile: dict[str, str]

    @api("getMe")
    async def _get_me(self, params: dict, files: dict) -> dict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @api("logOut")
    async def _log_out(self, params: dict, files: dict) -> bool:
        return True

    @api("close")
    async def _close(self, params: dict, files: dict) -> bool:
        return True

    # ------------------------------------------------------------------ commands and menu

    @staticmethod
    def _scope_key(params: dict) -> str:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise bad("can't parse BotCommandScope JSON object")
        kind = scope.get("type", "default")
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            key = kind
        elif kind in ("chat", "chat_administrators"):
            if scope.get("chat_id") is None:
                raise bad("chat_id is empty")
            key = f"{kind}:{scope['chat_id']}"
        elif kind == "chat_member":
            if scope.get("chat_id") is None or scope.get("user_id") is None:
                raise bad("chat_id is empty")
            key = f"chat_member:{scope['chat_id']}:{scope['user_id']}"
        else:
            raise bad("wrong BotCommandScope type specified")
        language = params.get("language_code")
        if language:
            if not re.fullmatch(r"[a-z]{2}", str(language)):
                raise bad("invalid language code specified")
            key = f"{key}/{language}"
        return key

    @api("setMyCommands")
    async def _set_my_commands(self, params: dict, files: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("too many commands specified")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).lstrip("/")
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad("command description must be non-empty and at most 256 characters long")
            cleaned.append({"command": name, "description": description})
        key = self._scope_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    @api("getMyCommands")
    async def _get_my_commands(self, params: dict, files: dict) -> list[dict]:
        return list(self.commands.get(self._scope_key(params), []))

    @api("deleteMyCommands")
    async def _delete_my_commands(self, params: dict, files: dict) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    @api("setChatMenuButton")
    async def _set_chat_menu_button(self, params: dict, files: dict) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad("can't parse menu button JSON object")
        chat_id = params.get("chat_id")
        key = "default"
        if chat_id is not None:
            key = f"chat:{self._chat(chat_id, writing=False).chat_id}"
        self.menu_buttons[key] = button
        return True

    @api("getChatMenuButton")
    async def _get_chat_menu_button(self, params: dict, files: dict) -> dict:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            key = f"chat:{self._chat(chat_id, writing=False).chat_id}"
            if key in self.menu_buttons:
                return self.menu_buttons[key]
        return self.menu_buttons.get("default", {"type": "commands"})

    # ------------------------------------------------------------------ name and descriptions

    def _profile_setter(self, field_name: str, params: dict, limit: int) -> bool:
        value = str(params.get(field_name) or "")
        if len(value) > limit:
            raise bad(f"{field_name} is too long")
        language = params.get("language_code")
        key = f"{field_name}/{language}" if language else field_name
        if value:
            self.profile[key] = value
        else:
            self.profile.pop(key, None)
        return True

    def _profile_getter(self, field_name: str, params: dict) -> dict:
        language = params.get("language_code")
        value = self.profile.get(f"{field_name}/{language}") if language else None
        if value is None:
            value = self.profile.get(field_name, self.bot_first_name if field_name == "name" else "")
        return {field_name: value}

    @api("setMyName")
    async def _set_my_name(self, params: dict, files: dict) -> bool:
        return self._profile_setter("name", params, 64)

    @api("getMyName")
    async def _get_my_name(self, params: dict, files: dict) -> dict:
        return self._profile_getter("name", params)

    @api("setMyDescription")
    async def _set_my_description(self, params: dict, files: dict) -> bool:
        return self._profile_setter("description", params, 512)

    @api("getMyDescription")
    async def _get_my_description(self, params: dict, files: dict) -> dict:
        return self._profile_getter("description", params)

    @api("setMyShortDescription")
    async def _set_my_short_description(self, params: dict, files: dict) -> bool:
        return self._profile_setter("short_description", params, 120)

    @api("getMyShortDescription")
    async def _get_my_short_description(self, params: dict, files: dict) -> dict:
        return self._profile_getter("short_description", params)
