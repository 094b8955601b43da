"""The scoring pipeline end to end on the fictional territories' data: hierarchy, missing data,
traceability."""

import numpy as np
import pandas as pd
import pytest

from observatoire.engine.catalogue import load_catalogue
from observatoire.errors import ValidationError
from observatoire.paths import DEMO_DATA
from observatoire.engine.load import read_table
from observatoire.engine.pipeline import Choices, compute_scores
from observatoire.engine.reference import load_reference
from observatoire.engine.validate import validate_data
from observatoire.engine.weights import Weights, load_weights


@pytest.fixture(scope="module")
def inputs():
    cat, ref = load_catalogue(), load_reference()
    data = validate_data(read_table(DEMO_DATA), cat, ref, demonstration=True)
    pop = pd.Series({c: ref.territory(c).population for c in data.values["territoire"].unique()})
    return data.values, cat, pop


def test_axis_is_mean_of_its_commun_cells_and_index_mean_of_axes(inputs):
    values, cat, pop = inputs
    s = compute_scores(values, cat, population=pop)
    meta = cat.indicators
    code = "FICTIF-PORT-LUMIERE"
    for axis in (1, 2, 3, 4):
        ids = meta.index[meta["axe"] == axis]
        cells = s.indicators.loc[code, ids].groupby(meta.loc[ids, "commun"]).mean()
        assert s.axes.loc[code, axis] == pytest.approx(cells.mean())
    assert s.index.loc[code] == pytest.approx(s.axes.loc[code].mean())
    commun = meta.index[meta["commun"] == "eau"]
    assert s.communs.loc[code, "eau"] == pytest.approx(s.indicators.loc[code, commun].mean())


def test_scores_bounded_and_every_step_logged(inputs):
    values, cat, pop = inputs
    s = compute_scores(values, cat, population=pop)
    for name in ("normalise", "communs", "axes", "indice"):
        d = s.datasets[name].to_numpy()
        assert np.nanmin(d) >= 0 and np.nanmax(d) <= 100
    steps = [entry["etape"] for entry in s.log]
    assert steps[0] == "instantane" and "normalisation" in steps and steps[-1] == "agregation"


def test_missing_indicators_are_flagged_and_thin_aggregates_withheld(inputs):
    values, cat, pop = inputs
    meta = cat.indicators
    water = set(meta.index[meta["commun"] == "eau"])
    # Port-Lumière without any water indicator, and without all but one of axis 4.
    axis4 = list(meta.index[meta["axe"] == 4])
    dropped = water | set(axis4[1:])
    thin = values[~((values["territoire"] == "FICTIF-PORT-LUMIERE") & values["indicateur"].isin(dropped))]
    s = compute_scores(thin, cat, population=pop)
    tidy = s.tidy()
    b = tidy[tidy["territoire"] == "FICTIF-PORT-LUMIERE"]
    assert (b[(b["niveau"] == "indicateur") & b["element"].isin(water)]["drapeau"] == "manquant").all()
    assert np.isnan(s.communs.loc["FICTIF-PORT-LUMIERE", "eau"])
    assert np.isnan(s.axes.loc["FICTIF-PORT-LUMIERE", 4])  # coverage of axis 4 below the 50 % threshold
    assert s.datasets["couverture_axes"].loc["FICTIF-PORT-LUMIERE", 4] < 0.5
    # The index still rests on 3 of 4 axes (coverage 0.75 ≥ 0.5), and says so.
    assert s.index.loc["FICTIF-PORT-LUMIERE"] == pytest.approx(s.axes.loc["FICTIF-PORT-LUMIERE", [1, 2, 3]].mean())
    assert s.datasets["couverture_indice"].loc["FICTIF-PORT-LUMIERE", "indice"] == pytest.approx(0.75)
    # Other territories are unaffected.
    assert not np.isnan(s.index.loc["FICTIF-BRUMEVAL"])


def test_tidy_output_has_one_row_per_territory_and_element(inputs):
    values, cat, pop = inputs
    tidy = compute_scores(values, cat, population=pop).tidy()
    n_terr = values["territoire"].nunique()
    per_level = tidy.groupby("niveau").size()
    assert per_level["indicateur"] == n_terr * len(cat.indicators)
    assert per_level["commun"] == n_terr * len(cat.communs)
    assert per_level["axe"] == n_terr * 4 and per_level["indice"] == n_terr
    assert not tidy.duplicated(["territoire", "niveau", "element"]).any()


