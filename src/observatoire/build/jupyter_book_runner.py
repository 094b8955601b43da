"""jupyter-book's command line, without costs that are not the book's (measured here).

- jupyter-book imports jsonschema, which would compile the grammars of ``rfc3987_syntax``
  (1.3 s): importing :mod:`observatoire` first prevents it (see the package's ``__init__``).
- pybtex looks up its plugins in the installed packages' entry points at every citation it
  formats (about 200 look-ups in the book, 1.5 s). Entry points do not change during a build,
  so each look-up is made once.
- Sphinx reads and writes the pages in as many processes as there are cores when every
  extension declares it may. Three of the book's extensions declare nothing (they keep nothing
  in Sphinx's environment); they are declared safe here. Checked by building the book both ways:
  the same HTML, file for file.
- pydata-sphinx-theme renders every sidebar template of every page once more, only to drop
  those that come out empty; the navigation of sphinx-book-theme (the whole table of contents,
  the slowest of them, 0.5 s per build) is never empty in this book, so it is not checked.
- With ``--attendre`` first, it imports Sphinx and the book's extensions (about 1 s), then
  waits for a line on standard input: ``go`` to build, anything else (or the end of input) to
  stop. The book's build starts it this way while the notebooks run.

Usage: ``python -m observatoire.build.jupyter_book_runner [--attendre] build …`` (the arguments of
``jupyter-book``).
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


#: Extensions of the book that do not declare whether Sphinx may read and write in parallel.
PARALLEL_SAFE = ("sphinx_multitoc_numbering", "sphinx-mathjax-offline", "sphinx_jupyterbook_latex")


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
        skip = [*(templates_skip_empty_check or []), "sbt-sidebar-nav.html"]
        return update(app, context, templates, section, templates_skip_empty_check=skip)

    theme._update_and_remove_templates = without_navigation_check


def main(arguments: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if arguments is None else arguments)
    import pybtex.plugin

    pybtex.plugin._load_entry_point = functools.cache(pybtex.plugin._load_entry_point)
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
