"""Benchmark of the coherence analyses against mlxtend, kmodes 0.12.2 and stepmix.

    python benchmarks/bench_coherence.py                  # everything (about 10-15 minutes on 2 cores)
    python benchmarks/bench_coherence.py --skip-slow      # without the slow reference runs

The comparison packages are development-only (requirements-dev.txt lists them as a
comment); ``lib/`` never imports them. Data: the synthetic 1,000,000-household set in
``bench_data/data_1000000`` (generated when missing), run up to the cube for the whole
country (area NL) into ``bench_data/coherence_nl``. The CBS route has 11 cost domains; a
12th, debt help (``schuldhulp``, only in the municipal route), is taken from the truth
file's debt-help costs and attributed to the same households, so the profiles have the
12 binary domains the issue's reference figures were measured on.

Every measurement runs in a fresh process: wall time (best of 3 for the fast methods),
and peak memory of the call measured with ``tracemalloc`` in a separate run (numpy and
pandas allocations are traced). Printed, each with the reference measured in the same run:

1. frequent itemsets and association rules at 1M households (min support 100 households,
   no length limit) against mlxtend's apriori, fpgrowth and hmine: identical itemsets and
   supports, rule metrics to rtol 1e-12, time and memory ratios against mlxtend's fastest;
2. k-modes against kmodes 0.12.2: Huang with 5 initialisations on 100,000 households and
   Cao with 1 on 1M households (kmodes' Huang on 1M takes more than 15 minutes and is only
   run with ``--kmodes-huang-1m``): cost (equal or lower) and time ratio;
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

def child(task: str, **kwargs) -> dict:
    """Run one measurement in a fresh Python process; return its JSON result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--kwargs", json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
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


def task_itemsets(method: str, repeats: int) -> dict:
    import pandas as pd
    presence, domains = load()
    frame = pd.DataFrame(presence, columns=domains)
    n = len(frame)
    if method.startswith("mlxtend_"):
        from mlxtend import frequent_patterns as fp
        miner = getattr(fp, method[len("mlxtend_"):])

        def call():
            return miner(frame, min_support=MIN_SUPPORT / n, use_colnames=True)
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