def test_same_inputs_same_scores(inputs):
    values, cat, pop = inputs
    a = compute_scores(values, cat, population=pop).tidy()
    b = compute_scores(values.sample(frac=1, random_state=3), cat, population=pop).tidy()
    pd.testing.assert_frame_equal(a, b)


def test_explicit_weights_change_the_index_as_expected(inputs, tmp_path):
    values, cat, pop = inputs
    path = tmp_path / "poids.yml"
    path.write_text("axes:\n  1: 3\n", encoding="utf-8")
    known = {"indicateurs": set(cat.indicators.index), "communs": set(cat.communs.index), "axes": set(cat.axes.index)}
    w = load_weights(path, known)
    assert w == Weights(axes={1: 3.0})
    s = compute_scores(values, cat, Choices(weights=w), population=pop)
    a = s.axes.loc["FICTIF-PORT-LUMIERE"]
    assert s.index.loc["FICTIF-PORT-LUMIERE"] == pytest.approx((3 * a[1] + a[2] + a[3] + a[4]) / 6)


def test_bad_weights_file_lists_every_problem(inputs, tmp_path):
    _, cat, _ = inputs
    path = tmp_path / "poids.yml"
    path.write_text("axes:\n  9: 1\ncommuns:\n  eau: -2\nniveaux: {}\n", encoding="utf-8")
    known = {"indicateurs": set(cat.indicators.index), "communs": set(cat.communs.index), "axes": set(cat.axes.index)}
    with pytest.raises(ValidationError) as exc:
        load_weights(path, known)
    text = str(exc.value)
    assert "3 erreurs" in text and "élément inconnu" in text and "poids positif" in text and "niveau inconnu" in text


def test_geometric_aggregation_never_above_arithmetic(inputs):
    values, cat, pop = inputs
    ari = compute_scores(values, cat, population=pop)
    geo = compute_scores(values, cat, Choices(aggregation="geometric"), population=pop)
    assert (geo.communs.to_numpy() <= ari.communs.to_numpy() + 1e-9).all()


def test_group_median_imputation_is_flagged(inputs):
    values, cat, pop = inputs
    gone = values[~((values["territoire"] == "FICTIF-BRUMEVAL") & (values["indicateur"] == "eau_rendement_reseau"))]
    s = compute_scores(gone, cat, Choices(imputation="group_median"), population=pop)
    # The fictional territories form one group: Brumeval gets the median of the others' values.
    others = s.datasets["matrice"]["eau_rendement_reseau"].drop("FICTIF-BRUMEVAL")
    others = others[[c.startswith("FICTIF-") for c in others.index]]
    assert s.datasets["matrice"].loc["FICTIF-BRUMEVAL", "eau_rendement_reseau"] == pytest.approx(others.median())
    tidy = s.tidy()
    row = tidy[(tidy["territoire"] == "FICTIF-BRUMEVAL") & (tidy["element"] == "eau_rendement_reseau")]
    assert row["drapeau"].tolist() == ["impute"]
    assert (tidy["drapeau"] == "impute").sum() == 1
    assert any(e["etape"] == "imputation" and e["valeurs_imputees"] == 1 for e in s.log)
    # Without imputation it stays missing.
    plain = compute_scores(gone, cat, population=pop).tidy()
    assert plain[(plain["territoire"] == "FICTIF-BRUMEVAL") & (plain["element"] == "eau_rendement_reseau")]["drapeau"].tolist() == ["manquant"]


def test_impute_group_median_by_hand():
    from observatoire.engine.impute import impute_group_median

    wide = pd.DataFrame({"x": [1.0, 3.0, np.nan, np.nan]}, index=list("abcd"))
    groups = pd.Series({"a": "g", "b": "g", "c": "g", "d": "h"})
    filled, mask = impute_group_median(wide, groups)
    assert filled["x"].tolist()[:3] == [1.0, 3.0, 2.0] and np.isnan(filled.loc["d", "x"])
    assert mask["x"].tolist() == [False, False, True, False]


