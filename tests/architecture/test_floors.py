"""The architecture test: imports point down the floors of REDESIGN.md, and the hidden edges
counted in ``ratchet.json`` (in-function imports without a reason, ``apps.get_model``,
``apps.is_installed``, first-party ``except ImportError``, upward imports) may only fall."""

from __future__ import annotations

import ast

import pytest

from tests.architecture import rules


@pytest.fixture(scope="module")
def current():
    return rules.measure()


def test_no_module_gains_a_hidden_edge(current):
    baseline = rules.load_baseline()
    grown = [
        f"{module}: {rule} {n} (baseline {baseline.get(module, {}).get(rule, 0)})"
        for module, counts in current.items()
        for rule, n in counts.items()
        if n > baseline.get(module, {}).get(rule, 0)
    ]
    assert not grown, (
        "New hidden edges (import at the top of the module pointing down the floors, or give an "
        "in-function import its reason in a comment on its line):\n" + "\n".join(grown)
    )


def test_the_baseline_follows_every_fall(current):
    baseline = rules.load_baseline()
    assert baseline == rules.lowered(baseline, current), (
        "Counts fell below tests/architecture/ratchet.json: run "
        "`python tests/architecture/rules.py --lower` and commit the lower baseline."
    )


def test_every_product_module_sits_on_a_floor():
    homeless = []
    for path in rules.product_files():
        try:
            rules.floor_of(rules.module_name(path))
        except KeyError:
            homeless.append(str(path.relative_to(rules.ROOT)))
    assert not homeless, f"add these apps to rules.APPS: {homeless}"


def _counts(source: str, module: str = "merchandising.catalog.services"):
    visitor = rules._Visitor(module, rules.comment_lines(source))
    visitor.visit(ast.parse(source))
    return dict(visitor.counts)


def test_the_rules_see_what_they_should():
    assert _counts("from merchandising.dashboard import views\n") == {"upward_imports": 1}
    assert _counts("from merchandising.accounts import models\n") == {}
    assert _counts("def f():\n    from merchandising.accounts import models\n") == {
        "in_function_imports": 1
    }
    reasoned = "def f():\n    import contentgen.backends  # torch stays out of the web process\n"
    assert _counts(reasoned) == {"upward_imports": 1}
    guarded = "try:\n    from recsys import serving\nexcept ImportError:\n    serving = None\n"
    assert _counts(guarded) == {"except_import_error": 1, "upward_imports": 1}
    assert _counts("from django.apps import apps\nM = apps.get_model('a', 'B')\n") == {
        "apps_get_model": 1
    }
    assert _counts("import contentgen\n", module="merchandising.experiments.services") == {
        "upward_imports": 1
    }
    assert _counts("from merchandising.demo import x\n", module="merchandising.urls") == {
        "upward_imports": 1
    }