def task_kmodes(library: str, init: str, n_init: int, n: int | None, k: int) -> dict:
    presence, _ = load(n)
    X = presence.astype("int8")
    if library == "kmodes":
        from kmodes.kmodes import KModes as Reference
        model = Reference(n_clusters=k, init=init.capitalize(), n_init=n_init, random_state=0, n_jobs=1)
    else:
        from lib.coherence.kmodes import KModes
        model = KModes(n_clusters=k, init=init, n_init=n_init, random_state=0)
    out = measure(lambda: model.fit(X), 1 if library == "kmodes" else 3, traced=False)
    out.pop("result")
    out["cost"] = float(model.cost_)
    out["n_rows"] = len(X)
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

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true", help="skip kmodes and stepmix runs (minutes each)")
    parser.add_argument("--kmodes-huang-1m", action="store_true", help="also run kmodes' Huang on 1M (> 15 min)")
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

    print("\n1. Frequent itemsets (min support 100 households, all lengths) and rules, 1M households")
    ours = {m: child("itemsets", method=m, repeats=3) for m in ("lattice", "apriori", "eclat")}
    for name, r in ours.items():
        print(f"   ours {name:<8} {r['seconds']:8.3f} s  peak {r['peak_mb']:8.1f} MB  itemsets {len(r['itemsets'])}")
    theirs = {}
    for method in ("apriori", "fpgrowth", "hmine"):
        theirs[method] = child("itemsets", method=f"mlxtend_{method}", repeats=1)
        r = theirs[method]
        same = r["itemsets"] == ours["lattice"]["itemsets"]
        print(f"   mlxtend {method:<8} {r['seconds']:8.3f} s  peak {r['peak_mb']:8.1f} MB  itemsets "
              f"{len(r['itemsets'])}  identical itemsets and supports: {same}")
    fastest = min(theirs, key=lambda m: theirs[m]["seconds"])
    best = min(ours, key=lambda m: ours[m]["seconds"])
    print(f"   ratio: ours ({best}) is {theirs[fastest]['seconds'] / ours[best]['seconds']:.0f}x faster than mlxtend's "
          f"fastest ({fastest}) and uses {ours[best]['peak_mb'] / theirs[fastest]['peak_mb']:.3f} of its memory "
          f"(mlxtend's largest: {max(r['peak_mb'] for r in theirs.values()):.0f} MB)")
    rules = child("rules")
    print(f"   rules: ours {rules['rules_ours']}, mlxtend {rules['rules_mlxtend']}, matched {rules['rules_matched']}")
    for metric in ("support", "confidence", "lift", "leverage", "conviction", "zhangs_metric", "jaccard",
                   "certainty", "kulczynski"):
        m = rules[metric]
        print(f"     {metric:<14} max relative difference {m['max_rel_diff']:.2e}  within rtol 1e-12: "
              f"{m['within_rtol_1e-12']}  same infinite values: {m['same_infinite']}")
    print(f"   ours against exact fractions (leverage, Zhang) on {rules['ours_exact_sampled_rules']} rules: "
          f"{rules['ours_not_correctly_rounded']} not correctly rounded")

    if not args.skip_slow:
        print("\n2. k-modes against kmodes 0.12.2 (8 clusters)")
        runs = [("huang", 5, 100_000), ("cao", 1, None)] + ([("huang", 5, None)] if args.kmodes_huang_1m else [])
        for init, n_init, n in runs:
            ref = child("kmodes", library="kmodes", init=init, n_init=n_init, n=n, k=8)
            own = child("kmodes", library="ours", init=init, n_init=n_init, n=n, k=8)
            print(f"   {init} x{n_init} on {own['n_rows']:,} households: kmodes {ref['seconds']:.1f} s cost "
                  f"{ref['cost']:,.0f}; ours {own['seconds']:.4f} s cost {own['cost']:,.0f}; "
                  f"{ref['seconds'] / own['seconds']:,.0f}x faster, cost {'<=' if own['cost'] <= ref['cost'] else '>'} "
                  "kmodes'")
        own = child("kmodes", library="ours", init="huang", n_init=5, n=None, k=8)
        print(f"   huang x5 on 1M households: ours {own['seconds']:.4f} s cost {own['cost']:,.0f} (kmodes: more than "
              "15 minutes per the issue, not run without --kmodes-huang-1m)")

        print("\n3. Latent class model against stepmix (6 classes, 3 starts each)")
        ref = child("lca", library="stepmix", n=50_000, k=6, n_init=3)
        own = child("lca", library="ours", n=50_000, k=6, n_init=3)
        print(f"   {own['n_rows']:,} households with a domain: stepmix {ref['seconds']:.1f} s loglik "
              f"{ref['loglik']:,.4f}; ours {own['seconds']:.3f} s loglik {own['loglik']:,.4f}; "
              f"{ref['seconds'] / own['seconds']:,.0f}x faster, "
              f"loglik {'>=' if own['loglik'] >= ref['loglik'] else '<'} stepmix'")

    print("\n4. Recovery of the planted household types (6 types, households with at least one domain)")
    rec = child("recovery")
    print(f"   {rec['households']:,} households: ARI k-modes {rec['ari_kmodes']:.3f}, latent classes "
          f"{rec['ari_lca']:.3f}; ceiling (each profile to its most common type) {rec['ari_ceiling']:.3f}; "
          f"without 'incidenteel': k-modes {rec['ari_kmodes_without_incidenteel']:.3f}, latent classes "
          f"{rec['ari_lca_without_incidenteel']:.3f}")

    print("\n5. The whole coherence step for 8.2M households (the 1M cube resampled with replacement)")
    prepare_national()
    step = child("national_step")
    print(f"   {step['seconds']:.1f} s, peak memory {step['peak_mb']:,.0f} MB (target: within 60 s); "
          f"{step['counts']}")

    print("\n6. The number of types: seeds and ranges (10 LCA starts; k-modes 5 runs x 20 restarts; 20 resamples)")
    choice = child("choice", seeds=[1, 2, 3, 4, 5], ranges=[[2, 10], [3, 12]])
    print(f"   {choice['households']:,} households with a domain, {choice['profiles']} distinct profiles")
    for r in choice["runs"]:
        print(f"   range {r['range'][0]}-{r['range'][1]} seed {r['seed']}: classes by BIC, random starts only "
              f"{r['lca_random_starts']} ({r['lca_seconds_before']:.1f} s), with split starts {r['lca_split_starts']}"
              f"{' (at the edge of the range)' if r['lca_at_edge'] else ''} ({r['lca_seconds']:.1f} s incl. "
              f"resampling), stability {r['lca_stability'][0]:.3f} (sd {r['lca_stability'][1]:.3f}); k-modes elbow "
              f"{r['kmodes_elbow']}, gain rule {r['kmodes_gain_rule']} ({r['kmodes_seconds']:.1f} s), stability "
              f"{r['kmodes_stability'][0]:.3f} (sd {r['kmodes_stability'][1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
