"""The shape the codebase promises: bridge/ never imports adapters/; only cli.py prints or exits."""

from __future__ import annotations

import ast
from pathlib import Path

import ticket_bridge

PACKAGE = Path(ticket_bridge.__file__).parent


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_bridge_never_imports_adapters() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(m for m in imports(path) if "adapters" in m)
        for path in (PACKAGE / "bridge").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_cli_prints_or_exits() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"print", "exit"}
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "exit"
                and getattr(node.value, "id", "") == "sys"
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_no_module_is_a_grab_bag() -> None:
    names = {p.stem for p in PACKAGE.rglob("*.py")}
    assert not names & {"utils", "helpers", "helper", "manager", "misc", "common"}
