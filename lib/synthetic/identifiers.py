"""Pseudonyms and BSNs for synthetic persons, households and addresses.

Each identifier is a bijection of the generator's own integer id (an affine map modulo
the identifier's range), so identifiers are unique across chunks without any global
bookkeeping and reproducible from the seed.
"""
from __future__ import annotations

import numpy as np

_RIN_MOD = 10**9
_HH_MOD = 10**12
_BSN_SLOTS = 9 * 10**7
_BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3], dtype=np.int64)


def zero_padded(numbers, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded text of ``width`` characters."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.size == 0:
        return np.zeros(numbers.shape, dtype=f"U{width}")
    return np.char.zfill(numbers.astype(f"U{width}"), width)


def _affine(x, multiplier: int, offset: int, modulus: int) -> np.ndarray:
    # multiplier is coprime with the modulus (not divisible by 2, 3 or 5), so the map is a bijection.
    return (np.asarray(x, dtype=np.int64) * multiplier + offset) % modulus


def _offset(seed: int, salt: int, modulus: int) -> int:
    return int(np.random.default_rng([seed, salt]).integers(0, modulus))


def rinpersoon(person_global, seed: int) -> np.ndarray:
    """9-digit RINPERSOON pseudonyms (zero-padded text)."""
    return zero_padded(_affine(person_global, 7_919_083, _offset(seed, 1, _RIN_MOD), _RIN_MOD), 9)


def rinpersoon_int(person_global, seed: int) -> np.ndarray:
    """The same pseudonyms as integers (as some CBS files store them)."""
    return _affine(person_global, 7_919_083, _offset(seed, 1, _RIN_MOD), _RIN_MOD)


def huishoudnr(hh_global, seed: int) -> np.ndarray:
    """12-digit household numbers (zero-padded text)."""
    return zero_padded(_affine(hh_global, 999_331, _offset(seed, 2, _HH_MOD), _HH_MOD), 12)


def rinobjectnummer(obj_global, seed: int) -> np.ndarray:
    """Address object pseudonyms (12 digits, zero-padded text)."""
    return zero_padded(_affine(obj_global, 1_000_003, _offset(seed, 3, _HH_MOD), _HH_MOD), 12)


def locatiecode(obj_global, municipality_code: str, seed: int) -> np.ndarray:
    """Municipal location codes: the municipality code and 10 digits."""
    digits = zero_padded(_affine(obj_global, 1_299_709, _offset(seed, 4, 10**10), 10**10), 10)
    return np.char.add(municipality_code, digits)


def eleven_test(numbers) -> np.ndarray:
    """True where a 9-digit number passes the BSN eleven-test (9d1 + ... + 2d8 - d9 = 0 mod 11)."""
    n = np.asarray(numbers, dtype=np.int64)
    digits = (n[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1])
    return ((digits * weights).sum(axis=1) % 11 == 0) & (n > 0) & (n < 10**9)


def bsn(dense_index, seed: int) -> np.ndarray:
    """Synthetic BSNs that pass the eleven-test, unique for dense indices below 9e7.

    Of the ten possible 8th digits of a 7-digit prefix, nine or ten give a valid check
    digit, so every (prefix, slot 0..8) pair is one valid number.
    """
    j = _affine(dense_index, 7_777_777, _offset(seed, 5, _BSN_SLOTS), _BSN_SLOTS)
    prefix, slot = j // 9, j % 9
    digits = (prefix[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    s7 = (digits * _BSN_WEIGHTS).sum(axis=1)
    d8 = np.arange(10)
    check = (s7[:, None] + 2 * d8[None, :]) % 11
    valid = check <= 9
    rank = np.cumsum(valid, axis=1) - 1
    chosen = np.argmax(valid & (rank == slot[:, None]), axis=1)
    d9 = check[np.arange(j.size), chosen]
    return prefix * 100 + chosen * 10 + d9


def invalid_bsn(rng: np.random.Generator, n: int) -> np.ndarray:
    """9-digit numbers that fail the eleven-test (for planted bad rows).

    One random number in eleven passes the test, so draw until enough fail."""
    found = np.zeros(0, dtype=np.int64)
    while found.size < n:
        draw = rng.integers(10**8, 10**9, 2 * n + 16)
        found = np.concatenate([found, draw[~eleven_test(draw)]])
    return found[:n]
