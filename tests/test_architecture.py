"""Standing rules of the code base, checked on every run (style.md §2)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "smsgate"
TESTS = Path(__file__).resolve().parent

# Which top-level packages of smsgate each layer may import (imports point down only).
ALLOWED = {
    "domain": {"domain"},
    "protocols": {"protocols", "domain", "errors", "clock"},
    "store": {"store", "domain", "errors", "config", "clock"},
    "channels": {"channels", "protocols", "domain", "errors", "config", "clock"},
    "simulators": {"simulators", "protocols", "domain", "errors", "clock"},  # issue 5
    "services": {"services", "store", "domain", "errors", "config", "clock", "metrics"},
    "dispatch": {
        "dispatch",
        "channels",
        "services",
        "store",
        "domain",
        "errors",
        "config",
        "clock",
    },
}


def smsgate_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "smsgate" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_imports_point_down() -> None:
    violations = []
    for path in SRC.rglob("*.py"):
        layer = path.relative_to(SRC).parts[0]
        allowed = ALLOWED.get(layer)
        if allowed is None:
            continue
        for imported in smsgate_imports(path) - allowed:
            violations.append(f"{path.relative_to(SRC)} imports smsgate.{imported}")
    assert violations == []


def test_domain_does_no_io() -> None:
    forbidden = {"asyncio", "sqlalchemy", "starlette", "httpx", "socket", "os", "time"}
    for path in (SRC / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & forbidden, f"{path.name} imports {roots & forbidden}"


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}


def test_no_sleeping_in_tests() -> None:
    pattern = re.compile(r"\bsleep\(\s*(?!0\s*\))[^)]")
    offenders = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name != "clock.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_unsafe_deserialisation_or_eval() -> None:
    pattern = re.compile(r"\b(pickle|marshal|eval|exec|yaml\.load)\s*\(|^import pickle", re.M)
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
