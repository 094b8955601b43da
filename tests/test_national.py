"""The national run (observatoire.national.site): pages from the engine, process pool and Dask,
resumable runs, bad input, self-contained and escaped pages."""

from __future__ import annotations

import multiprocessing
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire import cli
from observatoire.engine.catalogue import load_catalogue
from observatoire.report.demo import scored_demo_values, DEMO_SOURCE
from observatoire.report.sheet import territory_sheet
from observatoire.engine.load import write_values_csv
from observatoire.national.site import MANIFEST, TEMPLATES, page_path, run_national
from observatoire.engine.pipeline import Choices
from observatoire.engine.reference import load_reference, population_by_code
from observatoire.text import fr_number
from observatoire.engine.uncertainty import ABSOLUTE_METHODS, Space, index_interval, rank_descending

N_FILE, LIMIT, DRAWS, SEED = 15, 12, 100, 20260101
FILE_NAME = "national-test.csv"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    from observatoire.report.demo import epci_profiles

    # The first EPCI of the national demonstration file, drawn alone (same streams, same numbers).
    catalogue, reference = load_catalogue(), load_reference()
    first = sorted(epci_profiles(reference))[:N_FILE]
    values = scored_demo_values(catalogue, first, population_by_code(reference))
    values["unite"] = values["indicateur"].map(catalogue.indicators["unite"])
    values["source"], values["commentaire"] = DEMO_SOURCE, ""
    return values


