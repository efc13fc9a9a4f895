"""Every environment variable the product code reads has a row in docs/configuration.md."""

from __future__ import annotations

import ast

from tests.architecture import rules

DOCS = rules.ROOT / "docs" / "configuration.md"
# Helpers in settings.py that read one variable by name.
ENV_HELPERS = {"env_bool", "env_list", "getenv"}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def variables_read(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            environ_get = (
                isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value)
            )
            helper = (isinstance(func, ast.Name) and func.id in ENV_HELPERS) or (
                isinstance(func, ast.Attribute) and func.attr in ENV_HELPERS
            )
            if environ_get or helper:
                names.add(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _is_environ(node.value)
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return {name for name in names if isinstance(name, str)}


def test_every_environment_variable_is_documented():
    read = set()
    for path in [*rules.product_files(), rules.ROOT / "manage.py"]:
        read |= variables_read(ast.parse(path.read_text()))
    text = DOCS.read_text()
    undocumented = sorted(name for name in read if f"`{name}`" not in text)
    assert not undocumented, f"add these to docs/configuration.md: {undocumented}"
    assert {"DATABASE_URL", "CONTENTGEN_CANDIDATES", "MERCHLAB_STOREFRONT_RATE_PER_VISITOR"} <= read


def test_the_reader_finds_each_form():
    source = (
        "import os\nA = os.environ.get('A')\nB = os.environ['B']\nC = env_bool('C', True)\n"
        "os.environ.setdefault('D', '1')\n"
    )
    assert variables_read(ast.parse(source)) == {"A", "B", "C"}
