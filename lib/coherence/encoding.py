"""Integer coding of categorical columns, shared by the k-modes and latent class estimators.

Each column's categories are its sorted distinct values; a value is coded by its
position. Small non-negative integer columns (booleans, 0/1 indicators, levels) are
coded with a counting pass instead of a sort, so coding millions of rows stays cheap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.coherence.profiles import DistinctProfiles, _compress, compress_profiles

_SMALL_INTEGER = 1 << 16


def _as_2d(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D array (rows x features), got shape {X.shape}")
    return X


def _small_int_column(column: np.ndarray) -> bool:
    if column.dtype == bool:
        return True
    return (np.issubdtype(column.dtype, np.integer) and len(column) > 0 and column.min() >= 0
            and column.max() < _SMALL_INTEGER)


def encode_fit(X) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integer codes of every column and the categories (sorted distinct values) per column."""
    X = _as_2d(X)
    codes = np.empty(X.shape, dtype=np.int64)
    categories = []
    for j in range(X.shape[1]):
        column = X[:, j]
        if _small_int_column(column):
            values = column.astype(np.int64)
            present = np.bincount(values) > 0
            cats = np.flatnonzero(present)
            codes[:, j] = (np.cumsum(present) - 1)[values]
            categories.append(cats.astype(column.dtype) if column.dtype != bool else cats.astype(bool))
        else:
            cats, inverse = np.unique(column, return_inverse=True)
            codes[:, j] = inverse.reshape(-1)
            categories.append(cats)
    return codes, categories


def compress_rows(X, sample_weight=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``X`` in their original values, with weights and the inverse index.

    Rows are ordered lexicographically by value (first column most significant), as
    ``compress_profiles`` orders codes, so coding the distinct rows afterwards gives the
    same profiles as coding first. Boolean matrices are packed to bits (one pass, no
    per-column work); small non-negative integers are combined into one mixed-radix code;
    other values are coded per column first.
    """
    X = _as_2d(X)
    n, d = X.shape
    if X.dtype == bool and 0 < d <= 62:
        packed = np.packbits(X, axis=1, bitorder="big")          # (n, ceil(d / 8)) bytes
        code = np.zeros(n, dtype=np.int64)
        for byte in range(packed.shape[1]):
            code = (code << 8) | packed[:, byte]
        space = 1 << (8 * packed.shape[1])
        if space <= max(1 << 22, 4 * n):
            present = np.bincount(code, minlength=space) > 0
            distinct_code = np.flatnonzero(present)
            inverse = (np.cumsum(present) - 1)[code]
        else:
            distinct_code, inverse = np.unique(code, return_inverse=True)
            inverse = inverse.reshape(-1)
        shift = 8 * packed.shape[1] - 1 - np.arange(d)
        raw = ((distinct_code[:, None] >> shift[None, :]) & 1).astype(bool)
        weights = (np.bincount(inverse, minlength=len(raw)).astype(np.int64) if sample_weight is None else
                   np.bincount(inverse, weights=np.asarray(sample_weight, dtype=np.float64), minlength=len(raw)))
        return raw, weights, np.asarray(inverse, dtype=np.int64)
    if d and n and np.issubdtype(X.dtype, np.integer):
        low, high = X.min(), X.max()        # whole-array reductions: one fast pass each
        if low >= 0 and high <= 1 and X.dtype.itemsize == 1:
            # 0/1 bytes are booleans: pack them to bits like a boolean matrix.
            raw, weights, inverse = compress_rows(X.view(bool), sample_weight)
            return raw.astype(X.dtype), weights, inverse
        if low >= 0 and high < _SMALL_INTEGER:
            radix = np.full(d, int(high) + 1, dtype=np.int64)
            if float(high + 1) ** d > 2.0 ** 22:
                # A tighter code space per column (column by column: faster than axis=0).
                radix = np.array([int(X[:, j].max()) + 1 for j in range(d)], dtype=np.int64)
            weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
            distinct = _compress(X, radix, weight)
            return distinct.profiles.astype(X.dtype), distinct.weights, distinct.inverse
    codes, categories = encode_fit(X)
    distinct = compress_profiles(codes, sample_weight, [len(c) for c in categories])
    return decode(distinct.profiles, categories), distinct.weights, distinct.inverse


def encode_distinct(X, sample_weight=None) -> tuple[DistinctProfiles, list[np.ndarray]]:
    """Compress ``X`` to distinct rows, then code them: the profiles and each column's categories.

    Categories are the values that occur in rows of positive weight.
    """
    raw, weights, inverse = compress_rows(X, sample_weight)
    used = raw[weights > 0]
    categories = [np.unique(used[:, j]) for j in range(raw.shape[1])]
    codes = encode(raw, categories)
    return DistinctProfiles(profiles=codes, weights=weights, inverse=inverse,
                            n_categories=np.array([len(c) for c in categories], dtype=np.int64)), categories


def encode(X, categories: list[np.ndarray]) -> np.ndarray:
    """Codes of ``X`` in fitted categories; a value not seen in fitting gets -1."""
    X = _as_2d(X)
    if X.shape[1] != len(categories):
        raise ValueError(f"X has {X.shape[1]} features, the estimator was fitted on {len(categories)}")
    codes = np.empty(X.shape, dtype=np.int64)
    for j, cats in enumerate(categories):
        column = X[:, j]
        if len(cats) == 0:
            codes[:, j] = -1
            continue
        try:
            position = np.searchsorted(cats, column)
        except TypeError:   # values not comparable with the categories: all unknown
            codes[:, j] = -1
            continue
        position = np.minimum(position, len(cats) - 1)
        codes[:, j] = np.where(cats[position] == column, position, -1)
    return codes


def decode(codes: np.ndarray, categories: list[np.ndarray]) -> np.ndarray:
    """Values of codes (as in ``encode_fit``); one common dtype when possible."""
    columns = [cats[codes[:, j]] for j, cats in enumerate(categories)]
    if not columns:
        return np.zeros((len(codes), 0))
    try:
        return np.column_stack(columns)
    except (TypeError, ValueError):
        out = np.empty((len(codes), len(columns)), dtype=object)
        for j, column in enumerate(columns):
            out[:, j] = column
        return out


def one_hot(codes: np.ndarray, width: int) -> np.ndarray:
    """(n, d * width) float matrix with a 1 at ``j * width + codes[:, j]``; code -1 gives no 1."""
    n, d = codes.shape
    out = np.zeros((n, d * width), dtype=np.float64)
    rows, cols = np.nonzero(codes >= 0)
    out[rows, cols * width + codes[rows, cols]] = 1.0
    return out
