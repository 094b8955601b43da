"""French formatting of glued values, and their round trip through myst-nb's glue."""

import pytest
from IPython.lib.pretty import pretty
from myst_nb.core.variables import format_plain_text

from observatoire.text import escape_markdown, fr_int, fr_number


def test_french_numbers():
    assert fr_number(12345.678) == "12\u202f345,7"
    assert fr_number(float("nan")) == "n.d."
    assert fr_int(267991) == "267\u202f991"
    assert fr_number(-0.04, 2) == "-0,04"


@pytest.mark.parametrize("value", [fr_number(79.6), fr_int(267991), "L'Haÿ-les-Roses", 'Saint-"Quote"',
                                   "<script>alert(1)</script>", "[1, 2]", "{glue}`x` $\\frac{a}{b}$", "x" * 200])
def test_glued_strings_come_back_exactly(value):
    # IPython makes text/plain; myst-nb literal_evals it back when pasting into the prose.
    assert format_plain_text(pretty(value), "s") == value


def test_escape_markdown_neutralises_syntax():
    assert escape_markdown("# *a* [b](c) `d` $e$ {f}") == r"\# \*a\* \[b\]\(c\) \`d\` \$e\$ \{f\}"
    assert escape_markdown("Ville de\nBordeaux") == "Ville de Bordeaux"


# ---- The one French formatter ----------------------------------------------------------------

import datetime as dt  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from observatoire.text import MINUS, NO_BREAK_SPACE, fr_date, fr_month, fr_percent, fr_plain, fr_value  # noqa: E402


def test_missing_values_of_every_kind_read_nd():
    for missing in (None, float("nan"), np.nan, pd.NA, np.float64("nan")):
        assert fr_number(missing) == "n.d." and fr_plain(missing) == "n.d." and fr_value(missing) == "n.d."
    assert fr_int(None) == "n.d." and fr_percent(None) == "n.d."


def test_numbers_of_numpy_and_negative_zero():
    assert fr_number(np.float64(1234.56), 1) == "1\u202f234,6"
    assert fr_int(np.int64(1000000)) == "1\u202f000\u202f000"
    assert fr_number(-0.004, 2) == "0,00"  # not « -0,00 »
    assert fr_number(-3.5, 1, typographic_minus=True) == f"{MINUS}3,5"
    assert fr_number(float("inf")) == "∞"


def test_plain_numbers_keep_only_their_decimals():
    assert [fr_plain(x) for x in (0.5, 100, 1234.5, 0.125, 1e6, 0.1 + 0.2)] == \
        ["0,5", "100", "1\u202f234,5", "0,125", "1\u202f000\u202f000", "0,3"]
    assert fr_plain(-50, typographic_minus=True) == f"{MINUS}50"
    assert fr_plain(-0.5) == fr_value(-0.5) == "-0,5"  # one implementation


def test_percentages_dates_and_months():
    assert fr_percent(0.953) == f"95,3{NO_BREAK_SPACE}%"
    assert fr_percent(0.953, space=" ") == "95,3 %"
    assert fr_date(dt.date(2026, 3, 1)) == "1er mars 2026" and fr_date(dt.date(2026, 12, 25)) == "25 décembre 2026"
    assert fr_month("2025-01") == "janvier 2025" and fr_month("2025-01", short=True) == "janv. 2025"
    assert fr_month(pd.Timestamp("2025-07-01"), short=True) == "juil. 2025"
    assert fr_month(dt.date(2025, 2, 1)) == "février 2025"
    assert fr_month("2050") == "2050" and fr_month("2025-13") == "2025-13"  # not a month: as it is
