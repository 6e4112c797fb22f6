"""Benchmark of the coherence analyses against mlxtend, kmodes 0.12.2 and stepmix.

    python benchmarks/bench_coherence.py                  # everything (sections 1-2 alone: 11 minutes)
    python benchmarks/bench_coherence.py --skip-slow      # without the slow reference runs
    python benchmarks/bench_coherence.py --sections itemsets kmodes --sizes 100000 all

The comparison packages are development-only (requirements-dev.txt lists them as a
comment); ``lib/`` never imports them. Data: the synthetic 1,000,000-household set in
``bench_data/data_1000000`` (generated when missing), run up to the cube for the whole
country (area NL) into ``bench_data/coherence_nl``. The CBS route has 11 cost domains; a
12th, debt help (``schuldhulp``, only in the municipal route), is taken from the truth
file's debt-help costs and attributed to the same households, so the profiles have the
12 binary domains the issue's reference figures were measured on. ``--sizes`` samples
households from that set (100,000 and all 1,024,904 by default) for sections 1 and 2.

Every measurement runs in a fresh process: wall time (best of 3 for the fast methods),
and peak memory of the call measured with ``tracemalloc`` in a separate run (numpy and
pandas allocations are traced). Printed, each with the reference measured in the same run:

1. frequent itemsets (min support 100 households, no length limit) against mlxtend's
   apriori, fpgrowth and hmine, run the way a careful user runs them: mlxtend takes no
   weights, so it gets the households as a DataFrame of bool columns, dense and sparse
   (``pd.SparseDtype(bool, False)``, which mlxtend 0.25 supports); the distinct profiles
   repeated by their household counts are the same rows (only sorted), so nothing is gained
   there (measured once, with mlxtend's fastest). Identical itemsets and supports; time and
   memory ratios against mlxtend's fastest. At 1M also the association rules: metrics to
   rtol 1e-12;
2. k-modes against kmodes 0.12.2 on the same distinct binary profiles with their household
   counts as ``sample_weight`` (``np.unique(axis=0, return_counts=True)``, timed apart):
   Huang with 5 initialisations and Cao with 1, 8 clusters; the cost over all households,
   asserted equal to a direct count of mismatches on the rows for both libraries; time and
   ratio. kmodes 0.12.2's ``init_huang`` and ``init_cao`` do not use ``sample_weight`` (they
   draw from and weigh the distinct profiles as if each were one household), which is why
   its cost on profiles differs from its cost on rows. At 100,000 households (not with
   ``--skip-slow``) also kmodes on the rows, the naive user's reference. Then "where the
   gain comes from": our k-modes with its parts switched on one by one (the estimator has no
   switches, so the benchmark calls its internal functions; nothing in ``lib/`` changes):
   (a) on the rows without compression, weighted-random starts, Lloyd iteration only;
   (b) the same on the weighted distinct profiles; (c) Huang's starts on the weights
   instead; (d) ``KModes.fit``, which adds the single-profile moves. Part (a) is stopped
   after 15 minutes;
3. the latent class model against stepmix (binary measurement, the same number of starts
   and classes) on households with at least one domain: log-likelihood (at least
   stepmix's) and time ratio;
4. recovery of the planted household types (adjusted Rand index, 6 types) on the
   households with at least one domain of the 1M set;
5. the whole coherence step for 8.2 million households: the 1M cube resampled with
   replacement to 8.2M households (stated in the output), in a fresh process;
6. the number of types (households with at least one domain of the 1M set): the number of
   latent classes chosen by BIC for seeds 1-5 with random starts only (the former fit) and
   with the starts split from one class fewer (the bundle's), the k-modes number by the
   former elbow and by the gain rule for several ranges, the stability under resampling of
   the households at the chosen numbers, and the time of each choice.

Measured on 5 December 2026 (sections 1 and 2, one run per size, on 2 cores shared with other
work at load average 3 to 5: single figures vary by a factor up to 2):

- itemsets: 100,000 households (553 itemsets) ours 0.001 s, mlxtend's fastest (hmine, dense)
  0.020 s, apriori 0.47 s dense and 0.29 s sparse; 1,024,904 households (1,959 itemsets) ours
  0.011 s in 0.8 MB, hmine 0.17 s dense and 1.0 s sparse, fpgrowth 1.9 / 1.8 s, apriori 10.6 s
  in 3.5 GB dense and 20 s in 1.7 GB sparse (6.7 s in a quieter trial run). Identical
  itemsets and supports in every form; the 102,218 rules match to rtol 1e-12.
- k-modes, Huang x5, 8 clusters: 100,000 households (258 profiles) kmodes on the profiles
  0.11 s plus 0.23 s for np.unique, cost 12,836; kmodes on the rows 60.7 s, cost 11,111 (issue 21
  reports 244 s); ours on the rows 0.010 s, cost 8,936.
  1,024,904 households (463 profiles): kmodes 0.28 s plus 3.4 s for np.unique, cost 134,726;
  ours 0.036 s on the rows (0.012 s on the profiles), cost 87,751. Cao x1: kmodes cost
  23,440 and 240,737, ours 9,851 and 91,554.
- where the gain comes from (100,000 / 1,024,904 households; seconds, cost):
  (a) rows, no compression 37.1 s, 14,553 / 270 s, 148,693 (1 to 4 distinct starting modes
  of 8: most households have no domain); (b) weighted profiles 0.003 s, 9,730 / 0.050 s,
  102,277; (c) our starts 0.008 s, 9,847 / 0.057 s, 98,194; (d) local search 0.015 s, 8,936 /
  0.079 s, 87,751. The time is gained by the compression (a to b, four orders of magnitude,
  and it is cheap: bits packed and counted, where np.unique(axis=0) takes seconds) and by
  numpy against kmodes' loop per row (fit on the same profiles 24x faster at 1M); the cost
  by the local search (9 to 11% lower than Lloyd alone) and, at 1M, the weighted starts (4%).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench_data" / "data_1000000"
WORK = ROOT / "bench_data" / "coherence_nl"
NATIONAL = ROOT / "bench_data" / "coherence_8m"
MIN_SUPPORT = 100
PARTS_TIMEOUT = 900      # seconds for our k-modes on rows without compression (part (a))
N_TYPES = 6


# ----------------------------------------------------------------------------- data

def prepare() -> Path:
    """The 1M cube for the whole country plus debt help: ``profiles.npz`` (cached)."""
    import numpy as np
    import pandas as pd
    target = WORK / "profiles.npz"
    if target.is_file():
        return target
    if not (DATA / "config.toml").is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo_data.py"), "--out", str(DATA),
                        "--households", "1000000", "--seed", "1"], check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    config_path = WORK / "config.toml"
    text = (DATA / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'area = \[[^\]]*\]', 'area = ["NL"]', text)
    text = text.replace('= "cbs/', f'= "{(DATA / "cbs").as_posix()}/')
    config_path.write_text(text, encoding="utf-8")
    if not (WORK / "work" / "05_cube" / "step.json").is_file():
        from lib.config import load_config
        from lib.pipeline import run_steps
        run_steps(load_config(config_path), ["inventory", "read_sources", "price", "households", "cube"])
    cube = pd.read_parquet(WORK / "work" / "05_cube" / "households.parquet")
    households = pd.read_parquet(WORK / "work" / "04_households" / "households.parquet",
                                 columns=["household", "huishoudnr"])
    members = pd.read_parquet(WORK / "work" / "04_households" / "members.parquet", columns=["person", "household"])
    persons = pd.read_parquet(WORK / "work" / "02_read_sources" / "persons.parquet", columns=["person", "key"])
    truth = pd.read_csv(DATA / "truth" / "costs_person_year.csv", usecols=["rinpersoon", "source", "cost_nominal"],
                        dtype={"rinpersoon": np.int64})
    debt = truth[truth["source"] == "kredietbank"].groupby("rinpersoon")["cost_nominal"].sum()
    debt = persons.merge(debt.rename("debt"), left_on="key", right_index=True).merge(members, on="person")
    debt = debt.groupby("household")["debt"].sum()
    cube["cost_schuldhulp"] = debt.reindex(cube["household"]).fillna(0.0).to_numpy()
    cube["cost_total"] = cube["cost_total"] + cube["cost_schuldhulp"]
    domains = sorted(c[5:] for c in cube.columns if c.startswith("cost_") and c != "cost_total")
    planted = pd.read_csv(DATA / "truth" / "households.csv", usecols=["huishoudnr", "problem_type"],
                          dtype={"huishoudnr": str})
    planted["huishoudnr"] = planted["huishoudnr"].astype(np.int64)
    kind = households.merge(planted, on="huishoudnr", how="left").set_index("household")["problem_type"]
    presence = np.column_stack([cube[f"cost_{d}"].to_numpy() > 0 for d in domains])
    np.savez_compressed(target, presence=presence, domains=np.array(domains),
                        planted=kind.reindex(cube["household"]).fillna("onbekend").to_numpy().astype(str))
    cube.to_parquet(WORK / "cube_12_domains.parquet", index=False)
    return target


def load(n: int | None = None, with_domain: bool = False, seed: int = 0):
    import numpy as np
    data = np.load(WORK / "profiles.npz")
    presence = data["presence"]
    if with_domain:
        presence = presence[presence.any(axis=1)]
    if n is not None and n < len(presence):
        presence = presence[np.sort(np.random.default_rng(seed).choice(len(presence), n, replace=False))]
    return presence, [str(d) for d in data["domains"]]


# ------------------------------------------------------------------ child processes

def child(task: str, timeout: float | None = None, **kwargs) -> dict:
    """Run one measurement in a fresh Python process; return its JSON result.

    With ``timeout`` (seconds) a run that takes longer is stopped and ``{"timed_out": timeout}``
    returned, so one slow reference does not hold up the benchmark.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--kwargs", json.dumps(kwargs)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timed_out": timeout}
    if done.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(call, repeats: int, traced: bool = True) -> dict:
    """Best wall time over ``repeats`` calls, then the peak traced memory of one more call."""
    import tracemalloc
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    peak = None
    if traced:
        tracemalloc.start()
        call()
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return {"seconds": min(times), "peak_mb": peak, "result": result}


