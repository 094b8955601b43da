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
