"""Writing build outputs without ever leaving a half-written one (observatoire.files)."""

from __future__ import annotations

import os
import shutil

from observatoire.files import copy_in, write_atomic


def _site(folder, pages: dict[str, str]):
    for name, text in pages.items():
        write_atomic(folder / name, text)
    return folder


def test_copy_in_replaces_the_whole_folder(tmp_path):
    first = _site(tmp_path / "sortie-1", {"index.html": "un", "_static/a.css": "a", "vieux.html": "v"})
    target = copy_in(first, tmp_path / "site")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == \
        ["_static/a.css", "index.html", "vieux.html"]
    second = _site(tmp_path / "sortie-2", {"index.html": "deux", "_static/a.css": "a"})
    copy_in(second, target)
    assert (target / "index.html").read_text() == "deux" and not (target / "vieux.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".construction-") or p.name.endswith(".ancien")]


def test_copy_in_links_what_it_already_holds_and_copies_what_changed(tmp_path):
    """A rebuild where Sphinx rewrote one page: the other files are hard-linked from the previous
    copy (same inode), the rewritten one copied; the output folder itself is never linked."""
    out = _site(tmp_path / "sortie", {"index.html": "un", "_static/gros.js": "x" * 10_000})
    target = copy_in(out, tmp_path / "site")
    before = {name: (target / name).stat().st_ino for name in ("index.html", "_static/gros.js")}
    write_atomic(out / "index.html", "deux")  # Sphinx rewrites the page (new time)
    copy_in(out, target)
    assert (target / "_static/gros.js").stat().st_ino == before["_static/gros.js"]
    assert (target / "index.html").stat().st_ino != before["index.html"]
    assert (target / "index.html").read_text() == "deux"
    for name in ("index.html", "_static/gros.js"):  # never a link into Sphinx's own output
        assert (target / name).stat().st_ino != (out / name).stat().st_ino
    # Same size, same content written again with a new time: copied, not linked.
    write_atomic(out / "_static/gros.js", "y" * 10_000)
    copy_in(out, target)
    assert (target / "_static/gros.js").read_text() == "y" * 10_000


def test_copy_in_without_a_previous_copy_or_where_links_fail(tmp_path, monkeypatch):
    out = _site(tmp_path / "sortie", {"index.html": "un"})
    target = copy_in(out, tmp_path / "site")
    shutil.copystat(out / "index.html", target / "index.html")

    def refuse(*args, **kwargs):
        raise OSError("liens physiques impossibles ici")

    monkeypatch.setattr(os, "link", refuse)
    copy_in(out, target)
    assert (target / "index.html").read_text() == "un"
