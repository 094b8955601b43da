"""Text columns of pandas' ``str`` dtype made from integer codes, and those codes found again.

Validation knows each text column of a data file as integer codes into its distinct texts;
scoring needs such codes again (territories and indicators in sorted order). Rather than hash
millions of strings a second time, the codes a column was built from are remembered here,
keyed by the column's Arrow data, which is immutable: a column edited since (pandas then gives
it new Arrow data), or built anywhere else, is not found and is factorised as usual. Either
way the codes are the same.
"""

from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

#: Codes marked at a time.
_BLOCK = 1 << 16
#: id of a column's Arrow data → (weak reference to that data, codes, texts).
_KNOWN: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray]] = {}


def text_array(texts: np.ndarray, codes: np.ndarray):
    """``texts[codes]`` as pandas' default string array (what a list of str would give),
    remembering ``codes`` for :func:`codes_of`. ``codes`` must not be changed afterwards."""
    if len(texts) == 1 and isinstance(texts[0], str):  # one text (a constant source, no comment)
        import pyarrow as pa

        array = pd.array(pa.repeat(pa.scalar(texts[0], pa.large_string()), len(codes)), dtype="str")
    else:
        array = pd.array(texts, dtype="str").take(codes)
    data = _arrow_data(array)
    if data is not None:
        key = id(data)
        _KNOWN[key] = (weakref.ref(data), codes, texts)
        weakref.finalize(data, _KNOWN.pop, key, None)
    return array


def text_arrays(columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """:func:`text_array` of each ``name → (texts, codes)``, made two at a time: Arrow gathers
    the strings without holding the GIL."""
    if len(columns) < 2:
        return {name: text_array(*c) for name, c in columns.items()}
    with ThreadPoolExecutor(max_workers=min(len(columns), os.cpu_count() or 1)) as pool:
        return dict(zip(columns, pool.map(lambda c: text_array(*c), columns.values())))


def codes_of(column) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, texts)`` with ``texts[codes]`` equal to ``column`` (a Series or a pandas array),
    when the column was made by :func:`text_array` and not changed since; else None."""
    data = _arrow_data(getattr(column, "array", column))
    entry = None if data is None else _KNOWN.get(id(data))
    if entry is None or entry[0]() is not data or len(entry[1]) != len(data):
        return None
    return entry[1], entry[2]


def factorize_sorted(column, rows: np.ndarray | None = None) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(column[rows], sort=True)`` (``rows``: a boolean mask, None for all), from
    the remembered codes of ``column`` when it has them. ``column`` may also be given as its
    ``(codes, texts)``, with ``texts[codes]`` the column (texts may repeat)."""
    known = column if isinstance(column, tuple) else codes_of(column)
    if known is None:
        return pd.factorize(column if rows is None else column[rows], sort=True)
    codes, texts = known
    if rows is not None:
        codes = codes[rows]
    used = np.zeros(len(texts), dtype=bool)
    for start in range(0, len(codes), _BLOCK):  # by blocks, as intp: twice as fast as the int32 codes at once
        used[codes[start:start + _BLOCK].astype(np.intp)] = True
    present = np.flatnonzero(used)
    # Texts may repeat (two raw codes repaired to one territory): merged here, as factorize does.
    ids, distinct = pd.factorize(pd.Index(texts[present], dtype="str"), sort=True)
    dtype = np.dtype("int32" if len(texts) < 2**31 else "intp")
    if len(present) == len(texts) and codes.dtype == dtype and (ids == np.arange(len(ids))).all():
        return codes, distinct  # the texts were distinct, sorted and all used: the codes are the same
    lookup = np.full(len(texts), -1, dtype=dtype)
    lookup[present] = ids
    return lookup[codes], distinct


def _arrow_data(array):
    if not isinstance(getattr(array, "dtype", None), pd.StringDtype):
        return None
    arrow = getattr(array, "__arrow_array__", None)
    return None if arrow is None else arrow()
