"""Book configuration: Jupyter Book only warns on a bad _config.yml, so validate it here."""

from pathlib import Path

import yaml
from jupyter_book.config import validate_yaml

from observatoire.build.toc import toc_files

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def test_config_validates_against_jupyter_book_schema():
    validate_yaml(load("_config.yml"), raise_on_errors=True)


def test_config_choices_of_the_design_card():
    config = load("_config.yml")
    assert config["only_build_toc_files"] is True
    assert config["execute"]["raise_on_error"] is True
    assert config["language"] == "fr"
    assert config["bibtex_bibfiles"] == ["references.bib"]
    for outside in ("notebooks", "data", "tests", "src", ".venv", "_build"):
        assert outside in config["exclude_patterns"]


def test_validator_rejects_a_bad_value():
    import jsonschema
    import pytest

    bad = load("_config.yml")
    bad["execute"]["execute_notebooks"] = "toujours"
    with pytest.raises(jsonschema.ValidationError, match="'toujours' is not one of .*execute/execute_notebooks"):
        validate_yaml(bad, raise_on_errors=True)


def test_every_toc_entry_has_a_source_or_is_generated():
    """Only the pilot chapters are generated (the territory template run by papermill for each
    pilot of data/pilotes/territoires.yml); every other entry has a source in the repository."""
    from observatoire.report.pilots import pilots

    generated = {f"book/territoires/{p.slug}" for p in pilots()}
    entries = toc_files(load("_toc.yml"))
    assert generated <= set(entries)
    for entry in entries:
        sources = [ROOT / f"{entry}{s}" for s in (".md", ".ipynb")]
        if entry in generated:
            assert not (ROOT / f"{entry}.md").exists(), f"{entry} is generated: no source of that name"
        else:
            assert any(p.exists() for p in sources), f"{entry} is in _toc.yml but has no source"


def test_no_network_address_in_the_project_sources():
    """No CDN script or dataset download at run time: not in the engine, the notebooks, the
    book's sources nor the vendored widget scripts (their CDN fallback is removed)."""
    import re

    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"load_dataset\(|cdn\.jsdelivr|cdnjs\.cloudflare|unpkg\.com")
    places = [root / "Makefile", root / "_config.yml"]
    for folder in ("src", "notebooks", "book"):
        places += [p for p in (root / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and p.suffix in {".py", ".md", ".ipynb", ".js", ".css", ".html", ".yml", ".yaml", ".json", ".j2"}]
    hits = [str(p.relative_to(root)) for p in places if pattern.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert hits == []


def test_pages_of_territory_books_are_excluded_from_the_book_once_and_for_all():
    """A territory's book writes its pages into book/territoires/; the HTML book excludes them in
    _config.yml, or sphinx-external-toc would add each new one to exclude_patterns, a change of
    configuration that makes Sphinx re-read the whole book. No pilot chapter may match them."""
    from fnmatch import fnmatch

    from observatoire.build.territory_book import GENERATED_PATTERNS, own_patterns
    from observatoire.report.pilots import pilots

    patterns = load("_config.yml")["exclude_patterns"]
    assert set(GENERATED_PATTERNS) <= set(patterns)
    assert not set(GENERATED_PATTERNS) & set(own_patterns())
    assert set(own_patterns()) | set(GENERATED_PATTERNS) == set(patterns)
    for entry in toc_files(load("_toc.yml")):
        for suffix in (".md", ".ipynb"):
            assert not any(fnmatch(entry + suffix, p) for p in GENERATED_PATTERNS), entry
    for pilot in pilots():
        assert not any(fnmatch(f"book/territoires/{pilot.slug}.ipynb", p) for p in GENERATED_PATTERNS)
