"""Explicit wiring (issue 18, item 8): behaviour does not depend on which module was imported first, two apps built
in one process do not share their console frames or visitor hooks, and the packages' imports have no cycle —
function-level and type-only imports included — with ``audit`` below both ``operators`` and ``escalation``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.settings import PROJECT_ROOT, Settings
from operators.frames import frames_of
from pnav.app import create_app, install

PACKAGES = ("chat", "routing", "operators", "escalation", "audit", "pnav")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports() -> dict[str, set[str]]:
    """Every project module each module imports, wherever the import statement is (top, function, TYPE_CHECKING)."""
    modules = dict(_modules())
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _package_of(module: str) -> str:
    return module.split(".")[0]


def test_no_import_cycle_anywhere() -> None:
    """No two modules import each other, even through a function-level or a type-only import (before: the console
    and its frames, invitations, roster, transfers, offers, team…)."""
    assert _cycles(_imports()) == []


def test_layers() -> None:
    """``audit`` is a base package: operators and escalation use it, it imports neither; operators never imports
    escalation; chat imports none of the packages it serves."""
    graph = _imports()
    crossing = {(module, target) for module, targets in graph.items() for target in targets
                if (_package_of(module), _package_of(target)) in {
                    ("operators", "escalation"), ("audit", "operators"), ("audit", "escalation"),
                    ("chat", "operators"), ("chat", "escalation"), ("chat", "audit"), ("chat", "pnav")}}
    assert crossing == set()
    assert any(_package_of(t) == "audit" for m, ts in graph.items() if _package_of(m) == "operators" for t in ts)
    assert any(_package_of(t) == "audit" for m, ts in graph.items() if _package_of(m) == "escalation" for t in ts)


def test_no_import_time_registry() -> None:
    """The frame table and the visitor hooks are not module globals any more."""
    import chat.hooks
    import operators.frames

    assert not hasattr(operators.frames, "_registry") and not hasattr(operators.frames, "register")
    assert not any(hasattr(chat.hooks, name) for name in ("visitor_connected", "visitor_frames", "visitor_welcomed"))


async def test_two_apps_in_one_process_are_wired_apart(tmp_path: Path) -> None:
    """Two apps built in one process each get their own console frames and visitor hooks, filled by
    ``pnav/app.py``; what one app's state gains does not reach the other's, and installing twice is refused."""
    states = []
    for n in range(2):
        app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / f'{n}.sqlite3'}",
                                  environment="test", secret_key="k" * 40))
        async with app.router.lifespan_context(app):
            states.append(app.state.pnav)
    one, two = states
    assert frames_of(one) is not frames_of(two) and one.hooks is not two.hooks
    assert frames_of(one).types() == frames_of(two).types() >= {"take", "send", "flag", "propose_signalement",
                                                                  "set_commune", "suggest", "request_evidence"}
    assert frames_of(one).types_for("supervisor") == ["read", "resume", "set_mode", "unwatch", "whisper"]
    assert [f.__name__ for f in one.hooks.connected] == ["seal_connection"]
    assert one.hooks.frames.keys() == {"psychologist_answer"} and len(one.hooks.welcomed) == 1
    frames_of(one).add("only_here", frames_of(one).routes["take"].handler, roles=("operator",))
    assert "only_here" not in frames_of(two).types()
    with pytest.raises(ValueError, match="already handled"):
        install(two)