def task_itemsets(method: str, repeats: int, n: int | None = None, form: str = "dense") -> dict:
    """Frequent itemsets of ``n`` households (all when None).

    ``form`` is how mlxtend gets the households: ``"dense"`` the one-hot DataFrame of bool
    columns, ``"sparse"`` the same as a sparse DataFrame (``pd.SparseDtype(bool, False)``,
    which mlxtend 0.25 converts to a scipy matrix), ``"repeated"`` the distinct profiles
    repeated by their household counts (mlxtend takes no weights: that is the rows again,
    only sorted). Ours always gets the dense frame.
    """
    import numpy as np
    import pandas as pd
    presence, domains = load(n)
    frame = pd.DataFrame(presence, columns=domains)
    n_rows = len(frame)
    if form == "sparse":
        frame = frame.astype(pd.SparseDtype(bool, False))
    elif form == "repeated":
        profiles, counts = np.unique(presence, axis=0, return_counts=True)
        frame = pd.DataFrame(np.repeat(profiles, counts, axis=0), columns=domains)
    if method.startswith("mlxtend_"):
        from mlxtend import frequent_patterns as fp
        miner = getattr(fp, method[len("mlxtend_"):])

        def call():
            return miner(frame, min_support=MIN_SUPPORT / n_rows, use_colnames=True)
    else:
        from lib.coherence.association import frequent_itemsets

        def call():
            return frequent_itemsets(frame, min_count=MIN_SUPPORT, method=method)
    out = measure(call, repeats)
    table = out.pop("result")
    if method.startswith("mlxtend_"):
        keys = [" + ".join(d for d in domains if d in s) for s in table["itemsets"]]
        supports = table["support"].to_numpy()
    else:
        keys, supports = table["itemset"].tolist(), table["support"].to_numpy()
    out["itemsets"] = dict(zip(keys, map(float, supports)))
    out["n_rows"] = n_rows
    return out


