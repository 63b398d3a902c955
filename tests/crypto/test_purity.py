"""DESIGN.md: protocol/ and crypto/ are pure (the key store and its file live in client/)."""

import ast
from pathlib import Path

import tidings

FORBIDDEN = {"socket", "asyncio", "http", "urllib", "requests", "httpx", "subprocess", "time"}
ROOT = Path(tidings.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_network_or_clock_imports() -> None:
    for package in ("crypto", "protocol"):
        for path in (ROOT / package).glob("*.py"):
            assert not _imports(path) & FORBIDDEN, path


def test_only_keystore_touches_files() -> None:
    for package in ("crypto", "protocol"):
        for path in (ROOT / package).glob("*.py"):
            source = path.read_text()
            assert "open(" not in source.replace("def open(", "").replace(".open(sealed)", ""), path
            assert "tempfile" not in source, path
            assert "pathlib" not in source, path
