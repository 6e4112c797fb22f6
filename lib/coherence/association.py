"""Co-occurrence of domains: pairwise measures, frequent domain combinations, association rules.

Everything here runs on the *distinct* presence profiles with their numbers of
households (weights), never household by household: a country has millions of
households but at most ``2**g`` (in practice a few thousand) combinations of ``g``
domain groups. Counts are integers, so supports, confidences, lifts and the other rule
metrics are computed from exact integer numerators and denominators with a single
division each: the results equal the row-by-row computation exactly.

Three miners give identical frequent itemsets:

* ``"lattice"``: counts every itemset at once with a superset-sum (zeta) transform over
  the ``2**g`` subsets of the groups, ``g * 2**g`` additions; the fastest for up to about
  20 groups;
* ``"apriori"``: level-wise candidates (join and prune), each level counted on the
  distinct profiles in one vectorised pass;
* ``"eclat"``: depth-first intersection of the profiles' item columns.

Rules, pairs and itemsets are tidy tables with readable labels ("bijstand + wmo"), not
Python sets; the bit mask of every itemset is kept in a column for joins.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from lib.coherence.profiles import mask_labels, popcount, presence_masks

MINERS = ("lattice", "apriori", "eclat")
_LATTICE_MAX_ITEMS = 22          # 2**22 int64 counts = 32 MB
_CHUNK_CELLS = 1 << 22           # profiles x candidates per counting pass


_CHUNK_ROWS = 1 << 16            # rows per pass when counting masks (keeps the work in cache)


def _prepare(presence, sample_weight, item_names) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Distinct bit masks of the rows with their weights; item names; number of items."""
    if isinstance(presence, pd.DataFrame):
        names = list(item_names) if item_names is not None else [str(c) for c in presence.columns]
        # A frame of boolean columns is one block: this is a view, no copy.
        matrix = presence.to_numpy(dtype=bool)
    else:
        matrix = np.asarray(presence, dtype=bool)
        names = list(item_names) if item_names is not None else [f"item{j}" for j in range(matrix.shape[1])]
    if matrix.ndim != 2:
        raise ValueError("presence must be a 2-D boolean matrix (rows x items)")
    if len(names) != matrix.shape[1]:
        raise ValueError("item_names must name every column")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (len(matrix),):
            raise ValueError("sample_weight must have one weight per row")
        if (sample_weight < 0).any():
            raise ValueError("sample weights must be non-negative")
    n_items = matrix.shape[1]
    if n_items <= _LATTICE_MAX_ITEMS:
        distinct, weights = _count_small_masks(matrix, sample_weight)
    else:
        distinct, weights = _distinct_masks(presence_masks(matrix), sample_weight)
    return distinct, weights, names, n_items


def _count_small_masks(matrix: np.ndarray, sample_weight) -> tuple[np.ndarray, np.ndarray]:
    """Weight of every bit mask (bit j = column j) by a counting pass, in chunks of rows.

    Only a chunk's codes are ever in memory (16- or 32-bit), so the memory does not grow
    with the number of households.
    """
    n, n_items = matrix.shape
    kind = np.uint16 if n_items <= 16 else np.uint32
    integer = sample_weight is None or np.issubdtype(sample_weight.dtype, np.integer)
    totals = np.zeros(1 << n_items, dtype=np.float64 if not integer else np.int64)
    chunk = min(_CHUNK_ROWS, max(1, n))
    code_buffer = np.empty(chunk, dtype=kind)
    shifted_buffer = np.empty(chunk, dtype=kind)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        code, shifted = code_buffer[:stop - start], shifted_buffer[:stop - start]
        code[:] = 0
        for j in range(n_items):
            np.left_shift(matrix[start:stop, j].view(np.uint8), j, out=shifted, dtype=kind, casting="unsafe")
            np.bitwise_or(code, shifted, out=code)
        if sample_weight is None:
            totals += np.bincount(code, minlength=1 << n_items)
        else:
            counted = np.bincount(code, weights=sample_weight[start:stop], minlength=1 << n_items)
            # bincount adds in float64: exact for integer weights below 2**53.
            totals += np.rint(counted).astype(np.int64) if integer else counted
    distinct = np.flatnonzero(totals > 0).astype(np.int64)
    return distinct, totals[distinct]