def task_rules() -> dict:
    """Rule metrics of ours and mlxtend's on the same itemsets; deviations, and ours against exact fractions."""
    from fractions import Fraction

    import numpy as np
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules as mlx_rules
    from mlxtend.frequent_patterns import fpgrowth

    from lib.coherence.association import association_rules, frequent_itemsets
    presence, domains = load()
    frame = pd.DataFrame(presence, columns=domains)
    n = len(frame)
    ours = association_rules(frequent_itemsets(frame, min_count=MIN_SUPPORT), n, item_names=domains)
    theirs = mlx_rules(fpgrowth(frame, min_support=MIN_SUPPORT / n, use_colnames=True), num_itemsets=n,
                       metric="confidence", min_threshold=0.0)
    def label(items) -> str:
        return " + ".join(d for d in domains if d in items)

    theirs = theirs.assign(antecedent=theirs["antecedents"].map(label), consequent=theirs["consequents"].map(label))
    both = ours.merge(theirs, on=["antecedent", "consequent"], suffixes=("", "_mlxtend"))
    out = {"rules_ours": len(ours), "rules_mlxtend": len(theirs), "rules_matched": len(both)}
    for metric in ("support", "confidence", "lift", "leverage", "conviction", "zhangs_metric", "jaccard",
                   "certainty", "kulczynski"):
        a, b = both[metric].to_numpy(), both[f"{metric}_mlxtend"].to_numpy()
        finite = np.isfinite(a) & np.isfinite(b)
        relative = np.abs(a[finite] - b[finite]) / np.maximum(np.abs(b[finite]), 1e-300)
        out[metric] = {"max_rel_diff": float(relative.max(initial=0.0)),
                       "within_rtol_1e-12": bool(np.allclose(a[finite], b[finite], rtol=1e-12, atol=0)),
                       "same_infinite": bool(np.array_equal(~np.isfinite(a), ~np.isfinite(b)))}
    # Ours against exact rational arithmetic on a sample of rules (cancellation-prone metrics).
    sample = both.sample(min(400, len(both)), random_state=0)
    wrong = 0
    for r in sample.itertuples():
        a_, c_, ac_ = Fraction(int(r.n_antecedent)), Fraction(int(r.n_consequent)), Fraction(int(r.n_rule))
        lev = ac_ / n - (a_ / n) * (c_ / n)
        den = max(ac_ / n * (1 - a_ / n), a_ / n * (c_ / n - ac_ / n))
        wrong += float(lev) != r.leverage
        wrong += float(Fraction(0) if den == 0 else lev / den) != r.zhangs_metric
    out["ours_exact_sampled_rules"] = len(sample)
    out["ours_not_correctly_rounded"] = int(wrong)
    return out


