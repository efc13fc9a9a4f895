"""The floors of the house (REDESIGN.md, "The floors") and the counts the architecture test keeps.

Run ``python tests/architecture/rules.py --lower`` after removing hidden edges: it rewrites the
baseline with today's counts where they fell, and never raises one.
"""

from __future__ import annotations

import ast
import io
import json
import sys
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).with_name("ratchet.json")
PACKAGES = ("merchandising", "contentgen", "recsys")

KERNEL, STATE, ALGORITHMS, FEATURES, FACES = range(5)
FLOOR_NAMES = ("kernel", "state", "algorithms", "features", "faces")

# The app a module belongs to and its floor; the longest matching prefix wins.
APPS: dict[str, int] = {
    "merchandising": KERNEL,  # settings, celery, cache, middleware
    "merchandising.accounts": KERNEL,
    "merchandising.jobs": KERNEL,
    "merchandising.catalog": STATE,
    "merchandising.tracking": STATE,
    "contentgen": ALGORITHMS,
    "recsys": ALGORITHMS,
    "recsys.segments": ALGORITHMS,
    "contentgen.review": FEATURES,
    "contentgen.finetuning": FEATURES,
    "merchandising.experiments": FEATURES,
    "merchandising.placements": FEATURES,
    "merchandising.dashboard": FACES,
    "merchandising.storefront": FACES,
    "merchandising.demo": FACES,
}
# Entry points are faces whatever app holds them: they may call down anywhere.
FACE_MODULES = ("urls", "api_urls", "wsgi", "asgi", "api", "views", "serializers", "admin")
FACE_PARTS = ("management", "templatetags")

RULES = (
    "upward_imports",  # an import that points up a floor, into demo, or experiments -> contentgen
    "in_function_imports",  # a first-party import inside a function with no reason on its line
    "apps_get_model",
    "apps_is_installed",
    "except_import_error",  # a first-party import guarded by `except ImportError`
)


def app_of(module: str) -> str:
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        prefix = ".".join(parts[:length])
        if prefix in APPS:
            return prefix
    raise KeyError(module)


def floor_of(module: str) -> int:
    parts = module.split(".")
    if parts[-1] in FACE_MODULES or any(part in FACE_PARTS for part in parts):
        return FACES
    return APPS[app_of(module)]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def first_party(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in PACKAGES


def comment_lines(source: str) -> set[int]:
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            lines.add(token.start[0])
    return lines


def allowed(importer: str, imported: str) -> bool:
    """Whether ``importer`` may import ``imported`` under the floor rules."""
    if app_of(importer) == app_of(imported):
        return True
    if imported.startswith("merchandising.demo") and not importer.startswith("merchandising.demo"):
        return False
    if importer.startswith("merchandising.experiments") and imported.startswith("contentgen"):
        return False
    return floor_of(imported) <= floor_of(importer)


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, comments: set[int]) -> None:
        self.module = module
        self.comments = comments
        self.counts: Counter[str] = Counter()
        self.depth = 0  # functions we are inside

    def _targets(self, node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names if first_party(alias.name)]
        if node.level:  # relative: inside the same package, hence the same app
            base = self.module.split(".")
            package = base[: len(base) - node.level + (1 if self._is_package else 0)]
            target = ".".join(package + ([node.module] if node.module else []))
            return [target]
        return [node.module] if first_party(node.module) else []

    _is_package = False

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        targets = [target for target in self._targets(node) if first_party(target)]
        if not targets:
            return
        if any(not allowed(self.module, target) for target in targets):
            self.counts["upward_imports"] += 1
        reason = any(line in self.comments for line in range(node.lineno, node.end_lineno + 1))
        if self.depth and not reason:
            self.counts["in_function_imports"] += 1

    visit_Import = _import
    visit_ImportFrom = _import

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == "apps":
            if node.attr == "get_model":
                self.counts["apps_get_model"] += 1
            elif node.attr == "is_installed":
                self.counts["apps_is_installed"] += 1
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        guards_import = any(
            isinstance(handler.type, ast.Name)
            and handler.type.id in {"ImportError", "ModuleNotFoundError"}
            or isinstance(handler.type, ast.Tuple)
            and any(
                isinstance(item, ast.Name) and item.id in {"ImportError", "ModuleNotFoundError"}
                for item in handler.type.elts
            )
            for handler in node.handlers
        )
        if guards_import:
            for statement in node.body:
                for child in ast.walk(statement):
                    if isinstance(child, ast.Import | ast.ImportFrom) and self._targets(child):
                        self.counts["except_import_error"] += 1
                        break
        self.generic_visit(node)


def count(path: Path) -> Counter[str]:
    source = path.read_text()
    visitor = _Visitor(module_name(path), comment_lines(source))
    visitor._is_package = path.name == "__init__.py"
    visitor.visit(ast.parse(source, filename=str(path)))
    return visitor.counts


def measure() -> dict[str, dict[str, int]]:
    """Counts per product module, only where a rule has a count above zero."""
    result = {}
    for path in product_files():
        counts = {rule: n for rule, n in sorted(count(path).items()) if n}
        if counts:
            result[str(path.relative_to(ROOT))] = counts
    return result


def load_baseline() -> dict[str, dict[str, int]]:
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else {}


def lowered(baseline: dict, current: dict) -> dict[str, dict[str, int]]:
    """The baseline with each count lowered to today's where it fell; never raised."""
    result = {}
    for module, counts in baseline.items():
        kept = {
            rule: min(n, current.get(module, {}).get(rule, 0))
            for rule, n in counts.items()
            if min(n, current.get(module, {}).get(rule, 0))
        }
        if kept:
            result[module] = kept
    return result


def write(data: dict) -> None:
    BASELINE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--lower"]:
        write(lowered(load_baseline(), measure()))
    elif sys.argv[1:] == ["--initial"] and not BASELINE.exists():
        write(measure())
    else:
        totals = Counter()
        for counts in measure().values():
            totals.update(counts)
        print(json.dumps(dict(totals), indent=1))
