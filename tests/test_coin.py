"""The public API: a Coin on any framework and any units, its log, conventions, export,
uncertainty and Sobol sensitivity; and an engine that imports without the book."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from observatoire.engine import Coin, read_framework, sobol_indices
from observatoire.engine.sensitivity import FrameworkModel
from observatoire.errors import ValidationError

FRAMEWORK = pd.DataFrame([
    {"code": "co2", "parent": "climat", "direction": -1, "poids": 2},
    {"code": "eau", "parent": "climat", "direction": -1},
    {"code": "parite", "parent": "social", "direction": 1},
    {"code": "salaire", "parent": "social", "direction": 1},
    {"code": "climat", "parent": "indice", "direction": ""},
    {"code": "social", "parent": "indice", "direction": "", "poids": 3},
    {"code": "indice", "parent": "", "direction": ""},
])


@pytest.fixture()
def firms():
    """Six fictional firms (synthetic values), one missing value."""
    data = pd.DataFrame({"co2": [120.0, 80.0, 40.0, 200.0, 95.0, 60.0], "eau": [3.0, 2.5, 1.0, 4.0, np.nan, 2.0],
                         "parite": [0.3, 0.5, 0.45, 0.2, 0.5, 0.6], "salaire": [30.0, 35.0, 32.0, 28.0, 40.0, 33.0]},
                        index=pd.Index([f"FIRME-{i}" for i in "ABCDEF"], name="entreprise"))
    return read_framework(FRAMEWORK), data


def test_minmax_and_weighted_means_by_hand(firms):
    fw, data = firms
    coin = Coin(fw, data).normalise("minmax").aggregate()
    n = coin.datasets["normalise"]
    assert n.loc["FIRME-C", "co2"] == 100.0 and n.loc["FIRME-D", "co2"] == 0.0  # less is better
    climat = (2 * n["co2"] + n["eau"]) / 3
    assert coin.level(2).loc["FIRME-A", "climat"] == pytest.approx(climat["FIRME-A"])
    # FIRME-E lacks eau: co2 alone (weight 2 of 3 ≥ 0.5) carries climat.
    assert coin.level(2).loc["FIRME-E", "climat"] == pytest.approx(n.loc["FIRME-E", "co2"])
    assert coin.datasets["couverture"].loc["FIRME-E", "climat"] == pytest.approx(2 / 3)
    index = (coin.level(2)["climat"] + 3 * coin.level(2)["social"]) / 4
    np.testing.assert_allclose(coin.scores().to_numpy(), index.to_numpy())
    assert coin.results()["rang"].tolist() == sorted(coin.results()["rang"].tolist())


def test_coverage_by_count_and_by_weight_decide_differently(firms):
    fw, data = firms
    data = data.copy()
    data.loc["FIRME-A", "co2"] = np.nan  # climat keeps eau: 1 child of 2, weight 1 of 3
    by_weight = Coin(fw, data).normalise("minmax").aggregate(min_coverage=0.5)
    by_count = Coin(fw, data).normalise("minmax").aggregate(min_coverage=0.5, coverage_by="count")
    assert np.isnan(by_weight.level(2).loc["FIRME-A", "climat"])
    assert by_count.level(2).loc["FIRME-A", "climat"] == by_count.datasets["normalise"].loc["FIRME-A", "eau"]


def test_zscore_and_rank_conventions():
    from observatoire.engine.normalise import normalise_rank, normalise_zscore

    x = [2.0, 4.0, 6.0, 30.0]
    coinr = normalise_zscore(x, 1, mean=0.0, sd=1.0, clip=None)
    assert coinr == pytest.approx((np.array(x) - np.mean(x)) / np.std(x, ddof=1))
    assert normalise_zscore(x, 1).max() <= 100 and normalise_zscore(x, 1)[0] == pytest.approx(50 + 10 * coinr[0])
    ties = [10.0, 20.0, 20.0, 30.0]
    assert normalise_rank(ties, 1).tolist() == pytest.approx([0.0, 50.0, 50.0, 100.0])  # average
    assert normalise_rank(ties, 1, "min").tolist() == pytest.approx([0.0, 100 / 3, 100 / 3, 100.0])  # COINr n_prank
    with pytest.raises(ValueError, match="règle d'égalité"):
        normalise_rank(ties, 1, "dense")


def test_floor_option_of_the_geometric_mean(firms):
    fw, data = firms
    data.loc["FIRME-D", "eau"] = 1.0  # best on eau, still worst on co2
    shifted = Coin(fw, data).normalise("minmax").aggregate("geometric")
    raw = Coin(fw, data).normalise("minmax").aggregate("geometric", floor=None)
    # FIRME-D is worst on co2 (score 0): without the shift its climat is 0, with it above 0.
    assert raw.level(2).loc["FIRME-D", "climat"] == 0.0 and shifted.level(2).loc["FIRME-D", "climat"] > 0


def test_per_node_overrides_and_log(firms):
    fw, data = firms
    table = FRAMEWORK.assign(normalisation="", agregation="")
    table.loc[2, "normalisation"] = "rank"
    table.loc[4, "agregation"] = "geometric"
    coin = Coin(read_framework(table), data).normalise("minmax").aggregate()
    assert coin.datasets["normalise"]["parite"].min() == 0.0
    steps = coin.choices()
    assert [s["etape"] for s in steps] == ["normalisation", "agregation"]
    assert steps[0]["parametres"]["propres"] == {"parite": "rank"}
    assert steps[1]["parametres"]["propres"]["climat"]["methode"] == "geometric"


def test_the_log_regenerates_every_data_set_exactly(firms):
    fw, data = firms
    groups = pd.Series({"FIRME-A": "g1", "FIRME-B": "g1", "FIRME-C": "g1", "FIRME-D": "g2", "FIRME-E": "g2", "FIRME-F": "g2"})
    coin = (Coin(fw, data, groups=groups).impute("group_median")
            .normalise("zscore", zscore_mean=0, zscore_sd=1, zscore_clip=None)
            .aggregate("generalised", power=0.3, weights={"social": 1}, coverage_by="count"))
    again = coin.regenerate()
    assert again.log == coin.log
    for name in coin.datasets:
        pd.testing.assert_frame_equal(again.datasets[name], coin.datasets[name])
    json.dumps(coin.choices())  # the log is plain JSON


def test_rerunning_a_step_drops_the_later_ones(firms):
    fw, data = firms
    coin = Coin(fw, data).normalise("minmax").aggregate()
    coin.normalise("rank")
    assert "agrege" not in coin.datasets and [e["etape"] for e in coin.log] == ["normalisation"]
    with pytest.raises(ValueError, match="agréger avant"):
        coin.scores()


def test_bad_data_is_refused_in_french(firms):
    fw, data = firms
    with pytest.raises(ValidationError, match="absent"):
        Coin(fw, data.drop(columns=["eau"]))
    twice = pd.concat([data, data.iloc[:1]])
    with pytest.raises(ValidationError, match="unité en double"):
        Coin(fw, twice)
    text = data.astype(object)
    text.loc["FIRME-A", "co2"] = "beaucoup"
    with pytest.raises(ValidationError, match="nombre attendu"):
        Coin(fw, text)
    with pytest.raises(ValidationError, match="bornes requises"):
        Coin(fw, data).normalise("goalposts")
    with pytest.raises(ValidationError, match="nœud inconnu"):
        Coin(fw, data).normalise("minmax").aggregate(weights={"inconnu": 1})


def test_export_is_tidy_and_reproducible(firms, tmp_path):
    fw, data = firms
    coin = Coin(fw, data).normalise("minmax").aggregate()
    a = coin.export(tmp_path / "a")
    b = coin.regenerate().export(tmp_path / "b")
    for key in ("csv", "parquet", "cadre", "datapackage"):
        assert a[key].read_bytes() == b[key].read_bytes()
    results = pd.read_csv(a["csv"], dtype={"unite": str})
    assert len(results) == 6 * 7 and set(results["drapeau"].dropna()) == {"manquant"}
    assert pd.read_parquet(a["parquet"])["score"].tolist() == pytest.approx(results["score"].tolist(), nan_ok=True)
    package = json.loads(a["datapackage"].read_text(encoding="utf-8"))
    assert package["observatoire:journal"] == coin.choices()


def test_vectorised_model_reproduces_the_coin(firms):
    fw, data = firms
    for method, agg, p in (("minmax", "arithmetic", 0.5), ("rank", "geometric", 0.5), ("zscore", "generalised", 0.4)):
        coin = Coin(fw, data).normalise(method).aggregate(agg, power=p, weights={"co2": 0.5})
        model = FrameworkModel(coin)
        np.testing.assert_allclose(model.score(method, agg, p), coin.datasets["agrege"][list(model.aggregates)].to_numpy(),
                                   rtol=1e-12, equal_nan=True)


def test_monte_carlo_intervals_contain_the_reference_and_are_reproducible(firms):
    fw, data = firms
    coin = Coin(fw, data).normalise("minmax").aggregate()
    u = coin.uncertainty(n_draws=300, seed=3)
    again = coin.uncertainty(n_draws=300, seed=3)
    np.testing.assert_array_equal(u.scores, again.scores)
    iv = u.intervals()
    assert len(iv) == 6 * 3 and (iv["q05"] <= iv["q95"]).all()
    assert set(u.draws["normalisation"]) == {"minmax", "zscore", "rank"}  # no goalposts in this framework
    ranks = u.rank_intervals()
    assert ((ranks["q05"] >= 1) & (ranks["q95"] <= 6)).all()


def test_sobol_estimator_on_the_ishigami_function():
    """Ishigami (a = 7, b = 0.1): S = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437)."""
    def ishigami(u):
        x = -np.pi + 2 * np.pi * u
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])

    first, total = sobol_indices(ishigami, 3, 20_000, np.random.default_rng(1))
    np.testing.assert_allclose(first, [0.3139, 0.4424, 0.0], atol=0.03)
    np.testing.assert_allclose(total, [0.5576, 0.4424, 0.2437], atol=0.03)


def test_sobol_of_a_coin(firms):
    fw, data = firms
    coin = Coin(fw, data).normalise("minmax").aggregate()
    s = coin.sensitivity(n=128, seed=5, aggregations=("arithmetic", "geometric"))
    assert list(s.first_order.columns) == ["normalisation", "agregation", "poids"]
    summary = s.summary()
    assert (summary["total"] >= summary["premier_ordre"] - 0.1).all()
    # Only the weights are uncertain: they carry the whole variance.
    only = coin.sensitivity(n=128, seed=5, normalisations=("minmax",), aggregations=("arithmetic",))
    assert list(only.total.columns) == ["poids"]
    assert only.total["poids"].mean() == pytest.approx(1.0, abs=0.15)


def test_engine_imports_without_the_book():
    code = ("import sys, time; t = time.perf_counter(); import observatoire.engine as e; e.Coin; "
            "import observatoire.engine.pipeline, observatoire.engine.sensitivity, observatoire.engine.export; "
            "bad = [m for m in ('jupyter_book', 'papermill', 'voila', 'nbclient', 'sphinx', 'ipywidgets', "
            "'matplotlib', 'seaborn', 'myst_nb') if m in sys.modules]; print(bad); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "[]", out
    bare = subprocess.run([sys.executable, "-X", "importtime", "-c", "import observatoire.engine"],
                          capture_output=True, text=True, check=True).stderr
    assert "pandas" not in bare  # the package itself loads nothing heavy until a name is used