def row_costs(X, centroids, row_labels) -> tuple[int, int]:
    """Mismatches of every household with its cluster's mode, counted directly on the rows.

    A plain second computation, independent of both libraries: the sum over households of
    the mismatches with the mode of the cluster each is labelled with, and with its nearest
    mode. Both must equal the weighted cost a library reports on the distinct profiles.
    """
    import numpy as np
    mismatches = np.column_stack([(X != np.asarray(c, dtype=X.dtype)[None, :]).sum(axis=1) for c in centroids])
    labelled = int(mismatches[np.arange(len(X)), np.asarray(row_labels, dtype=np.int64)].sum())
    return labelled, int(mismatches.min(axis=1).sum())


def task_kmodes(library: str, init: str, n_init: int, n: int | None, k: int, form: str) -> dict:
    """kmodes 0.12.2 or ours on ``n`` households, as ``form``:

    ``"profiles"`` the careful way: the distinct profiles and their household counts by
    ``np.unique(axis=0, return_counts=True)`` (timed apart), then ``fit(profiles,
    sample_weight=counts)``; ``"rows"`` one row per household (ours compresses internally,
    kmodes loops over every row). The cost is checked against a direct count on the rows.
    """
    import numpy as np
    presence, _ = load(n)
    X = presence.astype("int8")
    if library == "kmodes":
        from kmodes.kmodes import KModes as Reference
        model = Reference(n_clusters=k, init=init.capitalize(), n_init=n_init, random_state=0, n_jobs=1)
    else:
        from lib.coherence.kmodes import KModes
        model = KModes(n_clusters=k, init=init, n_init=n_init, random_state=0)
    repeats = 1 if (library == "kmodes" and form == "rows") else 3
    out = {"n_rows": len(X), "compress_seconds": 0.0}
    if form == "profiles":
        compressed = measure(lambda: np.unique(X, axis=0, return_counts=True, return_inverse=True), 3,
                             traced=False)
        profiles, inverse, counts = compressed.pop("result")
        out["compress_seconds"] = compressed["seconds"]
        # kmodes 0.12.2 accepts only Python int or float weights (numpy integers are refused).
        weights = counts.tolist() if library == "kmodes" else counts
        fitted = measure(lambda: model.fit(profiles, sample_weight=weights), repeats, traced=False)
        row_labels = np.asarray(model.labels_)[inverse.reshape(-1)]
        out["n_profiles"] = len(profiles)
    else:
        fitted = measure(lambda: model.fit(X), repeats, traced=False)
        row_labels = np.asarray(model.labels_)
        out["n_profiles"] = int(len(np.unique(X, axis=0)))
    out["seconds"] = fitted["seconds"]
    out["cost"] = float(model.cost_)
    labelled, nearest = row_costs(X, model.cluster_centroids_, row_labels)
    if not labelled == nearest == model.cost_:
        raise AssertionError(f"{library} {form}: reported cost {model.cost_} but on the rows {labelled} "
                             f"(labels) / {nearest} (nearest mode)")
    out["row_cost"] = labelled
    out["centroids"] = np.asarray(model.cluster_centroids_).astype(int).tolist()
    return out


def task_kmodes_parts(part: str, n: int | None, k: int, n_init: int, repeats: int) -> dict:
    """One line of "where the gain comes from": our k-modes with components switched on one by one.

    ``lib/coherence/kmodes.py`` has no parameters to switch compression or the local search
    off, so (a)-(c) call its internal functions (the same ones ``KModes.fit`` runs, nothing
    changed): (a) the rows coded without compression (``encode_fit``), every household a
    profile of weight 1, weighted-random starting modes and Lloyd iteration only; (b) the
    same on the distinct profiles with household counts (``encode_distinct``); (c) Huang's
    starting modes on the weighted profiles instead, Lloyd only (the same starts as (d),
    drawn from the same random stream); (d) ``KModes.fit`` on the rows: (c) plus the
    single-profile moves. The restart with the lowest cost is kept, as in ``fit``.
    """
    import numpy as np

    from lib.coherence import kmodes as ours
    from lib.coherence.encoding import encode_distinct, encode_fit
    presence, _ = load(n)
    X = presence.astype("int8")

    distinct_starts: list[int] = []

    def lloyd_only(problem, init: str):
        rng = np.random.default_rng(0)
        best = None
        distinct_starts.clear()
        for _ in range(n_init):
            start = ours.init_random(problem, k, rng) if init == "random" else ours.init_huang(problem, k, rng)
            distinct_starts.append(int(len(np.unique(start, axis=0))))
            labels, modes, _ = ours._lloyd(problem, problem.assign(start), k, 100)
            cost = ours._cost(problem.frequencies(labels, k))
            if best is None or cost < best[0]:
                best = (cost, modes)
        return best

    def rows_uncompressed():
        codes, categories = encode_fit(X)
        problem = ours._Problem(codes, np.ones(len(codes)), np.array([len(c) for c in categories]))
        cost, modes = lloyd_only(problem, "random")
        return cost, [c[modes[:, j]] for j, c in enumerate(categories)]

    def profiles(init: str):
        def call():
            distinct, categories = encode_distinct(X)
            problem = ours._Problem(distinct.profiles, distinct.weights, distinct.n_categories)
            cost, modes = lloyd_only(problem, init)
            return cost, [c[modes[:, j]] for j, c in enumerate(categories)]
        return call

    def full():
        model = ours.KModes(k, init="huang", n_init=n_init, random_state=0).fit(X)
        return model.cost_, [model.cluster_centroids_[:, j] for j in range(X.shape[1])]

    call = {"a": rows_uncompressed, "b": profiles("random"), "c": profiles("huang"), "d": full}[part]
    out = measure(call, repeats, traced=False)
    cost, columns = out.pop("result")
    centroids = np.column_stack(columns)
    _, nearest = row_costs(X, centroids, np.zeros(len(X), dtype=np.int64))
    if nearest != cost:
        raise AssertionError(f"part {part}: cost {cost} but {nearest} on the rows")
    # Starting modes per restart that differ (on rows, drawn rows are mostly the same profile).
    out.update(cost=float(cost), n_rows=len(X), distinct_starts=list(distinct_starts))
    return out