@pytest.fixture(scope="module")
def data_file(frame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("donnees") / FILE_NAME
    write_values_csv(frame, path)
    return path


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as ex:
        yield ex


def run(data, output, pool, **kw):
    kw.setdefault("limit", LIMIT)
    return run_national(data, output=output, draws=DRAWS, seed=SEED, executor=pool, progress=False, **kw)


@pytest.fixture(scope="module")
def site(data_file, pool, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("site")
    report = run(data_file, output, pool)
    assert (report.territories, report.rendered, report.skipped, report.summaries) == (LIMIT, LIMIT, 0, 4)
    return output


def codes_of(site: Path) -> list[str]:
    return sorted(p.stem for p in (site / "territoires").glob("*.html"))


def pages(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*.html"))}


def without_svg(text: str) -> str:
    return re.sub(r"<svg.*?</svg>", "", text, flags=re.S)


def test_limit_takes_the_first_territories(site, frame):
    assert codes_of(site) == sorted(frame["territoire"].unique())[:LIMIT]
    assert {"index.html", "classement.html", "distributions.html", "niveaux.html", "style.css",
            MANIFEST} <= {p.name for p in site.iterdir()}


def test_process_pool_and_dask_cluster_make_identical_pages(site, data_file, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        report = run_national(data_file, output=tmp_path, limit=LIMIT, draws=DRAWS, seed=SEED,
                              scheduler=cluster.scheduler_address, progress=False)
    assert report.rendered == LIMIT and report.executor.startswith("Dask")
    assert pages(tmp_path) == pages(site)
    assert (tmp_path / MANIFEST).read_bytes() == (site / MANIFEST).read_bytes()


def test_territory_page_shows_the_engine_numbers(site, data_file):
    code = codes_of(site)[3]
    sheet = territory_sheet(code, data_file)
    text = without_svg((site / page_path(code)).read_text(encoding="utf-8"))
    assert f"{sheet.territory.nom} <span" in text.replace("&#39;", "'")
    assert f'<span class="valeur">{fr_number(sheet.index)}</span>' in text
    q05, q50, q95 = index_interval(sheet.scores, code, n_draws=DRAWS, seed=SEED,
                                   space=Space(normalisations=ABSOLUTE_METHODS))
    assert f"{fr_number(q05)} – {fr_number(q95)}" in text and f"médiane {fr_number(q50)}" in text
    for label, value in [*sheet.axes.items(), *sheet.communs.items()]:
        assert f'{label}</th><td class="nombre">{fr_number(value)}</td>' in text.replace("&#39;", "'")
    table = sheet.indicator_table()
    rows = re.findall(r"<tr><td>(.*?)</td>.*?<td class=\"nombre\">([^<]*)</td><td>[^<]*</td></tr>", text)
    assert len(rows) == len(table)
    assert [s for _, s in rows] == [fr_number(v) for v in table["Score (0-100)"]]
    assert "DÉMONSTRATION — valeurs fictives" in text


def test_summary_pages_rank_with_intervals(site, data_file):
    from observatoire.engine.pipeline import score_data_file

    scores = score_data_file(data_file)[0]
    codes = codes_of(site)
    index = scores.index.reindex(codes)
    ranking = without_svg((site / "classement.html").read_text(encoding="utf-8"))
    found = re.findall(r'<tr id="t-(\d+)"><td class="nombre">(\d+)</td><td class="nombre">(\d+) – (\d+)</td>', ranking)
    assert sorted(c for c, *_ in found) == codes
    expected = dict(zip(codes, rank_descending(index.to_numpy())))
    for code, rank, low, high in found:
        assert int(rank) == expected[code]
        assert int(low) <= int(high)
    assert [c for c, *_ in found] == sorted(codes, key=lambda c: expected[c])  # best first
    assert "<svg" in (site / "classement.html").read_text(encoding="utf-8")
    levels = (site / "niveaux.html").read_text(encoding="utf-8")
    for title in ("La France", "Les régions", "Les départements"):
        assert title in levels
    distributions = (site / "distributions.html").read_text(encoding="utf-8")
    assert distributions.count("<svg") == 3
    for page in ("index.html", "classement.html", "distributions.html", "niveaux.html"):
        assert "DÉMONSTRATION — valeurs fictives" in (site / page).read_text(encoding="utf-8")


def test_rerun_skips_unchanged_and_rerenders_only_the_changed_territory(site, frame, pool, tmp_path):
    output = tmp_path / "site"
    shutil.copytree(site, output)
    data = tmp_path / FILE_NAME  # same name: the name is shown on the pages
    write_values_csv(frame, data)
    report = run(data, output, pool)
    assert (report.rendered, report.skipped) == (0, LIMIT)
    before = pages(output)

    code = codes_of(site)[5]
    changed = frame.copy()
    row = changed.index[(changed["territoire"] == code) & (changed["indicateur"] == changed["indicateur"].iloc[0])]
    changed.loc[row, "valeur"] = changed.loc[row, "valeur"] * 0.5
    write_values_csv(changed, data)
    report = run(data, output, pool)
    assert (report.rendered, report.skipped) == (1, LIMIT - 1)
    after = pages(output)
    differ = {p for p in after if after[p] != before[p]}
    assert page_path(code) in differ
    assert not {p for p in differ if p.startswith("territoires/")} - {page_path(code)}


def test_choices_or_template_change_rerender_every_page(site, data_file, pool, tmp_path):
    output = tmp_path / "site"
    shutil.copytree(site, output)
    report = run(data_file, output, pool, choices=Choices(aggregation="geometric"))
    assert report.rendered == LIMIT

    templates = tmp_path / "gabarits"
    shutil.copytree(TEMPLATES, templates)
    base = templates / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</footer>", "<p>Version test.</p></footer>"),
                    encoding="utf-8")
    report = run(data_file, output, pool, templates=templates)
    assert report.rendered == LIMIT
    assert "Version test." in (output / page_path(codes_of(site)[0])).read_text(encoding="utf-8")


def test_invalid_file_french_error_and_nothing_written(frame, tmp_path, capsys):
    bad = frame.copy()
    bad["valeur"] = bad["valeur"].astype(object)
    bad.loc[3, "valeur"] = "beaucoup"
    bad.loc[7, "indicateur"] = "indicateur_inconnu"
    path = tmp_path / "mauvais.csv"
    write_values_csv(bad, path)
    output = tmp_path / "site"
    assert cli.main(["national", "--donnees", str(path), "--sortie", str(output), "--silencieux"]) == cli.EXIT_INVALID
    err = capsys.readouterr().err
    assert "Données invalides" in err and "beaucoup" in err and "indicateur_inconnu" in err
    assert not output.exists()


def test_pages_are_self_contained(site):
    for path in [*site.rglob("*.html"), site / "style.css"]:
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "@import" not in text, path
        for target in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', text) + re.findall(r"url\(([^)]*)\)", text):
            assert not re.match(r"^(?:[a-z]+:)?//", target.strip("'\"")), (path, target)
            if not target.startswith(("#", "data:")):  # data: an image inlined by matplotlib
                assert (path.parent / target.split("#")[0]).exists(), (path, target)


def test_names_from_reference_are_escaped(data_file, pool, tmp_path):
    from observatoire.engine.reference import default_reference_directory

    directory = tmp_path / "reference"
    shutil.copytree(default_reference_directory(), directory)
    epci = pd.read_csv(directory / "epci.csv", dtype=str, keep_default_na=False)
    first = sorted(pd.read_csv(data_file, dtype=str)["territoire"].unique())[0]
    hostile = '<script>alert("x")</script> & <b>Cie</b> {{ 7*7 }}'
    epci.loc[epci["code"] == first, "nom"] = hostile
    epci.to_csv(directory / "epci.csv", index=False)
    output = tmp_path / "site"
    run(data_file, output, pool, limit=2, reference=load_reference(directory))
    for page in (page_path(first), "index.html", "classement.html"):
        text = (output / page).read_text(encoding="utf-8")
        assert "<script>" not in text and "<b>Cie</b>" not in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Cie&lt;/b&gt; {{ 7*7 }}" in text


def test_cli_national_on_a_demonstration_file(tmp_path, capsys):
    """A synthetic national file (benchmarks, tests) is made by ``observatoire demo``, never by
    ``national`` itself; its pages carry the banner."""
    from observatoire.report.demo import national_demo_values

    data = tmp_path / "demonstration-epci.csv"
    assert cli.main(["demo", "--niveau", "epci", "--sortie", str(data)]) == 0
    written = pd.read_csv(data, dtype={"territoire": str, "periode": str})
    expected = national_demo_values()
    assert written["territoire"].nunique() == len(load_reference().epci)
    assert (written["source"] == DEMO_SOURCE).all()
    assert (written["territoire"].to_numpy() == expected["territoire"].to_numpy()).all()
    np.testing.assert_array_equal(written["valeur"].to_numpy(), expected["valeur"].to_numpy())
    output = tmp_path / "site"
    capsys.readouterr()
    assert cli.main(["national", "--donnees", str(data), "--sortie", str(output), "--limite", "3", "--tirages", "50",
                     "--processus", "1", "--silencieux"]) == 0
    assert "3 EPCI : 3 page(s) rendue(s)" in capsys.readouterr().out
    pages = list((output / "territoires").glob("*.html"))
    assert len(pages) == 3
    assert all("DÉMONSTRATION — valeurs fictives" in p.read_text(encoding="utf-8") for p in pages)


def test_demo_cli_national_levels(frame, tmp_path, monkeypatch):
    import observatoire.report.demo

    asked = []

    def fake(catalogue, reference, level, seed):
        asked.append((level, seed))
        return frame

    monkeypatch.setattr(observatoire.report.demo, "national_demo_data", fake)
    path = tmp_path / "communes.csv"
    assert cli.main(["demo", "--niveau", "commune", "--sortie", str(path), "--graine", "7"]) == 0
    assert asked == [("commune", 7)]
    assert len(pd.read_csv(path)) == len(frame)


def test_by_default_every_territory_on_real_data_only(tmp_path):
    """Without a data file: the EPCI of the COG (not only those the data describe), on the
    pilots' public statistics; no banner of fictitious values, no score where nothing is filled."""
    from observatoire.engine.reference import load_reference
    from observatoire.national.site import run_national

    first = sorted(load_reference().epci["code"])[:3]
    report = run_national(None, "epci", tmp_path / "site", processes=1, limit=3, draws=10, progress=False)
    assert report.territories == 3
    for code in first:
        text = (tmp_path / "site" / "territoires" / f"{code}.html").read_text(encoding="utf-8")
        assert "DÉMONSTRATION" not in text and "valeurs fictives" not in text
        assert "observations.csv" in text
        assert "Indice global" not in text or "n.d." in text
