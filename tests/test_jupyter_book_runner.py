"""The build's jupyter-book runner (observatoire.build.jupyter_book_runner): each change it makes
to a library is checked against the upstream code it relies on (these tests fail when that code
changes, so the patch is reviewed), and the extensions declared parallel-safe give the same HTML
read in parallel as read serially."""

from __future__ import annotations

import hashlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from observatoire.build import jupyter_book_runner as runner


def source_digest(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_pybtex_still_looks_up_plugins_through_its_module_level_entry_points():
    import pybtex.plugin

    # The cache replaces pybtex.plugin.entry_points, which _load_entry_point calls after
    # checking the plugins registered at run time (reviewed for pybtex 0.26.1).
    assert source_digest(pybtex.plugin._load_entry_point) == "651a544d021985ba"
    assert "entry_points(group=search_group, name=name)" in inspect.getsource(pybtex.plugin._load_entry_point)


def test_the_theme_still_takes_a_list_of_templates_to_skip():
    import pydata_sphinx_theme.utils

    # Reviewed for pydata-sphinx-theme 0.17.1 (see the module docstring for the upstream PR).
    update = pydata_sphinx_theme.utils._update_and_remove_templates
    assert source_digest(update) == "a9de91b3da6f9259"
    assert "templates_skip_empty_check" in inspect.signature(update).parameters


def test_jupyter_book_still_accepts_a_number_of_jobs():
    import jupyter_book.sphinx

    assert "jobs" in inspect.signature(jupyter_book.sphinx.build_sphinx).parameters
    assert source_digest(jupyter_book.sphinx.build_sphinx) == "969e068aa35f679f"


def test_the_extensions_declared_safe_still_declare_nothing_themselves():
    # When an extension starts declaring parallel safety upstream, drop it from PARALLEL_SAFE.
    import importlib

    class App:
        def __getattr__(self, name):
            return lambda *a, **k: None

    for name in runner.PARALLEL_SAFE:
        module = importlib.import_module(name)
        declared = module.setup(App()) or {}
        assert "parallel_read_safe" not in declared, name


def test_importing_the_runner_changes_nothing():
    script = ("import pybtex.plugin, importlib.metadata, sys\n"
              "import observatoire.build.jupyter_book_runner\n"
              "print(pybtex.plugin.entry_points is importlib.metadata.entry_points, 'rfc3987_syntax' in sys.modules "
              "and sys.modules['rfc3987_syntax'] is None)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["True", "False"]


PAGE = """# {title}

Un paragraphe avec une formule $x^2 + y^2 = z^2$ et une référence à {{doc}}`page1`.

```{{math}}
:label: eq-{n}
\\sum_{{i=1}}^{{n}} i = \\frac{{n(n+1)}}{{2}}
```

## Une section

Voir l'équation {{eq}}`eq-{n}`.
"""


@pytest.mark.slow
def test_parallel_and_serial_builds_give_the_same_html(tmp_path):
    book = tmp_path / "livre"
    book.mkdir()
    (book / "_config.yml").write_text("title: Essai\nlanguage: fr\nonly_build_toc_files: true\n"
                                      "execute:\n  execute_notebooks: 'off'\n"
                                      "sphinx:\n  extra_extensions: [sphinx-mathjax-offline]\n", encoding="utf-8")
    pages = [f"page{n}" for n in range(1, 9)]
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nparts:\n  - caption: Partie\n    numbered: true\n"
                                   "    chapters:\n" + "".join(f"      - file: {p}\n" for p in pages), encoding="utf-8")
    (book / "index.md").write_text("# Accueil\n\nBienvenue.\n", encoding="utf-8")
    for n, page in enumerate(pages, 1):
        (book / f"{page}.md").write_text(PAGE.format(title=f"Chapitre {n}", n=n), encoding="utf-8")
    outputs = {}
    for mode, env in (("serie", {"OBSERVATOIRE_SPHINX_SERIE": "1"}), ("parallele", {})):
        out = tmp_path / mode
        result = subprocess.run([sys.executable, "-m", "observatoire.build.jupyter_book_runner", "build", str(book),
                                 "--path-output", str(out), "-W", "-n"], capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": "0", **env}, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        html = out / "_build" / "html"
        outputs[mode] = {p.relative_to(html): p.read_bytes() for p in html.rglob("*.html")}
    assert outputs["serie"].keys() == outputs["parallele"].keys()
    different = [str(p) for p in outputs["serie"] if outputs["serie"][p] != outputs["parallele"][p]]
    assert different == []
    assert b"section-number" in outputs["parallele"][Path("page3.html")], "multitoc numbering applied"
