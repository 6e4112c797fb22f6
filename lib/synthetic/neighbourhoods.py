"""Wijk (district) and buurt (neighbourhood) codes of the synthetic address objects.

Every municipality of the spec gets 5 to 30 wijken (more for a larger municipality), each
with 2 to 8 buurten, of uneven size (Dirichlet weights). An address object lies in one buurt,
chosen from a hash of its global object number, so that the codes do not depend on how the
households were split into chunks, and no random stream of the rest of the generator is
touched (the structure is drawn from a Generator of its own, seeded from the spec's seed).

Codes as CBS writes the wijk and buurt codes of its area classification (Wijk- en
buurtkaart): the wijk code is the municipality code and two digits (``036301``), the buurt
code the wijk code and two digits (``03630104``), without the ``WK``/``BU`` prefixes of the
published statistics (what ``VSLGWBTAB`` holds is assumed, see ``lib.areas``). A municipality
that merges into another keeps its wijken and buurten, renumbered in the codes of the new
municipality from the merger year on (wijk numbers from 31 and from 61, so they do not collide).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lib.synthetic.spec import GeneratorSpec

# The structure's own random stream: the spec's seed with this constant ("WIJK").
STRUCTURE_SEED = 0x57494A4B
MERGED_WIJK_OFFSET = 30


@dataclass(frozen=True)
class Neighbourhoods:
    """Per municipality of the spec (by index): cumulative buurt weights, each buurt's wijk
    number and its number within the wijk."""
    cumulative: tuple[np.ndarray, ...]
    wijk_number: tuple[np.ndarray, ...]
    buurt_number: tuple[np.ndarray, ...]


@lru_cache(maxsize=8)
def neighbourhoods(seed: int, weights: tuple[float, ...]) -> Neighbourhoods:
    """The wijk and buurt structure of the municipalities with these ``weights`` (spec order)."""
    rng = np.random.default_rng([int(seed), STRUCTURE_SEED])
    largest = max(weights)
    cumulative, wijk_number, buurt_number = [], [], []
    for weight in weights:
        n_wijken = int(np.clip(round(5 + 25 * weight / largest), 5, 30))
        wijk_weight = rng.dirichlet(np.full(n_wijken, 1.5))
        per_wijk = rng.integers(2, 9, size=n_wijken)
        buurt_weight = np.concatenate([w * rng.dirichlet(np.full(k, 0.8)) for w, k in zip(wijk_weight, per_wijk)])
        cumulative.append(np.cumsum(buurt_weight) / buurt_weight.sum())
        wijk_number.append(np.repeat(np.arange(1, n_wijken + 1), per_wijk))
        buurt_number.append(np.concatenate([np.arange(1, k + 1) for k in per_wijk]))
    return Neighbourhoods(tuple(cumulative), tuple(wijk_number), tuple(buurt_number))


def _unit_hash(obj: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per object number (splitmix64 of the number and the seed)."""
    with np.errstate(over="ignore"):
        z = np.asarray(obj, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def buurt_index(spec: GeneratorSpec, obj: np.ndarray, muni: np.ndarray) -> np.ndarray:
    """Index of each object's buurt within its municipality (``muni``: index in the spec)."""
    structure = neighbourhoods(spec.seed, tuple(m.weight for m in spec.municipalities))
    u = _unit_hash(obj, spec.seed)
    muni = np.asarray(muni)
    out = np.zeros(u.size, dtype=np.int64)
    for m, cumulative in enumerate(structure.cumulative):       # a handful of municipalities
        rows = muni == m
        out[rows] = np.minimum(np.searchsorted(cumulative, u[rows], side="right"), cumulative.size - 1)
    return out


def area_codes(spec: GeneratorSpec, obj: np.ndarray, muni: np.ndarray, year: int) -> tuple[np.ndarray, np.ndarray]:
    """(wijk code, buurt code) of each object in the boundaries of ``year`` (text arrays)."""
    structure = neighbourhoods(spec.seed, tuple(m.weight for m in spec.municipalities))
    muni = np.asarray(muni)
    buurt = buurt_index(spec, obj, muni)
    wijk_text = np.empty(muni.size, dtype=object)
    buurt_text = np.empty(muni.size, dtype=object)
    for m, municipality in enumerate(spec.municipalities):
        rows = np.flatnonzero(muni == m)
        if not rows.size:
            continue
        merged = bool(municipality.merged_into and year >= municipality.merger_year)
        code = municipality.merged_into if merged else municipality.code
        # The merged municipalities keep their numbers apart in the new municipality (at most 30 wijken each).
        offset = MERGED_WIJK_OFFSET * _merge_rank(spec, m) if merged else 0
        wijk_no = structure.wijk_number[m][buurt[rows]] + offset
        buurt_no = structure.buurt_number[m][buurt[rows]]
        wijk_codes = np.char.add(code, np.char.zfill(wijk_no.astype(str), 2))
        wijk_text[rows] = wijk_codes
        buurt_text[rows] = np.char.add(wijk_codes, np.char.zfill(buurt_no.astype(str), 2))
    return wijk_text, buurt_text


def _merge_rank(spec: GeneratorSpec, m: int) -> int:
    """1 + the position of municipality ``m`` among those merging into the same municipality."""
    target = spec.municipalities[m].merged_into
    merging = [i for i, x in enumerate(spec.municipalities) if x.merged_into == target]
    return 1 + merging.index(m)
