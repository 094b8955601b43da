"""Text columns made from codes, and their codes found again by scoring."""

import numpy as np
import pandas as pd

from observatoire.engine.textcolumns import codes_of, factorize_sorted, text_array


def test_text_array_is_the_str_column_and_keeps_its_codes():
    texts = np.array(["b", "a", "b", "c"], dtype=object)  # "b" twice: two raw texts read alike
    codes = np.array([0, 1, 2, 0, 1], dtype="intp")
    column = pd.Series(text_array(texts, codes))
    expected = pd.Series(["b", "a", "b", "b", "a"], dtype="str")
    assert column.equals(expected) and column.dtype == expected.dtype
    found_codes, found_texts = codes_of(column)
    assert found_texts[found_codes].tolist() == ["b", "a", "b", "b", "a"]
    frame = pd.DataFrame({"t": column, "v": [1.0, np.nan, 2.0, 3.0, 4.0]})
    assert codes_of(frame[["t", "v"]]["t"]) is not None  # the same data, in another frame


def test_sorted_factorisation_from_codes_equals_pandas():
    texts = np.array(["b", "a", "b", "c", "z"], dtype=object)  # "z" unused, "b" twice
    column = pd.Series(text_array(texts, np.array([0, 1, 2, 0, 1, 3], dtype="intp")))
    plain = pd.Series(column.tolist(), dtype="str")
    assert codes_of(plain) is None
    for rows in (None, np.array([True, False, True, True, False, False])):
        codes, uniques = factorize_sorted(column, rows)
        want_codes, want_uniques = pd.factorize(plain if rows is None else plain[rows], sort=True)
        assert codes.tolist() == want_codes.tolist()
        assert uniques.equals(want_uniques) and uniques.dtype == want_uniques.dtype
    assert factorize_sorted(column)[1].tolist() == ["a", "b", "c"]


def test_codes_of_sorted_distinct_texts_are_given_back_as_they_are():
    """Texts distinct, sorted and all used (a file's communes in code order): the codes are
    already the sorted ones and are given back without a look-up; otherwise they are mapped."""
    texts = np.array(["01001", "01002", "75056"], dtype=object)
    codes = np.array([0, 0, 1, 2, 2], dtype="int32")
    found, uniques = factorize_sorted((codes, texts))
    assert found is codes and uniques.tolist() == texts.tolist()
    found, uniques = factorize_sorted((codes, texts[::-1].copy()))
    assert found.tolist() == [2, 2, 1, 0, 0] and uniques.tolist() == ["01001", "01002", "75056"]
    found, _ = factorize_sorted((codes[:2], texts))  # "01002" and "75056" unused
    assert found.tolist() == [0, 0]


def test_an_edited_column_is_factorised_again():
    column = pd.Series(text_array(np.array(["x", "y"], dtype=object), np.array([0, 1, 0], dtype="intp")))
    edited = column.copy()
    edited.iloc[0] = "a"
    assert codes_of(edited) is None
    codes, uniques = factorize_sorted(edited)
    assert codes.tolist() == [0, 2, 1] and uniques.tolist() == ["a", "x", "y"]
    assert codes_of(column) is not None and factorize_sorted(column)[1].tolist() == ["x", "y"]


def test_snapshot_rows_are_made_from_codes_or_taken_alike():
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.snapshot import Snapshot

    catalogue = load_catalogue()
    indicator = catalogue.indicators.index[0]
    texts = np.array(["13055", "01004"], dtype=object)
    frame = pd.DataFrame({"territoire": text_array(texts, np.array([0, 1, 0], dtype="intp")),
                          "indicateur": [indicator] * 3, "periode": ["2024", "2024", "2023"],
                          "valeur": [1.0, 2.0, np.nan]})
    expected = frame.take([1, 0]).reset_index(drop=True)  # sorted by territory; NaN not scored
    made = Snapshot(frame, catalogue).frame
    pd.testing.assert_frame_equal(made, expected, check_exact=True)
    assert made["territoire"].tolist() == ["01004", "13055"]
    assert codes_of(made["territoire"]) is not None  # made from codes
    as_objects = frame.astype({"territoire": object})  # not str: taken as it is
    made = Snapshot(as_objects, catalogue).frame
    pd.testing.assert_frame_equal(made, as_objects.take([1, 0]).reset_index(drop=True), check_exact=True)
    assert made["territoire"].dtype == object


def test_a_column_of_one_text_is_the_same_column():
    for text in ("Données de test", ""):
        codes = np.zeros(4, dtype="intp")
        made = pd.Series(text_array(np.array([text], dtype=object), codes))
        expected = pd.Series([text] * 4, dtype="str")
        assert made.equals(expected) and made.dtype == expected.dtype and made.tolist() == [text] * 4
        assert codes_of(made) is not None and factorize_sorted(made)[1].tolist() == [text]
    empty = pd.Series(text_array(np.array(["x"], dtype=object), np.zeros(0, dtype="intp")))
    assert empty.equals(pd.Series([], dtype="str"))