def task_lca(library: str, n: int, k: int, n_init: int) -> dict:
    presence, _ = load(n, with_domain=True, seed=1)
    X = presence.astype("float64")
    if library == "stepmix":
        from stepmix.stepmix import StepMix
        model = StepMix(n_components=k, measurement="binary", n_init=n_init, random_state=0, verbose=0,
                        progress_bar=0)
        out = measure(lambda: model.fit(X), 1, traced=False)
        loglik = float(model.score(X) * len(X))
    else:
        from lib.coherence.latent_class import LatentClassModel
        model = LatentClassModel(k, n_init=n_init, random_state=0)
        out = measure(lambda: model.fit(presence), 3, traced=False)
        loglik = float(model.loglik_)
    out.pop("result")
    out["loglik"] = loglik
    out["n_rows"] = len(X)
    return out


def task_recovery() -> dict:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from lib.coherence.kmodes import KModes
    from lib.coherence.latent_class import LatentClassModel
    data = np.load(WORK / "profiles.npz")
    presence, planted = data["presence"], data["planted"]
    keep = presence.any(axis=1)
    X, truth = presence[keep], planted[keep]
    kmodes = KModes(N_TYPES, n_init=50, random_state=1).fit(X)
    lca = LatentClassModel(N_TYPES, n_init=10, random_state=1).fit(X)
    _, profile = np.unique(X, axis=0, return_inverse=True)
    profile = profile.reshape(-1)
    import pandas as pd
    frame = pd.DataFrame({"profile": profile, "truth": truth})
    best = frame.groupby("profile")["truth"].agg(lambda s: s.value_counts().index[0])
    regular = truth != "incidenteel"
    lca_labels = lca.predict(X)
    return {"households": int(keep.sum()),
            "ari_kmodes": adjusted_rand_score(truth, kmodes.labels_),
            "ari_lca": adjusted_rand_score(truth, lca_labels),
            "ari_ceiling": adjusted_rand_score(truth, best.reindex(profile).to_numpy()),
            "ari_kmodes_without_incidenteel": adjusted_rand_score(truth[regular], kmodes.labels_[regular]),
            "ari_lca_without_incidenteel": adjusted_rand_score(truth[regular], lca_labels[regular])}


def task_choice(seeds: list[int], ranges: list[list[int]]) -> dict:
    """Chosen numbers of types per seed and range, before (random starts, elbow) and now."""
    import numpy as np

    from lib.coherence.latent_class import LatentClassModel
    from lib.coherence.typology import choose_kmodes, choose_latent_classes, derived_seed, elbow
    presence, _ = load(with_domain=True)
    profiles, weights = np.unique(presence.astype(np.int8), axis=0, return_counts=True)
    out = {"households": int(weights.sum()), "profiles": len(profiles), "runs": []}
    for low, high in ranges:
        k_values = list(range(low, high + 1))
        for seed in seeds:
            started = time.perf_counter()
            random_only = {k: LatentClassModel(k, n_init=10, random_state=derived_seed(seed, k, 0)).fit(
                profiles, sample_weight=weights).bic_ for k in k_values}
            before_seconds = time.perf_counter() - started
            started = time.perf_counter()
            classes = choose_latent_classes(profiles, weights, k_values, n_init=10, seed=seed)
            classes_seconds = time.perf_counter() - started
            started = time.perf_counter()
            clusters = choose_kmodes(profiles, weights, k_values, n_init=20, n_seeds=5, seed=seed)
            clusters_seconds = time.perf_counter() - started
            out["runs"].append({
                "range": [low, high], "seed": seed,
                "lca_random_starts": min(random_only, key=random_only.get), "lca_seconds_before": before_seconds,
                "lca_split_starts": classes.chosen, "lca_at_edge": classes.at_edge, "lca_seconds": classes_seconds,
                "lca_stability": [float(np.nanmean(classes.stability)), float(np.nanstd(classes.stability, ddof=1))],
                "kmodes_elbow": elbow(clusters.table["k"], clusters.table["cost"]),
                "kmodes_gain_rule": clusters.chosen, "kmodes_seconds": clusters_seconds,
                "kmodes_stability": [float(np.nanmean(clusters.stability)),
                                     float(np.nanstd(clusters.stability, ddof=1))]})
    return out