def _distinct_masks(masks: np.ndarray, sample_weight) -> tuple[np.ndarray, np.ndarray]:
    """Distinct bit masks with their total weight, by sorting (many items)."""
    distinct, inverse = np.unique(masks, return_inverse=True)
    inverse = inverse.reshape(-1)
    if sample_weight is None:
        weights = np.bincount(inverse, minlength=len(distinct)).astype(np.int64)
    elif np.issubdtype(sample_weight.dtype, np.integer):
        weights = np.zeros(len(distinct), dtype=np.int64)
        np.add.at(weights, inverse, sample_weight.astype(np.int64))
    else:
        weights = np.bincount(inverse, weights=sample_weight.astype(np.float64), minlength=len(distinct))
    keep = weights > 0
    return distinct[keep], weights[keep]


def _bits(masks: np.ndarray, n_items: int) -> np.ndarray:
    return ((masks[:, None] >> np.arange(n_items, dtype=np.int64)) & 1).astype(bool)


def _lattice(masks, weights, n_items, min_count, max_len) -> tuple[np.ndarray, np.ndarray]:
    if n_items > _LATTICE_MAX_ITEMS:
        raise ValueError(f"the lattice miner handles at most {_LATTICE_MAX_ITEMS} items; use 'apriori' or 'eclat'")
    counts = np.zeros(1 << n_items, dtype=weights.dtype)
    counts[masks] = weights
    for j in range(n_items):
        # Superset sums: every set without item j gains the count of the same set with it.
        view = counts.reshape(-1, 2, 1 << j)
        view[:, 0, :] += view[:, 1, :]
    all_masks = np.arange(1 << n_items, dtype=np.int64)
    size = popcount(all_masks)
    keep = (counts >= min_count) & (size >= 1) & (size <= max_len)
    return all_masks[keep], counts[keep]


