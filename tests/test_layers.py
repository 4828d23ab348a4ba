"""The layers keep to their side: services and documents speak no Telegram and word no
message, and no two modules import each other round in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("telegram", "bot.texts", "bot.keyboards", "bot.callbacks", "bot.rendering", "handlers")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every module a file imports when it runs, at the top or inside a function (what only
    the type checker reads, under `if TYPE_CHECKING:`, does not count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_services_and_documents_import_nothing_of_telegram_or_its_wording():
    offenders = {
        _module(path): sorted(name for name in _imports(path) if name.startswith(FORBIDDEN))
        for path in _files("bot/services", "documents")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_no_import_cycles_between_the_modules_of_the_bot():
    files = _files("bot", "handlers", "documents")
    modules = {_module(p): p for p in files}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
