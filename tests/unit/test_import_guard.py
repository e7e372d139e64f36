"""Only the conductor and kumo-manage may import the database layer."""

from __future__ import annotations

import ast
import pathlib

import kumo

PACKAGE = pathlib.Path(kumo.__file__).parent

# Paths (relative to the package) allowed to import kumo.db.
ALLOWED = ("db/", "conductor/", "cmd/manage.py")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
            found.append((node.lineno, node.module))
    return found


def _db_imports(source: str) -> list[tuple[int, str]]:
    return [(line, name) for line, name in _imports(ast.parse(source))
            if name == "kumo.db" or name.startswith("kumo.db.")]


def test_only_conductor_and_manage_import_kumo_db() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(ALLOWED):
            continue
        for line, name in _db_imports(path.read_text()):
            offenders.append(f"kumo/{relative}:{line} imports {name}")
    assert not offenders, (
        "only kumo.conductor and kumo-manage may import kumo.db; use the "
        "conductor's RPC API instead:\n" + "\n".join(offenders))


def test_scanner_sees_every_import_form() -> None:
    source = (
        "import kumo.db.api\n"
        "from kumo.db import api\n"
        "from kumo import db\n"
        "def f():\n    from kumo.db.models import Service\n"
    )
    assert sorted({line for line, _ in _db_imports(source)}) == [1, 2, 3, 5]


def test_scanner_ignores_similar_names() -> None:
    assert _db_imports("import kumo.dbx\nfrom kumo import dbutil\n") == []
