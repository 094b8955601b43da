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
