"""Each role's /help names every command of its menu, so nothing a person may do is hidden
from them; and no role's help names a command the gate would refuse them."""

from __future__ import annotations

import re

import pytest

from bot import texts
from bot.app import COMMANDS
from bot.models import Role

ALWAYS = {"start", "help"}  # every chat has them; /help is what is being read


@pytest.mark.parametrize("role", list(Role))
def test_the_help_of_each_role_names_the_commands_of_its_menu(role):
    shown = set(re.findall(r"(?<![\w/<])/([a-z]+)\b", texts.help_for(role.value)))
    menu = {c.name for c in COMMANDS if role in c.menu} - ALWAYS
    allowed = {c.name for c in COMMANDS if c.roles is None or role in c.roles}
    assert menu <= shown, sorted(menu - shown)
    assert shown <= allowed, sorted(shown - allowed)
