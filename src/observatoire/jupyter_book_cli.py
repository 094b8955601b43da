"""jupyter-book's command line, without two costs that are not the book's (measured here).

- jupyter-book imports jsonschema, which would compile the grammars of ``rfc3987_syntax``
  (1.3 s): importing :mod:`observatoire` first prevents it (see the package's ``__init__``).
- pybtex looks up its plugins in the installed packages' entry points at every citation it
  formats (about 200 look-ups in the book, 1.5 s). Entry points do not change during a build,
  so each look-up is made once.

Usage: ``python -m observatoire.jupyter_book_cli build …`` (the arguments of ``jupyter-book``).
"""

from __future__ import annotations

import functools


def main() -> None:
    import pybtex.plugin

    pybtex.plugin._load_entry_point = functools.cache(pybtex.plugin._load_entry_point)
    from jupyter_book.cli.main import main as jupyter_book_main

    jupyter_book_main(prog_name="jupyter-book")


if __name__ == "__main__":
    main()
