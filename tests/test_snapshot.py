"""The value scored for each territory and indicator: the latest observation, the projection
closest to the horizon."""

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.snapshot import scoring_matrix
from observatoire.engine.textcolumns import text_array


def _values(rows, coded: bool) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["territoire", "indicateur", "periode", "valeur"])
    for column in ("territoire", "indicateur", "periode"):
        if coded:  # as validation makes them: codes remembered
            codes, texts = pd.factorize(frame[column].to_numpy(dtype=object))
            frame[column] = text_array(np.asarray(texts, dtype=object), codes)
        else:
            frame[column] = frame[column].astype("str")
    return frame


def test_latest_period_and_projection_closest_to_the_horizon():
    catalogue = load_catalogue()
    kinds = catalogue.indicators["periodicite"]
    yearly, projected = kinds.index[kinds == "annuelle"][0], kinds.index[kinds == "projection"][0]
    rows = [
        ("13055", yearly, "2021", 1.0), ("13055", yearly, "2023", 3.0), ("13055", yearly, "2022", 2.0),
        ("01004", projected, "2070", 70.0), ("01004", projected, "2030", 30.0), ("01004", projected, "2045", 45.0),
        ("01004", projected, "2055", 55.0),  # as far from 2050 as 2045: the earlier horizon wins
        ("01004", yearly, "2020", np.nan), ("01004", yearly, "2019", 19.0),  # a missing value is not scored
    ]
    for coded in (False, True):
        snap, wide = scoring_matrix(_values(rows, coded), catalogue, horizon=2050)
        assert snap[["territoire", "indicateur", "periode"]].values.tolist() == sorted([
            ["01004", projected, "2045"], ["01004", yearly, "2019"], ["13055", yearly, "2023"]])
        assert snap["territoire"].dtype == "str" and snap["periode"].dtype == "str"
        assert wide.index.tolist() == ["01004", "13055"]
        assert wide.at["13055", yearly] == 3.0 and wide.at["01004", projected] == 45.0
        assert wide.at["01004", yearly] == 19.0 and np.isnan(wide.at["13055", projected])


def test_rows_already_in_the_matrix_order_give_the_same_snapshot():
    """A file made from the template (territories in order, indicators in catalogue order, one
    period each) is read straight into the matrix: the same matrix and rows as in any order."""
    catalogue = load_catalogue()
    ids = list(catalogue.indicators.index)
    kinds = catalogue.indicators["periodicite"]
    period = {"annuelle": "2024", "mensuelle": "2025-06", "projection": "2050"}
    full = [(t, i, period[kinds[i]], float(k)) for t in ("01004", "13055", "33063") for k, i in enumerate(ids)]
    holes = [row for n, row in enumerate(full) if n % 7]  # some cells without a value
    for rows in (full, holes):
        for coded in (False, True):
            ordered = scoring_matrix(_values(rows, coded), catalogue)
            shuffled = scoring_matrix(_values(rows[::-1], coded), catalogue)
            pd.testing.assert_frame_equal(ordered[1], shuffled[1], check_exact=True)
            pd.testing.assert_frame_equal(ordered[0], shuffled[0], check_exact=True)
            pairs = ordered[0][["territoire", "indicateur"]].values.tolist()
            assert pairs == sorted([r[0], r[1]] for r in rows)  # the long table: sorted as strings
    assert scoring_matrix(_values(full, True), catalogue)[1].notna().all().all()
    from observatoire.engine.snapshot import Snapshot

    assert Snapshot(_values(full, True), catalogue)._flat is not None  # read straight into the matrix
    assert Snapshot(_values(full[::-1], True), catalogue)._flat is None