def _count_candidates(profile_masks, weights, candidates) -> np.ndarray:
    """Weighted number of profiles containing each candidate itemset."""
    out = np.zeros(len(candidates), dtype=weights.dtype)
    step = max(1, _CHUNK_CELLS // max(1, len(profile_masks)))
    for start in range(0, len(candidates), step):
        chunk = candidates[start:start + step]
        contains = (profile_masks[:, None] & chunk[None, :]) == chunk[None, :]
        out[start:start + step] = weights @ contains
    return out


def _apriori(masks, weights, n_items, min_count, max_len) -> tuple[np.ndarray, np.ndarray]:
    single = (np.int64(1) << np.arange(n_items, dtype=np.int64))
    counts = _count_candidates(masks, weights, single)
    level_masks, level_counts = single[counts >= min_count], counts[counts >= min_count]
    found_masks, found_counts = [level_masks], [level_counts]
    size = 1
    while len(level_masks) > 1 and size < max_len:
        # Join: two frequent k-sets sharing their k-1 smallest items give a (k+1)-candidate.
        items = np.sort(np.nonzero(_bits(level_masks, n_items))[1].reshape(len(level_masks), size), axis=1)
        prefix = level_masks & ~(np.int64(1) << items[:, -1])
        order = np.lexsort((items[:, -1], prefix))
        prefix, sorted_masks = prefix[order], level_masks[order]
        starts = np.flatnonzero(np.r_[True, prefix[1:] != prefix[:-1]])
        ends = np.r_[starts[1:], len(prefix)]
        candidates = []
        for s, e in zip(starts, ends):  # one loop per prefix class (few), pairs vectorised
            if e - s > 1:
                a, b = np.triu_indices(e - s, k=1)
                candidates.append(sorted_masks[s + a] | sorted_masks[s + b])
        if not candidates:
            break
        candidates = np.unique(np.concatenate(candidates))
        # Prune: every subset one item smaller must be frequent (downward closure).
        cand_items = np.nonzero(_bits(candidates, n_items))[1].reshape(len(candidates), size + 1)
        subsets = candidates[:, None] & ~(np.int64(1) << cand_items)
        candidates = candidates[np.isin(subsets, level_masks).all(axis=1)]
        counts = _count_candidates(masks, weights, candidates)
        frequent = counts >= min_count
        level_masks, level_counts = candidates[frequent], counts[frequent]
        found_masks.append(level_masks)
        found_counts.append(level_counts)
        size += 1
    return np.concatenate(found_masks), np.concatenate(found_counts)


def _eclat(masks, weights, n_items, min_count, max_len) -> tuple[np.ndarray, np.ndarray]:
    columns = _bits(masks, n_items)
    found_masks: list[int] = []
    found_counts: list = []

    def extend(prefix: int, depth: int, extensions: list[tuple[int, np.ndarray, object]]) -> None:
        for index, (item, rows, count) in enumerate(extensions):
            itemset = prefix | (1 << item)
            found_masks.append(itemset)
            found_counts.append(count)
            if depth + 1 >= max_len:
                continue
            deeper = []
            for other, other_rows, _ in extensions[index + 1:]:
                both = rows & other_rows
                both_count = weights[both].sum()
                if both_count >= min_count:
                    deeper.append((other, both, both_count))
            if deeper:
                extend(itemset, depth + 1, deeper)

    start = []
    for item in range(n_items):
        rows = columns[:, item]
        count = weights[rows].sum()
        if count >= min_count:
            start.append((item, rows, count))
    extend(0, 0, start)
    return np.array(found_masks, dtype=np.int64), np.array(found_counts, dtype=weights.dtype)


def _itemset_order(masks: np.ndarray, n_items: int) -> np.ndarray:
    """Order by size, then lexicographically by item positions (the order a reader expects)."""
    reversed_code = np.zeros(len(masks), dtype=np.int64)
    for j in range(n_items):
        reversed_code |= ((masks >> j) & 1) << (n_items - 1 - j)
    return np.lexsort((-reversed_code, popcount(masks)))


def _itemset_labels(masks: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Labels of itemsets ordered by size: each one its subset without the last item, plus that item.

    Every subset of a frequent itemset is frequent, so the shorter label is always known.
    """
    known: dict[int, str] = {}
    labels = np.empty(len(masks), dtype=object)
    for position, mask in enumerate(masks.tolist()):
        last = mask.bit_length() - 1
        rest = mask & ~(1 << last)
        label = names[last] if rest == 0 else (known.get(rest) or mask_labels(np.array([rest]), names)[0]) \
            + " + " + names[last]
        known[mask] = label
        labels[position] = label
    return labels


def frequent_itemsets(presence, sample_weight=None, *, min_count: float, max_len: int | None = None,
                      method: str = "auto", item_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Every combination of items present together in at least ``min_count`` rows.

    Parameters
    ----------
    presence : DataFrame or array of shape (n, d)
        Boolean presence of each item (domain group) per row (household) or per distinct
        profile (then give its number of households as ``sample_weight``).
    sample_weight : array of shape (n,), optional
        Number of households per row; integer weights keep every count exact.
    min_count : number
        Minimum support in households (not a fraction).
    max_len : int, optional
        Largest itemset size; default every size.
    method : {"auto", "lattice", "apriori", "eclat"}
        Miner; all give identical results. "auto" is "lattice" up to 20 items.
    item_names : sequence of str, optional
        Names of the items (default the DataFrame's columns).

    Returns
    -------
    DataFrame
        One row per frequent itemset, by size and then item order: ``itemset`` (label
        "a + b"), ``n_items``, ``count``, ``support`` (count / total weight), ``mask``
        (bit j = item j).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"a": [1, 1, 1, 0], "b": [1, 1, 0, 1], "c": [0, 1, 0, 0]}).astype(bool)
    >>> frequent_itemsets(data, min_count=2)[["itemset", "count", "support"]]
      itemset  count  support
    0       a      3     0.75
    1       b      3     0.75
    2   a + b      2     0.50
    """
    masks, weights, names, n_items = _prepare(presence, sample_weight, item_names)
    max_len = n_items if max_len is None else int(max_len)
    if method == "auto":
        method = "lattice" if n_items <= 20 else "apriori"
    if method not in MINERS:
        raise ValueError(f"method must be 'auto' or one of {MINERS}")
    miner = {"lattice": _lattice, "apriori": _apriori, "eclat": _eclat}[method]
    if n_items == 0 or max_len < 1:
        found, counts = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=weights.dtype)
    else:
        found, counts = miner(masks, weights, n_items, min_count, max_len)
    order = _itemset_order(found, n_items)
    found, counts = found[order], counts[order]
    total = weights.sum()
    return pd.DataFrame({
        "itemset": _itemset_labels(found, names),
        "n_items": popcount(found) if len(found) else np.zeros(0, dtype=np.int64),
        "count": counts,
        "support": counts / total if total else np.zeros(len(counts)),
        "mask": found,
    })


def rule_metrics(n_total, n_antecedent, n_consequent, n_rule) -> dict[str, np.ndarray]:
    """Rule metrics from counts, each as one division of exact integer products.

    Definitions (s = support as a fraction of ``n_total``): support s(AC), confidence
    s(AC)/s(A), lift conf/s(C), leverage s(AC) - s(A)s(C), conviction (1 - s(C)) / (1 - conf)
    (infinite when conf = 1), Zhang's metric leverage / max(s(AC)(1 - s(A)),
    s(A)(s(C) - s(AC))) (0 when that is 0), Jaccard s(AC) / (s(A) + s(C) - s(AC)),
    certainty (conf - s(C)) / (1 - s(C)) (0 when s(C) = 1), Kulczynski
    (conf(A->C) + conf(C->A)) / 2. These are mlxtend's definitions.
    """
    integer = all(np.issubdtype(np.asarray(x).dtype, np.integer) for x in
                  (n_total, n_antecedent, n_consequent, n_rule))
    kind = np.int64 if integer else np.float64
    n = np.asarray(n_total, dtype=kind)
    a = np.asarray(n_antecedent, dtype=kind)
    c = np.asarray(n_consequent, dtype=kind)
    ac = np.asarray(n_rule, dtype=kind)
    # Products of counts up to ~3e9 households stay below 2**63; each metric is one
    # correctly rounded division of two exact numbers.
    cross = n * ac - a * c
    zhang_den = np.maximum(ac * (n - a), a * (c - ac))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.float64
        out = {
            "support": ac.astype(f) / n,
            "confidence": ac.astype(f) / a,
            "lift": (n * ac).astype(f) / (a * c),
            "leverage": cross.astype(f) / (n * n),
            "conviction": np.where(a == ac, np.inf, ((n - c) * a).astype(f) / (n * (a - ac))),
            "zhangs_metric": np.where(zhang_den == 0, 0.0, cross.astype(f) / np.where(zhang_den == 0, 1, zhang_den)),
            "jaccard": ac.astype(f) / (a + c - ac),
            "certainty": np.where(n == c, 0.0, cross.astype(f) / np.where(n == c, 1, a * (n - c))),
            "kulczynski": (ac * (a + c)).astype(f) / (2 * a * c),
        }
    return out


def association_rules(itemsets: pd.DataFrame, n_total, *, item_names: Sequence[str],
                      min_confidence: float = 0.0, min_lift: float | None = None) -> pd.DataFrame:
    """Every rule A -> C from the frequent itemsets (A, C non-empty, disjoint, A u C frequent).

    Parameters
    ----------
    itemsets : DataFrame
        The output of :func:`frequent_itemsets` (all subsets of a frequent itemset are
        frequent, so every antecedent's and consequent's count is in it).
    n_total : int
        Number of households (the total weight the itemsets were mined on).
    item_names : sequence of str
        Names of the items, in bit order.
    min_confidence, min_lift : float
        Keep rules with at least this confidence (and lift).

    Returns
    -------
    DataFrame
        ``antecedent``, ``consequent`` (labels), ``n_items``, ``n_antecedent``,
        ``n_consequent``, ``n_rule``, ``n_total``, the metrics of :func:`rule_metrics`,
        ``antecedent_mask``, ``consequent_mask``.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"a": [1, 1, 1, 0], "b": [1, 1, 0, 1]}).astype(bool)
    >>> sets = frequent_itemsets(data, min_count=1)
    >>> association_rules(sets, 4, item_names=["a", "b"])[["antecedent", "consequent", "confidence", "lift"]]
      antecedent consequent  confidence      lift
    0          a          b    0.666667  0.888889
    1          b          a    0.666667  0.888889
    """
    masks = itemsets["mask"].to_numpy(dtype=np.int64)
    counts = itemsets["count"].to_numpy()
    n_items_all = len(item_names)
    order = np.argsort(masks)
    sorted_masks, sorted_counts = masks[order], counts[order]

    def count_of(query: np.ndarray) -> np.ndarray:
        position = np.searchsorted(sorted_masks, query)
        position = np.minimum(position, len(sorted_masks) - 1)
        if not (sorted_masks[position] == query).all():
            raise ValueError("an antecedent or consequent is missing from the itemsets (not all subsets given)")
        return sorted_counts[position]

    sizes = popcount(masks) if len(masks) else np.zeros(0, dtype=np.int64)
    parts = []
    for size in np.unique(sizes[sizes >= 2]):
        group = masks[sizes == size]
        items = np.nonzero(_bits(group, n_items_all))[1].reshape(len(group), size)
        # Every non-empty proper subset as antecedent: the binary patterns 1 .. 2**size - 2.
        patterns = ((np.arange(1, (1 << size) - 1)[:, None] >> np.arange(size)) & 1).astype(np.int64)
        antecedent = (patterns[None, :, :] << items[:, None, :]).sum(axis=2)
        itemset = np.repeat(group, len(patterns))
        antecedent = antecedent.reshape(-1)
        parts.append(pd.DataFrame({"itemset_mask": itemset, "antecedent_mask": antecedent,
                                   "consequent_mask": itemset ^ antecedent}))
    columns = ["antecedent", "consequent", "n_items", "n_antecedent", "n_consequent", "n_rule", "n_total",
               "support", "confidence", "lift", "leverage", "conviction", "zhangs_metric", "jaccard", "certainty",
               "kulczynski", "antecedent_mask", "consequent_mask"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("antecedent", "consequent") else float)
                             for c in columns})
    rules = pd.concat(parts, ignore_index=True)
    n_rule = count_of(rules["itemset_mask"].to_numpy())
    n_a = count_of(rules["antecedent_mask"].to_numpy())
    n_c = count_of(rules["consequent_mask"].to_numpy())
    n_total_arr = np.full(len(rules), n_total, dtype=np.asarray(n_rule).dtype)
    metrics = rule_metrics(n_total_arr, n_a, n_c, n_rule)
    rules["antecedent"] = mask_labels(rules["antecedent_mask"].to_numpy(), item_names)
    rules["consequent"] = mask_labels(rules["consequent_mask"].to_numpy(), item_names)
    rules["n_items"] = popcount(rules["itemset_mask"].to_numpy())
    rules["n_antecedent"], rules["n_consequent"], rules["n_rule"], rules["n_total"] = n_a, n_c, n_rule, n_total_arr
    for name, values in metrics.items():
        rules[name] = values
    keep = rules["confidence"].to_numpy() >= min_confidence
    if min_lift is not None:
        keep &= rules["lift"].to_numpy() >= min_lift
    rules = rules[keep]
    # Order: by itemset (as the itemsets are ordered), then antecedent size and items.
    rank = pd.Series(np.arange(len(masks)), index=masks)
    rules = rules.assign(_set=rank.reindex(rules["itemset_mask"]).to_numpy(),
                         _asize=popcount(rules["antecedent_mask"].to_numpy()))
    rev = np.zeros(len(rules), dtype=np.int64)
    am = rules["antecedent_mask"].to_numpy()
    for j in range(n_items_all):
        rev |= ((am >> j) & 1) << (n_items_all - 1 - j)
    rules = rules.assign(_arev=-rev).sort_values(["_set", "_asize", "_arev"], kind="mergesort")
    return rules[columns].reset_index(drop=True)


