"""End to end: ``collecter`` on the fixtures, then a territory's book built from its file."""

import re

import pytest

from observatoire import cli
from observatoire.build.book import BuildError
from observatoire.build.territory_book import build_territory_book

from support import EPCI


@pytest.mark.slow
def test_collected_file_builds_a_territory_book(server, factory, tmp_path, monkeypatch, capsys):
    from observatoire.connectors import collect

    server.everything()
    real = collect.collect
    monkeypatch.setattr(collect, "collect", lambda *a, **k: real(*a, **{**k, "client_factory": factory}))
    output = tmp_path / "camargue.csv"
    assert cli.main(["collecter", EPCI, "--sortie", str(output), "--cache", str(tmp_path / "cache")]) == 0
    assert "Collecte complète." in capsys.readouterr().out

    index = build_territory_book(output, None, tmp_path / "build")
    home = index.parent / re.search(r'url=([^"]+)"', index.read_text(encoding="utf-8")).group(1)
    assert "CC Terre de Camargue" in home.read_text(encoding="utf-8")
    pages = [p for p in index.parent.rglob("*.html") if "243000650" in p.name]
    assert pages and any("Terre de Camargue" in p.read_text(encoding="utf-8") for p in pages)
