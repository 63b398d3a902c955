"""The user interfaces share code through client/, never through each other (DESIGN.md):
the TUI, the demo and the client import nothing from cli/ (no cli -> demo -> cli or
tui -> cli edge), and the key store, which writes a file, is the client's."""

import ast
from pathlib import Path

import tidings

ROOT = Path(tidings.__file__).parent


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_tui_demo_and_client_do_not_import_the_cli() -> None:
    checked = 0
    for package in ("tui", "demo", "client"):
        for path in (ROOT / package).rglob("*.py"):
            checked += 1
            cli = {n for n in _imported(path) if n == "tidings.cli" or n.startswith("tidings.cli.")}
            assert not cli, f"{path.relative_to(ROOT)} imports {sorted(cli)}"
    assert checked > 40


def test_the_key_store_is_the_clients() -> None:
    assert (ROOT / "client" / "keystore.py").is_file()
    assert not (ROOT / "crypto" / "keystore.py").exists()
    for path in (ROOT / "crypto").glob("*.py"):
        assert "tidings.client" not in " ".join(_imported(path)), path
