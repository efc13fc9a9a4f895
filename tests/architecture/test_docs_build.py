"""The documentation site builds with ``mkdocs build --strict``: a moved page or a dead link fails."""

from __future__ import annotations

import subprocess
import sys

from tests.architecture import rules


def test_docs_site_builds_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=rules.ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "configuration" / "index.html").exists()
    assert "MERCHLAB_VAR_DIR" in (tmp_path / "configuration" / "index.html").read_text()


def test_every_page_is_in_the_navigation():
    docs = rules.ROOT / "docs"
    nav = (rules.ROOT / "mkdocs.yml").read_text()
    pages = sorted(str(path.relative_to(docs)) for path in docs.rglob("*.md"))
    missing = [page for page in pages if f" {page}\n" not in nav]
    assert not missing, f"add these pages to mkdocs.yml's nav: {missing}"
