"""An intruder against the exports: what can be proven about suppressed cells from the published files alone.

The intruder (``tests/intruder``) is built independently of ``disclosure_control``: it reads only the
export folder (tables, notes, manifest), turns every table into linear relations (margins, shares
and means as counts and sums in disguise, the same quantity in several tables, domain profiles,
ranked groups, association measures, selection criteria, persons by position, missing rows) and
bounds every suppressed quantity with an LP (HiGHS through scipy). Only the assertions below
look at the TRUE values in ``<work>/evidence``, to compare.

Asserted per export:

(a) no suppressed count with a true value of 1..9 (or 0 where the zero-cell rule made it primary) has an
    interval that misses [t - max(1, ceil(0.3 t)), t + max(1, ceil(0.3 t))] (clipped at 0), and no
    suppressed sum with a true value > 0 over fewer than 10 contributing households (per the evidence's
    ``<value>_n_contributors``) an interval that misses 10% on either side (a sum over enough households
    is not sensitive by its size; secondary suppressions have no protection requirement of their own);
(b) no group of 1..9 households can be derived (a published small count, a band between two
    published top groups with its cost pinned down, the difference of two nested published groups);
(c) no group of one or two households has its total cost pinned down (to within +-10%);
(d) no correlation over fewer than 10 households with costs in both domains, no monitoring estimate
    on fewer than 10 households per group, no zero standard error, no impossible degrees of freedom;
(e) every suppressed cell, count or sum, of any value (full cells, group disclosure, dominance and p%),
    keeps the protection interval the writer itself required for it (``lpl``/``upl`` in the evidence);
and, for the intruder itself: every derived interval holds the true value (it is sound).

Exports (built once per module, two at a time): the demo (40,000 households, area 0344, with
monitoring), small study areas of about 240, 420 and 600 households on both routes (and one of 390
on the municipal route with a person alone at an address under another Gezinsrelatie code), a tiny
monitoring cohort, ``rounding_base = 5`` and a selection on a rare combination of domains.
``INTRUDER_SCENARIOS=all`` (or a comma-separated list of names) runs more of them.
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tests.intruder.attack import Report, attack
from tests.intruder.compare import Assessment
from tests.intruder.model import Model
from tests.intruder.reader import read_export
from tests.intruder.scenarios import SCENARIOS, build, dataset_dir

DEFAULT = ["demo_monitoring", "small_240_monitoring_tiny_cohort", "small_600_cbs", "small_320_cbs_empty_overig",
           "small_420_municipal", "small_390_municipal", "small_600_rounding5", "small_420_rare_combination",
           "small_280_cbs_empty_in_group", "small_600_combined"]


def _selected():
    wanted = os.environ.get("INTRUDER_SCENARIOS", "")
    if wanted == "all":
        return list(SCENARIOS)
    names = [n.strip() for n in wanted.split(",") if n.strip()] or DEFAULT
    return [s for s in SCENARIOS if s.name in names]


SELECTED = _selected()


def _build_and_attack(args):
    scenario, base = args
    start = time.perf_counter()
    try:
        export, evidence = build(scenario, base)
    except Exception as exc:  # the pipeline failed: reported by every test of this scenario
        return scenario.name, None, None, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    built = time.perf_counter() - start
    report = attack(export)
    return scenario.name, export, evidence, report, None, built


# Leaks the intruder still finds, as (test, export) pairs with why: each listed pair must still fail
# (strict), so that a fix shows up as an unexpected pass and the entry is then removed.
KNOWN_LEAKS: dict[tuple[str, str], str] = {}


def _known_leak(request, test: str, name: str) -> None:
    if (test, name) in KNOWN_LEAKS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_LEAKS[(test, name)]))


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """Every selected export, built and attacked once (two processes)."""
    base = tmp_path_factory.mktemp("intruder")
    # Data sets first (one per households/seed), so that no two processes generate the same one.
    distinct = {}
    for s in SELECTED:
        distinct.setdefault(s.dataset, s)
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(dataset_dir, distinct.values(), [base] * len(distinct)))
        # Longest first: the demo.
        order = sorted(SELECTED, key=lambda s: -s.households)
        out = {}
        for name, export, evidence, report, error, built in pool.map(_build_and_attack, [(s, base) for s in order]):
            out[name] = (export, evidence, report, error)
    return out


def _get(attacked, name) -> tuple[Report, Assessment]:
    export, evidence, report, error = attacked[name]
    if error:
        pytest.fail(f"scenario {name}: the export could not be built: {error}")
    if report.error:
        pytest.fail(f"scenario {name}: the intruder could not model the export: {report.error}")
    return report, Assessment(report, evidence)


def _fail(name: str, what: str, lines: list[str]) -> None:
    if lines:
        pytest.fail(f"{name}: {len(lines)} {what}:\n" + "\n".join(f"- {line}" for line in lines), pytrace=False)


NAMES = [s.name for s in SELECTED]


@pytest.mark.parametrize("name", NAMES)
def test_intruder_is_sound(attacked, name):
    """Every interval the intruder derives holds the true value: its relations are right."""
    report, assessment = _get(attacked, name)
    lines = [f"{r.cell.name}: true {t:,.4f} outside [{r.lo:,.4f}, {r.hi:,.4f}]; chain: {r.chain_text()}"
             for r, t in assessment.unsound]
    lines += [f"table not understood (format changed? update tests/intruder/relations.py): {e}"
              for e in report.table_errors]
    _fail(name, "derived intervals miss the true value (an intruder relation is wrong)", lines)


@pytest.mark.parametrize("name", NAMES)
def test_a_suppressed_cells_keep_their_protection(attacked, name, request):
    _known_leak(request, "a", name)
    report, assessment = _get(attacked, name)
    lines = [Assessment.leak_text(r, t, why) for r, t, why in assessment.leaks]
    _fail(name, "suppressed cells an intruder pins down (table[row].column: true value, derived interval, "
                "relation families, chain)", lines)


@pytest.mark.parametrize("name", NAMES)
def test_b_no_derivable_group_under_10(attacked, name, request):
    _known_leak(request, "b", name)
    report, _ = _get(attacked, name)
    lines = []
    for g in report.groups:
        if g.size_hi < 1 or g.size_lo > 9:
            continue
        if g.kind in ("published", "difference") or g.cost_known:
            chain = "; ".join(f"[{fam}] {label}" for fam, label in g.chain[:8])
            lines.append(f"{g.describe()}; via {chain}")
    _fail(name, "groups of 1-9 households derivable from published figures", lines)


@pytest.mark.parametrize("name", NAMES)
def test_c_no_single_household_cost(attacked, name):
    report, assessment = _get(attacked, name)
    lines = []
    for g in report.groups:
        if g.size_hi <= 2 and g.size_lo >= 1 and g.cost_known:
            chain = "; ".join(f"[{fam}] {label}" for fam, label in g.chain[:8])
            lines.append(f"{g.describe()}; via {chain}")
    _fail(name, "groups of one or two households whose total cost is derived", lines)


@pytest.mark.parametrize("name", NAMES)
def test_d_no_figure_on_too_few_households(attacked, name):
    """Correlations over < 10 households with both domains (proven by the intruder, or true per the
    evidence of samenhang_paren), monitoring estimates on < 10 households per group, zero standard
    errors, degrees of freedom that cannot be right."""
    report, assessment = _get(attacked, name)
    export, evidence, _, _ = attacked[name]
    lines = [f"{f.table} [{f.cell}]: {f.message} ({f.family})" for f in report.flags]
    pairs = _true_pair_counts(evidence)
    for c in report.correlations:
        true = pairs.get(frozenset((c.a, c.b)))
        if true is not None and true < 10 and not c.pair_hi < 10:
            lines.append(f"{c.table} [{c.a} x {c.b}]: correlation published while {true:g} households have costs "
                         f"in both (intruder's interval for that count: [{c.pair_lo:g}, {c.pair_hi:g}])")
    _fail(name, "figures published on too few households", lines)


@pytest.mark.parametrize("name", NAMES)
def test_e_suppressed_counts_keep_the_writers_own_protection(attacked, name, request):
    _known_leak(request, "e", name)
    """Every suppressed cell, whatever its value (full cells, group disclosure, dominated sums included),
    keeps the interval the writer itself required for it (lpl/upl in the evidence)."""
    report, assessment = _get(attacked, name)
    lines = [Assessment.leak_text(r, t, why) for r, t, why in assessment.own_level_misses]
    _fail(name, "suppressed cells an intruder pins down closer than the writer's own protection levels", lines)


@pytest.mark.parametrize("name", NAMES)
def test_the_export_check_finds_nothing(attacked, name):
    """The export step's own check (check_export, as an output checker runs it) passes: no value in
    notes or manifest, every file listed and matching its evidence, no unit-level output."""
    _get(attacked, name)
    export, evidence, _, _ = attacked[name]
    check = Path(evidence).parent / "10_export" / "check_export.txt"
    text = check.read_text(encoding="utf-8")
    assert "RESULT: no findings" in text, text[-3000:]


def _true_pair_counts(evidence: Path) -> dict:
    import csv
    path = Path(evidence) / "samenhang_paren.cells.csv"
    out = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            v = row.get("true_n_households_rule") or row.get("n_households_rule")
            if row.get("antecedent") and row.get("consequent") and v not in (None, ""):
                out[frozenset((row["antecedent"], row["consequent"]))] = float(v)
    return out


# --------------------------------------------------------------------------- the intruder itself
NOTES = """Table: {name}
Title: {name}
Unit: {unit}
Population: {population}
Period: peildatum 2023-12-31; studiejaren 2022-2023
Kind: {kind}