def test_imputed_value_is_shown_with_its_flag(inputs):
    values, cat, pop = inputs
    gone = values[~((values["territoire"] == "FICTIF-BRUMEVAL") & (values["indicateur"] == "eau_rendement_reseau"))]
    tidy = compute_scores(gone, cat, Choices(imputation="group_median"), population=pop).tidy()
    row = tidy[(tidy["territoire"] == "FICTIF-BRUMEVAL") & (tidy["element"] == "eau_rendement_reseau")].iloc[0]
    others = tidy[(tidy["territoire"] != "FICTIF-BRUMEVAL") & (tidy["element"] == "eau_rendement_reseau")]
    assert row["valeur"] == pytest.approx(others["valeur"].astype(float).median())
    assert row["couverture"] == 1.0 and row["drapeau"] == "impute"


def test_group_median_imputation_accepts_codes_that_are_not_territories(inputs):
    """Units of any kind: codes that are not French territory codes form their own group."""
    values, cat, pop = inputs
    others = values[values["territoire"].isin(["FICTIF-PORT-LUMIERE", "FICTIF-BRUMEVAL"])].copy()
    others["territoire"] = others["territoire"].map({"FICTIF-PORT-LUMIERE": "FIRME-A", "FICTIF-BRUMEVAL": "FIRME-B"})
    others = others[~((others["territoire"] == "FIRME-B") & (others["indicateur"] == "eau_rendement_reseau"))]
    population = pd.Series({"FIRME-A": pop["FICTIF-PORT-LUMIERE"], "FIRME-B": pop["FICTIF-BRUMEVAL"]})
    s = compute_scores(others, cat, Choices(imputation="group_median"), population=population)
    m = s.datasets["matrice"]
    assert m.loc["FIRME-B", "eau_rendement_reseau"] == m.loc["FIRME-A", "eau_rendement_reseau"]
    assert s.coin is not None and [e["etape"] for e in s.coin.log][-1] == "agregation"


def test_same_scores_whether_validation_codes_are_remembered_or_not(inputs):
    from observatoire.engine.textcolumns import codes_of

    values, cat, pop = inputs
    assert all(codes_of(values[c]) is not None for c in ("territoire", "indicateur", "periode"))
    plain = values.assign(**{c: pd.Series(values[c].tolist(), dtype="str", index=values.index)
                             for c in ("territoire", "indicateur", "periode")})
    assert codes_of(plain["territoire"]) is None  # factorised from the strings
    remembered, again = compute_scores(values, cat, population=pop), compute_scores(plain, cat, population=pop)
    assert remembered.index.notna().sum() > 0
    for name, frame in remembered.datasets.items():
        pd.testing.assert_frame_equal(frame, again.datasets[name], check_exact=True)


def test_a_validated_file_is_scored_from_its_codes_and_its_long_tables_made_when_read():
    """compute_scores takes the ValidatedData itself: it reads the codes, never builds the long
    table of strings, and makes « brut » and « instantane » only when they are read; every data
    set equals the one computed from the frame."""
    import pickle

    from observatoire.engine.scores import Later

    cat, ref = load_catalogue(), load_reference()
    data = validate_data(read_table(DEMO_DATA), cat, ref, demonstration=True)
    assert "values" not in vars(data)  # kept as codes so far
    pop = pd.Series({c: ref.territory(c).population for c in data.coded.texts["territoire"][0]})
    coded = compute_scores(data, cat, population=pop)
    assert "values" not in vars(data)
    assert all(isinstance(coded.datasets.entry(n), Later) for n in ("brut", "instantane"))
    from_frame = compute_scores(data.values, cat, population=pop)
    assert list(coded.datasets) == list(from_frame.datasets)
    for name in from_frame.datasets:
        pd.testing.assert_frame_equal(coded.datasets[name], from_frame.datasets[name], check_exact=True)
    assert coded.datasets["brut"] is data.values  # made once, from the same object
    assert coded.tidy().equals(from_frame.tidy())
    kept = pickle.loads(pickle.dumps(coded.covering(list(pop.index) + ["FICTIF-AUCUN"])))
    pd.testing.assert_frame_equal(kept.datasets["instantane"], from_frame.datasets["instantane"], check_exact=True)
    assert kept.index.index[-1] == "FICTIF-AUCUN" and np.isnan(kept.index.iloc[-1])