def pairwise_cooccurrence(presence, sample_weight=None, *, item_names: Sequence[str] | None = None,
                          confidence_level: float = 0.95) -> pd.DataFrame:
    """Co-occurrence of every pair of items (a, b), a before b in item order.

    Returns one row per pair with the 2x2 counts (``n_both``, ``n_a_only``, ``n_b_only``,
    ``n_neither``), ``n_a``, ``n_b``, ``n_total``, support, confidence a -> b and b -> a,
    lift, phi (Pearson correlation of the two indicators), the odds ratio and its Woolf
    (log) confidence interval. When a cell of the 2x2 table is 0, 0.5 is added to all four
    cells for the odds ratio and its interval (Haldane-Anscombe; ``haldane`` is True).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"a": [1, 1, 1, 0, 0], "b": [1, 1, 0, 1, 0]}).astype(bool)
    >>> pairwise_cooccurrence(data)[["a", "b", "n_both", "n_neither", "odds_ratio"]]
       a  b  n_both  n_neither  odds_ratio
    0  a  b       2          1         2.0
    """
    masks, weights, names, n_items = _prepare(presence, sample_weight, item_names)
    bits = _bits(masks, n_items).astype(weights.dtype)
    joint = bits.T @ (bits * weights[:, None])       # exact: integer weights, integer products
    n = weights.sum()
    a, b = np.triu_indices(n_items, k=1)
    n11 = joint[a, b]
    n_a, n_b = joint[a, a], joint[b, b]
    n10, n01 = n_a - n11, n_b - n11
    n00 = n - n_a - n_b + n11
    metrics = rule_metrics(np.full(len(a), n, dtype=n11.dtype), n_a, n_b, n11)
    f = np.float64
    with np.errstate(divide="ignore", invalid="ignore"):
        conf_ba = n11.astype(f) / n_b
        phi = (n11 * n00 - n10 * n01).astype(f) / np.sqrt(n_a.astype(f) * (n - n_a) * n_b.astype(f) * (n - n_b))
        zero = (np.stack([n11, n10, n01, n00]) == 0).any(axis=0)
        shift = np.where(zero, 0.5, 0.0)
        c11, c10, c01, c00 = (x.astype(f) + shift for x in (n11, n10, n01, n00))
        odds = (c11 * c00) / (c10 * c01)
        se = np.sqrt(1 / c11 + 1 / c10 + 1 / c01 + 1 / c00)
    z = norm.ppf(0.5 + confidence_level / 2)
    return pd.DataFrame({
        "a": np.asarray(names, dtype=object)[a], "b": np.asarray(names, dtype=object)[b],
        "n_total": np.full(len(a), n), "n_a": n_a, "n_b": n_b, "n_both": n11, "n_a_only": n10, "n_b_only": n01,
        "n_neither": n00, "support": metrics["support"], "confidence_a_b": metrics["confidence"],
        "confidence_b_a": conf_ba, "lift": metrics["lift"], "phi": phi, "odds_ratio": odds,
        "odds_ratio_low": np.exp(np.log(odds) - z * se), "odds_ratio_high": np.exp(np.log(odds) + z * se),
        "haldane": zero,
    })
