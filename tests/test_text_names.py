"""« de » before a territory's name (elision, contraction, articles), values with the decimals
they were given, and months in words: the French of observatoire.text (issue #19)."""

import pytest

from observatoire.engine.reference import load_reference
from observatoire.text import fr_month, fr_plain, of_name


@pytest.mark.parametrize("name,expected", [
    ("Ambérieu-en-Bugey", "d'Ambérieu-en-Bugey"), ("Orléans", "d'Orléans"), ("Yerres", "d'Yerres"),
    ("Bordeaux", "de Bordeaux"), ("Le Havre", "du Havre"), ("Les Mureaux", "des Mureaux"),
    ("La Rochelle", "de La Rochelle"), ("L'Haÿ-les-Roses", "de L'Haÿ-les-Roses"), ("Haguenau", "de Haguenau"),
    ("Œuilly", "d'Œuilly"),
])
def test_communes(name, expected):
    assert of_name(name, "commune") == expected


@pytest.mark.parametrize("name,level,expected", [
    ("CC des Pyrénées audoises", "epci", "de la CC des Pyrénées audoises"),
    ("Métropole de Lyon", "epci", "de la Métropole de Lyon"),
    ("Eurométropole de Strasbourg", "epci", "de l'Eurométropole de Strasbourg"),
    ("Orléans Métropole", "epci", "d'Orléans Métropole"),
    ("Ain", "departement", "de l'Ain"), ("Hérault", "departement", "de l'Hérault"),
    ("Rhône", "departement", "du Rhône"), ("Landes", "departement", "des Landes"),
    ("Gironde", "departement", "de la Gironde"), ("Haute-Garonne", "departement", "de la Haute-Garonne"),
    ("Paris", "departement", "de Paris"), ("La Réunion", "departement", "de La Réunion"),
    ("Île-de-France", "region", "de l'Île-de-France"), ("Grand Est", "region", "du Grand Est"),
    ("Hauts-de-France", "region", "des Hauts-de-France"), ("Corse", "region", "de la Corse"),
    ("France", "france", "de la France"),
])
def test_other_levels(name, level, expected):
    assert of_name(name, level) == expected


def test_every_departement_and_region_of_the_reference_gets_a_preposition():
    ref = load_reference()
    for table, level in ((ref.departements, "departement"), (ref.regions, "region")):
        for name in table["nom"]:
            text = of_name(name, level)
            assert text.endswith(name) and text.split(name)[0] in ("de ", "du ", "des ", "de la ", "de l'")


@pytest.mark.parametrize("x,expected", [(1.694, "1,694"), (81.5, "81,5"), (12345, "12\u202f345"),
                                        (12345.678, "12\u202f345,678"), (0.1 + 0.2, "0,3"), (-0.5, "-0,5"),
                                        (2.0, "2"), (float("nan"), "n.d."), (None, "n.d.")])
def test_values_keep_their_decimals(x, expected):
    """The chapter's tables show a value with the decimals the file gives (fr_plain)."""
    assert fr_plain(x) == expected


def test_months_in_words():
    assert fr_month("2025-03", short=False) == "mars 2025" and fr_month("2024-12", short=False) == "décembre 2024"