'x' = suppressed for statistical disclosure control.
'Totaal' rows and columns are totals over all categories.
"""
BASE = "huishoudens woonachtig in 9999 op 2023-12-31"


def _write(folder: Path, name: str, text: str, kind: str, population: str = BASE, unit: str = "huishoudens",
           notes: str = ""):
    (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    (folder / f"{name}.notes.txt").write_text(NOTES.format(name=name, unit=unit, population=population, kind=kind)
                                              + notes, encoding="utf-8")


# The definitions personen_naar_positie states on the CBS route (positions and types determine each other)
# and on the municipal route (a type implies some positions), as the export writes them.
CBS_DEFINITIONS = (
    "Definities: een eenpersoonshuishouden bestaat uit één alleenstaande, en een alleenstaande woont alleen; een "
    "eenoudergezin heeft één ouder in eenoudergezin, en een ouder in eenoudergezin woont in een eenoudergezin; een "
    "paar (met of zonder kinderen) heeft twee partners, en partners wonen in een paar; een paar met kinderen en een "
    "eenoudergezin hebben thuiswonende kinderen, een paar zonder kinderen en een eenpersoonshuishouden niet; "
    "thuiswonende kinderen wonen bij hun ouder(s), in een paar met kinderen of een eenoudergezin; een overig "
    "huishouden heeft ten minste één overig lid. Een huishouden kan personen in meer posities hebben.\n")
MUNICIPAL_DEFINITIONS = (
    "Definities: een eenpersoonshuishouden bestaat uit één persoon, een alleenstaande; een eenoudergezin heeft ten "
    "minste één ouder in eenoudergezin; een paar (met of zonder kinderen) heeft ten minste twee partners; een paar "
    "met kinderen en een eenoudergezin hebben thuiswonende kinderen, een paar zonder kinderen en een "
    "eenpersoonshuishouden niet. Een huishouden kan personen in meer posities hebben.\n")


def _tiny_export(tmp_path: Path, definitions: str) -> Path:
    _write(tmp_path, "kosten_domein_jaar", "domein,jaar,n_households,sum_kosten\n"
           "Totaal,Totaal,50,1000.00\nTotaal,2022,40,400.00\nTotaal,2023,45,600.00\n"
           "a,Totaal,30,700.00\na,2022,x,x\na,2023,25,450.00\n"
           "b,Totaal,35,300.00\nb,2022,20,150.00\nb,2023,x,x\n", "magnitude table (sum)",
           BASE + ", met kosten in de studiejaren")
    _write(tmp_path, "huishoudens_naar_type", "huishoudtype,n_households\nTotaal,100\neenpersoons,40\n"
           "paar zonder kinderen,x\npaar met kinderen,30\neenouder,x\noverig,5\n", "frequency table")
    # Households with a person in each position and the mean number of those persons per household (true:
    # 40 alleenstaanden; 5 one-parent households, 5 parents; 50 couples, 100 partners; 35 households with
    # 60 children; 5 'overig' households with 12 other members; 100 households, 217 persons).
    _write(tmp_path, "personen_naar_positie", "positie,n_households,mean_aantal_personen\nTotaal,100,2.17\n"
           "alleenstaande,40,1.00\nouder in eenoudergezin,x,x\noverig lid,5,2.40\npartner,x,x\n"
           "thuiswonend kind,35,1.71\n", "magnitude table (mean)", notes=definitions)
    return tmp_path


@pytest.fixture()
def tiny_export(tmp_path) -> Path:
    """A hand-made export: a 2x2 domain x year table with margins and suppressed cells, household
    types with two suppressed cells, persons by position (with the CBS route's definitions)."""
    return _tiny_export(tmp_path, CBS_DEFINITIONS)


def _by_cell(report):
    return {r.cell.name: r for r in report.results}


def test_intruder_recovers_a_cell_from_margins(tiny_export):
    report = attack(tiny_export)
    assert report.error is None, report.error
    got = _by_cell(report)
    # Sums: a 2x2 table with margins gives both suppressed sums exactly.
    a22 = got["kosten_domein_jaar[a, 2022].sum_kosten"]
    assert a22.lo == pytest.approx(250.0, abs=0.02) and a22.hi == pytest.approx(250.0, abs=0.02)
    b23 = got["kosten_domein_jaar[b, 2023].sum_kosten"]
    assert b23.lo == pytest.approx(150.0, abs=0.02) and b23.hi == pytest.approx(150.0, abs=0.02)
    assert "margin (Totaal = sum of a partition)" in a22.families
    # Counts: a household can have costs in both domains, so only bounds (max <= total <= sum).
    n_a22 = got["kosten_domein_jaar[a, 2022].n_households"]
    assert (n_a22.lo, n_a22.hi) == (20, 30)
    n_b23 = got["kosten_domein_jaar[b, 2023].n_households"]
    assert (n_b23.lo, n_b23.hi) == (20, 35)
    # Persons and positions, by the definitions the notes state: the 35 households with a child at home are
    # the 30 couples with children and the e one-parent households (children live with their parent(s)), so
    # e = 5 one-parent households (one parent each) and z = 100 - 40 - 30 - 5 - 5 = 20 couples without
    # children; the households with partners are the 50 couples, with two partners each. The persons agree:
    # 100 x 2.17 = 217 (+-0.5) = 40 alleenstaanden + 5 parents + 2 x 50 partners + 35 x 1.71 children + 5 x 2.40.
    def interval(name):
        return got[name].lo, got[name].hi

    assert interval("huishoudens_naar_type[paar zonder kinderen].n_households") == (20, 20)
    assert interval("huishoudens_naar_type[eenouder].n_households") == (5, 5)
    assert interval("personen_naar_positie[partner].n_households") == (50, 50)
    assert interval("personen_naar_positie[ouder in eenoudergezin].n_households") == (5, 5)
    # The persons behind a suppressed mean (a sum in disguise): within the rounding of the published means.
    lo, hi = interval("personen_naar_positie[ouder in eenoudergezin].mean_aantal_personen")
    assert 4.0 < lo <= 5.0 + 1e-6 and 5.0 - 1e-6 <= hi < 6.0
    lo, hi = interval("personen_naar_positie[partner].mean_aantal_personen")
    assert 98.0 < lo <= 100.0 + 1e-6 and 100.0 - 1e-6 <= hi < 102.0

    def labels(name):
        return {label for _, label in got[name].chain_lo + got[name].chain_hi}

    assert "children at home live in couples with children and one-parent households" in labels(
        "huishoudens_naar_type[paar zonder kinderen].n_households")
    assert "households with partners = couple households" in labels("personen_naar_positie[partner].n_households")
    assert "two partners per couple household" in labels("personen_naar_positie[partner].mean_aantal_personen")
    for name in ("huishoudens_naar_type[eenouder].n_households", "personen_naar_positie[partner].n_households"):
        assert "persons by position vs households by type" in got[name].families


@pytest.mark.parametrize("route", ["municipality", "none"])
def test_intruder_uses_only_the_definitions_the_notes_state(tmp_path, route):
    """The tiny export with the municipal route's one-way definitions (a type implies some positions), or
    with none: the two-way definitions of the CBS route are not used, so the partners' households stay
    open (50 couples, but partners may live elsewhere too) and, without definitions, the types as well."""
    from tests.intruder.relations import POSITION_DEFINITIONS, stated_definitions
    notes = MUNICIPAL_DEFINITIONS if route == "municipality" else ""
    stated = stated_definitions(notes)
    assert len(stated) == (4 if route == "municipality" else 0)
    report = attack(_tiny_export(tmp_path, notes))
    assert report.error is None, report.error
    got = _by_cell(report)
    partners = got["personen_naar_positie[partner].n_households"]
    lo, hi = partners.lo, partners.hi
    assert lo <= 50 <= hi and hi - lo >= 10
    used = {label for r in report.results for _, label in r.chain_lo + r.chain_hi}
    relations = {clause: {label for _, _, label in rels} for clause, rels in POSITION_DEFINITIONS.items()}
    for clause, labels in relations.items():
        if clause not in stated:
            assert not labels & used, clause
    if route == "none":
        for name in ("huishoudens_naar_type[paar zonder kinderen].n_households",
                     "huishoudens_naar_type[eenouder].n_households"):
            assert (got[name].lo, got[name].hi) == (0, 25), name
    else:
        assert "at least two partners per couple household" in used or "every couple household has partners" in used


def test_warm_highs_and_linprog_agree(tiny_export):
    from tests.intruder.relations import Builder
    export = read_export(tiny_export)
    warm, cold = Builder(export).build(), Builder(export).build()
    cold.m.backend = "linprog"
    for t in warm.targets:
        if not t.expr:
            continue
        a, b = warm.m.bounds(t.expr), cold.m.bounds(t.expr)
        assert a.lo == pytest.approx(b.lo, abs=1e-6) and a.hi == pytest.approx(b.hi, abs=1e-6), t.cell.name


def test_lp_model_min_max_and_certificate():
    m = Model("2x2")
    # x11 + x12 = 10, x21 + x22 = 5, x11 + x21 = 8, x12 + x22 = 7, x22 published as 3.
    for expr, v, label in (({"x11": 1, "x12": 1}, 10, "row 1"), ({"x21": 1, "x22": 1}, 5, "row 2"),
                           ({"x11": 1, "x21": 1}, 8, "column 1"), ({"x12": 1, "x22": 1}, 7, "column 2"),
                           ({"x22": 1}, 3, "published x22")):
        m.eq(expr, v, "margin", label)
    for backend in ("warm", "linprog"):
        m.backend = backend
        m._highs = None
        b = m.bounds({"x11": 1.0})
        assert b.lo == pytest.approx(6.0) and b.hi == pytest.approx(6.0)
        assert any(label == "published x22" for _, label in b.chain_lo)
