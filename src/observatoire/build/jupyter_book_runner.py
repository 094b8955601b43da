"""jupyter-book's command line, for the book's build only, without costs that are not the book's.

Run as ``python -m observatoire.build.jupyter_book_runner [--attendre] build …`` (the arguments
of ``jupyter-book``) by the build pipeline; importing this module changes nothing, only
:func:`main` does, in its own process. What it changes, each measured here and each with a test
(``tests/test_jupyter_book_runner.py``) that fails when the upstream code it relies on changes:

1. ``rfc3987_syntax`` is not imported: jsonschema (imported by jupyter-book) would compile its
   38 Lark grammars, 1.5 s, for two IRI format checks nothing here uses; jsonschema then leaves
   those checks out, as where the package is not installed.
2. pybtex looks up its plugins in the installed packages' entry points at every citation it
   formats (about 200 look-ups in the book, 1.5 s): ``pybtex.plugin.entry_points`` is replaced by
   a cached version (entry points do not change during a build; plugins registered at run time
   are still found, pybtex checks them first). Upstream would not need it if pybtex cached its
   look-ups as Pygments now does (pygments/pygments#2979); pybtex's tracker has no such issue.
3. Sphinx reads and writes in parallel when every extension declares it may. Three extensions
   of the book declare nothing although they keep nothing in Sphinx's environment:
   :data:`PARALLEL_SAFE` wraps their public ``setup`` to declare it. Checked by a test that
   builds a book both ways and compares the HTML. Upstream: each could declare
   ``parallel_read_safe`` in its ``setup`` (sphinx-doc's extension API); see
   executablebooks/sphinx-jupyterbook-latex, executablebooks/sphinx-multitoc-numbering.
   ``jupyter_book.sphinx.build_sphinx`` is called with ``jobs`` (a documented parameter the
   ``jupyter-book`` command does not expose).
4. pydata-sphinx-theme renders every sidebar template of every page once more, only to drop the
   empty ones; sphinx-book-theme's navigation (the whole table of contents, 0.5 s per build) is
   never empty in this book. ``_update_and_remove_templates`` (private) is given the
   navigation in its own ``templates_skip_empty_check`` argument. Upstream: the same check was
   made cheaper for the theme's own navigation in pydata/pydata-sphinx-theme#1609; adding
   sphinx-book-theme's ``sbt-sidebar-nav.html`` to that list would remove this patch.
5. With ``--attendre`` first, it imports Sphinx and the book's extensions (about 1 s), then
   waits for a line on standard input: ``go`` to build, anything else (or the end of input) to
   stop. The build starts it this way while the notebooks run.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from pathlib import Path

WAIT_FLAG = "--attendre"
GO = "go"
#: Extensions of the book that do not declare whether Sphinx may read and write in parallel.
PARALLEL_SAFE = ("sphinx_multitoc_numbering", "sphinx-mathjax-offline", "sphinx_jupyterbook_latex")
#: sphinx-book-theme's navigation template, never empty in this book.
BOOK_NAVIGATION = "sbt-sidebar-nav.html"


def import_extensions(arguments: list[str]) -> None:
    """Import the Sphinx extensions named by the book's configuration (a warm-up only: Sphinx
    loads them itself; a configuration it cannot read is left for the build to report)."""
    from jupyter_book.config import get_final_config

    with contextlib.suppress(Exception):
        root = Path(arguments[arguments.index("build") + 1])
        config = Path(arguments[arguments.index("--config") + 1]) if "--config" in arguments else root / "_config.yml"
        sphinx_config, _ = get_final_config(user_yaml=config, cli_config={"latex_individualpages": False},
                                            sourcedir=root)
        for name in [*sphinx_config.get("extensions", []), "myst_nb.sphinx_ext", "sphinx.builders.html"]:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)


def cache_pybtex_entry_points() -> None:
    import pybtex.plugin

    pybtex.plugin.entry_points = functools.cache(pybtex.plugin.entry_points)


def _declared_parallel_safe(setup):
    @functools.wraps(setup)
    def wrapped(app):
        return {**(setup(app) or {}), "parallel_read_safe": True, "parallel_write_safe": True}

    return wrapped


def build_in_parallel(jobs: int | None = None) -> None:
    import jupyter_book.sphinx

    for name in PARALLEL_SAFE:
        with contextlib.suppress(ImportError):
            extension = importlib.import_module(name)
            extension.setup = _declared_parallel_safe(extension.setup)
    jupyter_book.sphinx.build_sphinx = functools.partial(jupyter_book.sphinx.build_sphinx,
                                                         jobs=jobs or os.cpu_count() or 1)


def navigation_never_empty() -> None:
    import pydata_sphinx_theme.utils as theme

    update = theme._update_and_remove_templates

    @functools.wraps(update)
    def without_navigation_check(app, context, templates, section, templates_skip_empty_check=None):
        skip = [*(templates_skip_empty_check or []), BOOK_NAVIGATION]
        return update(app, context, templates, section, templates_skip_empty_check=skip)

    theme._update_and_remove_templates = without_navigation_check


def main(arguments: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if arguments is None else arguments)
    serial = os.environ.get("OBSERVATOIRE_SPHINX_SERIE") == "1"  # for the parallel/serial test
    sys.modules.setdefault("rfc3987_syntax", None)
    cache_pybtex_entry_points()
    if not serial:
        build_in_parallel()
    navigation_never_empty()
    from jupyter_book.cli.main import main as jupyter_book_main

    if arguments[:1] == [WAIT_FLAG]:
        arguments = arguments[1:]
        import_extensions(arguments)
        if sys.stdin.readline().strip() != GO:
            return
    jupyter_book_main(args=arguments, prog_name="jupyter-book")


if __name__ == "__main__":
    main()