def task_national_step() -> dict:
    from lib.config import load_config
    from lib.pipeline import RunContext, all_steps
    from lib.steps.coherence import STEP
    names = [s.name for s in all_steps()]
    number = names.index("coherence") + 1 if "coherence" in names else names.index("baseline") + 2
    config = load_config(NATIONAL / "config.toml")
    ctx = RunContext(config, STEP, number)
    ctx.step_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = STEP.run(ctx)
    seconds = time.perf_counter() - started
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:      # Windows: no resource module, no peak memory
        peak = float("nan")
    return {"seconds": seconds, "peak_mb": peak, "counts": result.counts}


def prepare_national(n: int = 8_200_000) -> None:
    """The 1M cube (12 domains) resampled with replacement to ``n`` households, as a cube step's output."""
    import numpy as np
    import pandas as pd
    cube_dir = NATIONAL / "work" / "05_cube"
    if (cube_dir / "step.json").is_file():
        return
    cube = pd.read_parquet(WORK / "cube_12_domains.parquet")
    rows = np.random.default_rng(82).integers(0, len(cube), size=n)
    big = cube.iloc[rows].reset_index(drop=True)
    big["household"] = np.arange(1, n + 1, dtype=np.int32)
    cube_dir.mkdir(parents=True, exist_ok=True)
    big.to_parquet(cube_dir / "households.parquet", index=False)
    (cube_dir / "step.json").write_text(json.dumps({"step": "cube", "note": f"1M cube resampled to {n}"}))
    (NATIONAL / "config.toml").write_text((WORK / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")


# ---------------------------------------------------------------------------- main

SECTIONS = ("itemsets", "kmodes", "lca", "recovery", "national", "choice")


def print_itemsets(n: int | None) -> None:
    ours = {m: child("itemsets", method=m, repeats=3, n=n) for m in ("lattice", "apriori", "eclat")}
    households = ours["lattice"]["n_rows"]
    print(f"\n1. Frequent itemsets (min support {MIN_SUPPORT} households, all lengths), {households:,} households")
    for name, r in ours.items():
        print(f"   ours {name:<8} {r['seconds']:8.3f} s  peak {r['peak_mb']:8.1f} MB  itemsets {len(r['itemsets'])}")
    # mlxtend takes no weights: a careful user gives it the households as bool columns, dense
    # or sparse. The distinct profiles repeated by their counts are the same rows, sorted.
    theirs = {}
    for method in ("apriori", "fpgrowth", "hmine"):
        for form in ("dense", "sparse"):
            r = theirs[method, form] = child("itemsets", method=f"mlxtend_{method}", repeats=1, n=n, form=form)
            same = r["itemsets"] == ours["lattice"]["itemsets"]
            print(f"   mlxtend {method:<8} {form:<6} {r['seconds']:8.3f} s  peak {r['peak_mb']:8.1f} MB  itemsets "
                  f"{len(r['itemsets'])}  identical itemsets and supports: {same}")
    fastest = min(theirs, key=lambda m: theirs[m]["seconds"])
    best = min(ours, key=lambda m: ours[m]["seconds"])
    repeated = child("itemsets", method=f"mlxtend_{fastest[0]}", repeats=1, n=n, form="repeated")
    print(f"   mlxtend {fastest[0]} on the distinct profiles repeated by their household counts (mlxtend takes no "
          f"weights: the same {repeated['n_rows']:,} rows, sorted): {repeated['seconds']:.3f} s against "
          f"{theirs[fastest[0], 'dense']['seconds']:.3f} s on the dense rows, identical itemsets and supports: "
          f"{repeated['itemsets'] == ours['lattice']['itemsets']}; nothing to gain")
    print(f"   ratio: ours ({best}) is {theirs[fastest]['seconds'] / ours[best]['seconds']:.0f}x faster than mlxtend's "
          f"fastest ({' '.join(fastest)}) and uses {ours[best]['peak_mb'] / theirs[fastest]['peak_mb']:.3f} of its "
          f"memory (mlxtend's largest: {max(r['peak_mb'] for r in theirs.values()):.0f} MB)")


def print_rules() -> None:
    rules = child("rules")
    print(f"   rules (1M households): ours {rules['rules_ours']}, mlxtend {rules['rules_mlxtend']}, matched "
          f"{rules['rules_matched']}")
    for metric in ("support", "confidence", "lift", "leverage", "conviction", "zhangs_metric", "jaccard",
                   "certainty", "kulczynski"):
        m = rules[metric]
        print(f"     {metric:<14} max relative difference {m['max_rel_diff']:.2e}  within rtol 1e-12: "
              f"{m['within_rtol_1e-12']}  same infinite values: {m['same_infinite']}")
    print(f"   ours against exact fractions (leverage, Zhang) on {rules['ours_exact_sampled_rules']} rules: "
          f"{rules['ours_not_correctly_rounded']} not correctly rounded")


def print_kmodes(n: int | None, skip_slow: bool, k: int = 8) -> None:
    """kmodes and ours on the same weighted profiles, then where our gain comes from."""
    runs = {}
    for init, n_init in (("huang", 5), ("cao", 1)):
        for library in ("kmodes", "ours"):
            runs[library, init] = child("kmodes", library=library, init=init, n_init=n_init, n=n, k=k,
                                        form="profiles")
        runs["ours_rows", init] = child("kmodes", library="ours", init=init, n_init=n_init, n=n, k=k, form="rows")
    households, n_profiles = runs["ours", "huang"]["n_rows"], runs["ours", "huang"]["n_profiles"]
    print(f"\n2. k-modes against kmodes 0.12.2, {households:,} households, {k} clusters, on the same "
          f"{n_profiles} distinct profiles with their household counts as sample_weight")
    print("   (profiles by np.unique(axis=0, return_counts=True), timed apart; costs are mismatches over all "
          "households, each checked equal to a direct count on the rows; kmodes' Huang and Cao starts do not "
          "use sample_weight: they draw from and weigh the distinct profiles)")
    for init, n_init in (("huang", 5), ("cao", 1)):
        ref, own, rows = runs["kmodes", init], runs["ours", init], runs["ours_rows", init]
        if own["cost"] != rows["cost"]:
            raise AssertionError(f"ours on profiles {own['cost']} and on rows {rows['cost']} differ")
        print(f"   {init} x{n_init}: kmodes fit {ref['seconds']:.4f} s cost {ref['cost']:,.0f}; ours fit "
              f"{own['seconds']:.4f} s cost {own['cost']:,.0f} ({ratio(ref['seconds'], own['seconds'])}, "
              f"cost {own['cost'] / ref['cost']:.3f} of kmodes'); with the compression (np.unique "
              f"{ref['compress_seconds']:.3f} s) kmodes {ref['seconds'] + ref['compress_seconds']:.3f} s against "
              f"ours on the rows (compressing itself) {rows['seconds']:.4f} s: "
              f"{ratio(ref['seconds'] + ref['compress_seconds'], rows['seconds'])}")
    naive = None
    if n is not None and n <= 100_000 and not skip_slow:
        naive = child("kmodes", library="kmodes", init="huang", n_init=5, n=n, k=k, form="rows")
        careful = runs["kmodes", "huang"]
        print(f"   naive-user reference, kmodes huang x5 on the {households:,} rows: {naive['seconds']:.1f} s cost "
              f"{naive['cost']:,.0f}; the careful run with its compression is "
              f"{ratio(naive['seconds'], careful['seconds'] + careful['compress_seconds'])}")

    repeats = {"a": 1, "b": 3, "c": 3, "d": 3}
    parts = {p: child("kmodes_parts", timeout=PARTS_TIMEOUT if p == "a" else None, part=p, n=n, k=k, n_init=5,
                      repeats=repeats[p]) for p in "abcd"}
    careful = runs["kmodes", "huang"]
    careful_seconds = careful["seconds"] + careful["compress_seconds"]
    # (label, seconds, cost, compared with, note)
    lines = []
    if naive is not None:
        lines.append(("kmodes 0.12.2 huang on rows (the naive user)", naive["seconds"], naive["cost"], None, ""))
    lines.append(("kmodes 0.12.2 huang on profiles, + np.unique (careful)", careful_seconds, careful["cost"],
                  "kmodes on rows" if naive else None, ""))
    a = parts["a"]
    if "timed_out" in a:
        lines.append(("ours (a) rows, no compression, random starts, Lloyd only", None, None, None,
                      f"stopped after {a['timed_out']:.0f} s"))
    else:
        lines.append(("ours (a) rows, no compression, random starts, Lloyd only", a["seconds"], a["cost"],
                      "kmodes on rows" if naive else None,
                      f"distinct starting modes per restart: {a['distinct_starts']} of {k}"))
    lines += [("ours (b) + compression to weighted profiles", parts["b"]["seconds"], parts["b"]["cost"], "(a)", ""),
              ("ours (c) + our starts (Huang's, on the weights)", parts["c"]["seconds"], parts["c"]["cost"], "(b)",
               ""),
              ("ours (d) + local search (single-profile moves): KModes.fit", parts["d"]["seconds"],
               parts["d"]["cost"], "(c)", "")]
    seconds_of = {"kmodes on rows": naive["seconds"] if naive else None, "(a)": a.get("seconds"),
                  "(b)": parts["b"]["seconds"], "(c)": parts["c"]["seconds"]}
    print(f"   where the gain comes from ({households:,} households, 5 restarts, {k} clusters; seconds best of 3, "
          "of 1 on rows; cost: mismatches over all households)")
    print(f"     {'':<60}{'seconds':>10}{'cost':>10}  time against")
    for label, seconds, cost, against, note in lines:
        reference = seconds_of.get(against) if against else None
        versus = "" if reference is None or seconds is None else f"{against}: {ratio(reference, seconds)}"
        remark = "; ".join(x for x in (versus, note) if x)
        if seconds is None:
            print(f"     {label:<60}{'-':>10}{'-':>10}  {remark}")
        else:
            print(f"     {label:<60}{seconds:10.4f}{cost:10,.0f}  {remark}")
    d = parts["d"]
    total = f"ours (d) against the careful kmodes run: {ratio(careful_seconds, d['seconds'])}, cost " \
            f"{d['cost'] / careful['cost']:.3f} of kmodes'"
    if naive:
        total += f"; against the naive one: {ratio(naive['seconds'], d['seconds'])}"
    print(f"     {total}")


def ratio(reference: float, seconds: float) -> str:
    """'12x faster' / '1.3x slower': the time of ``seconds`` against ``reference``."""
    factor = reference / seconds if seconds <= reference else seconds / reference
    text = f"{factor:,.0f}" if factor >= 10 else f"{factor:.1f}"
    return f"{text}x {'faster' if seconds <= reference else 'slower'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true",
                        help="skip the slow reference runs (kmodes on rows, stepmix; minutes each)")
    parser.add_argument("--sizes", nargs="+", default=["100000", "all"],
                        help="households for sections 1 and 2: a number (a sample of the 1M set) or 'all' "
                             "(its 1,024,904 households; the association rules only then)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="which sections to run (default all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kwargs", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(globals()[f"task_{args.child}"](**json.loads(args.kwargs)), default=float))
        return 0

    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows every figure "
              "alike)")
    prepare()
    presence, domains = load()
    print(f"data: {len(presence):,} households, {len(domains)} binary domains ({', '.join(domains)}); "
          f"{int(presence.any(axis=1).sum()):,} with at least one domain")
    sizes = [None if size == "all" or int(size) >= len(presence) else int(size) for size in args.sizes]
    for n in sizes:
        if "itemsets" in args.sections:
            print_itemsets(n)
            if n is None:
                print_rules()
        if "kmodes" in args.sections:
            print_kmodes(n, args.skip_slow)

    if not args.skip_slow and "lca" in args.sections:
        print("\n3. Latent class model against stepmix (6 classes, 3 starts each)")
        ref = child("lca", library="stepmix", n=50_000, k=6, n_init=3)
        own = child("lca", library="ours", n=50_000, k=6, n_init=3)
        print(f"   {own['n_rows']:,} households with a domain: stepmix {ref['seconds']:.1f} s loglik "
              f"{ref['loglik']:,.4f}; ours {own['seconds']:.3f} s loglik {own['loglik']:,.4f}; "
              f"{ref['seconds'] / own['seconds']:,.0f}x faster, "
              f"loglik {'>=' if own['loglik'] >= ref['loglik'] else '<'} stepmix'")

    if "recovery" in args.sections:
        print("\n4. Recovery of the planted household types (6 types, households with at least one domain)")
        rec = child("recovery")
        print(f"   {rec['households']:,} households: ARI k-modes {rec['ari_kmodes']:.3f}, latent classes "
              f"{rec['ari_lca']:.3f}; ceiling (each profile to its most common type) {rec['ari_ceiling']:.3f}; "
              f"without 'incidenteel': k-modes {rec['ari_kmodes_without_incidenteel']:.3f}, latent classes "
              f"{rec['ari_lca_without_incidenteel']:.3f}")

    if "national" in args.sections:
        print("\n5. The whole coherence step for 8.2M households (the 1M cube resampled with replacement)")
        prepare_national()
        step = child("national_step")
        print(f"   {step['seconds']:.1f} s, peak memory {step['peak_mb']:,.0f} MB (target: within 60 s); "
              f"{step['counts']}")

    if "choice" in args.sections:
        print("\n6. The number of types: seeds and ranges (10 LCA starts; k-modes 5 runs x 20 restarts; 20 resamples)")
        choice = child("choice", seeds=[1, 2, 3, 4, 5], ranges=[[2, 10], [3, 12]])
        print(f"   {choice['households']:,} households with a domain, {choice['profiles']} distinct profiles")
        for r in choice["runs"]:
            print(f"   range {r['range'][0]}-{r['range'][1]} seed {r['seed']}: classes by BIC, random starts only "
                  f"{r['lca_random_starts']} ({r['lca_seconds_before']:.1f} s), with split starts "
                  f"{r['lca_split_starts']}"
                  f"{' (at the edge of the range)' if r['lca_at_edge'] else ''} ({r['lca_seconds']:.1f} s incl. "
                  f"resampling), stability {r['lca_stability'][0]:.3f} (sd {r['lca_stability'][1]:.3f}); k-modes elbow "
                  f"{r['kmodes_elbow']}, gain rule {r['kmodes_gain_rule']} ({r['kmodes_seconds']:.1f} s), stability "
                  f"{r['kmodes_stability'][0]:.3f} (sd {r['kmodes_stability'][1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
