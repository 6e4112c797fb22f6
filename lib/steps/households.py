"""Step 4: households at the reference date, residence, attribution, and who is left out.

Writes to ``<work>/04_households/``: ``households`` (composition, type, municipality, wijk and buurt
where the sources have them (``lib.areas``), in the study area, still resident, included),
``members`` (person -> household at the peildatum), for the CBS route also ``membership_spells``,
``household_spells`` and ``area_spells`` (for monthly attribution) and ``moves.csv`` (moves into and
out of the study area per year); and ``population.csv``, which accounts for every person with a cost
record: in an included household, in a household outside the study area, in an excluded
institutional household, or in no household at the peildatum (on the municipal route, apart: persons
the BRP extract lists at more than one location or role, whom the method's rule of one person, one
household cannot place; see ``lib.households``), with the euros that attribution at the peildatum
moves into the study area (costs made elsewhere by its residents) or out of it (costs made in it by
persons who moved out, died or emigrated before the peildatum); and ``residence.json``: the
residence date (by default the last day the household register describes), how many households of
the population still live in the area then, moved out of it or left the registers, and the shares of
the attributed costs that attribution at the peildatum moves (stated by the baseline's notes and the
report).

Requests two tables for export: households by type, and households and persons by position
(a table about households: per position the households with a person in it and those persons).
"""
from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from lib.appendix2 import load_domain_mapping
from lib.baseline import with_code_list
from lib.config import REFERENCE_DATA
from lib.dates import day_number
from lib.export_requests import clear_requests, request_table
from lib.households import (
    HOUSEHOLD_TYPE_ORDER,
    HouseholdModel,
    brp_household_model,
    cbs_household_model,
    id_positions,
    read_brp_extract,
)
from lib.domains import DomainCounting
from lib.errors import UserFacingError
from lib.layouts import UITKERINGSOORT_DOMAINS, layouts_for
from lib.pipeline import RunContext, Step, StepResult, step_folder
from lib.pricing import (CASE_SOURCE, SENTENCED_DAYS_COLUMN, combine_price_tables, load_bijstand_codes,
                         load_price_table, sentence_price_rows)
from lib.readers import file_columns
from lib.sources import choose_cbs_files, expand_pattern, readable_formats
from lib.steps.read_sources import REGISTERS_ONLY_LOG, chosen_files, registers_only, study_period
from lib.workfiles import read_table, table_path, write_table

ROLE_LABELS = {"K": "thuiswonend kind", "P": "partner", "A": "alleenstaande", "O": "ouder in eenoudergezin",
               "V": "overig lid", "I": "bewoner instelling"}
INSTITUTIONAL_TYPE = "institutioneel"
INSTITUTIONAL_ROLE = "I"
# What personen_naar_positie says about its figures: the definitions that tie positions to household
# types are public knowledge, so they are stated (and the table is protected together with the other
# tables about households, in the export-wide audit). The persons are published as a mean per household
# (suppressed with its count): by those definitions an exact number of alleenstaanden, parents or
# partners is an exact number of households, which a sum would publish beside a suppressed count (the
# audit links counts with counts and amounts with amounts, not the one with the other).
POSITION_NOTE = (
    "Per positie: n_households = aantal huishoudens met ten minste een persoon in die positie; "
    "mean_aantal_personen = gemiddeld aantal personen in die positie per zo'n huishouden (aantal personen in "
    "de positie = n_households x mean_aantal_personen). Totaal: alle huishoudens (elk een keer) en het "
    "gemiddelde aantal personen per huishouden.")
# The definitions, one clause each. A reader (and our own intruder, tests/intruder/relations.py, which
# reads them word for word) takes every stated clause as exact, so a clause is stated only when it holds
# for every household of the run (``position_definitions_hold``).
POSITION_DEFINITIONS = {
    "alleenstaande": "een eenpersoonshuishouden bestaat uit één alleenstaande, en een alleenstaande woont alleen",
    "eenpersoons": "een eenpersoonshuishouden bestaat uit één persoon, een alleenstaande",
    "eenouder": "een eenoudergezin heeft één ouder in eenoudergezin, en een ouder in eenoudergezin woont in een "
                "eenoudergezin",
    "eenouder_ten_minste": "een eenoudergezin heeft ten minste één ouder in eenoudergezin",
    "paar": "een paar (met of zonder kinderen) heeft twee partners, en partners wonen in een paar",
    "paar_ten_minste": "een paar (met of zonder kinderen) heeft ten minste twee partners",
    "kinderen_per_type": "een paar met kinderen en een eenoudergezin hebben thuiswonende kinderen, een paar zonder "
                         "kinderen en een eenpersoonshuishouden niet",
    "kinderen_bij_ouders": "thuiswonende kinderen wonen bij hun ouder(s), in een paar met kinderen of een "
                           "eenoudergezin",
    "overig": "een overig huishouden heeft ten minste één overig lid",
}
# Per route and subject the clauses that may be stated, strongest first: the first that holds is stated.
# CBS route: TYPHH and PLHH come from one register and agree by CBS's definitions (a register that
# disagrees, e.g. a partner counted in another household on the peildatum, gets the weaker clause).
# Municipal route: a household is a location code and the positions are the BRP's Gezinsrelatie codes, so
# two singles or two couples at one address, or a parent living with a couple, are ordinary there; only
# what the type derived from the positions guarantees (``lib.households.household_type_from_roles``,
# ``lone_members_live_alone``) is a definition of that route, not what one extract happens to show.
POSITION_SUBJECTS = {
    "cbs": [("alleenstaande", "eenpersoons"), ("eenouder", "eenouder_ten_minste"), ("paar", "paar_ten_minste"),
            ("kinderen_per_type",), ("kinderen_bij_ouders",), ("overig",)],
    "municipality": [("eenpersoons",), ("eenouder_ten_minste",), ("paar_ten_minste",), ("kinderen_per_type",)],
}
MUNICIPAL_POSITION_NOTE = ("Gemeentelijke route: een huishouden is een locatiecode van de BRP, de posities komen uit "
                           "de Gezinsrelatie (de enige persoon op een locatiecode is alleenstaande) en het "
                           "huishoudtype is daaruit afgeleid.")


def household_type_codes(include_institutional: bool) -> list[str]:
    """The household types of the population, in publication order: every type of the household
    model, but "institutioneel" only when institutional households are included (without them
    it is not an empty category but outside the population, as every table's population says)."""
    return [t for t in HOUSEHOLD_TYPE_ORDER if include_institutional or t != INSTITUTIONAL_TYPE]


def position_codes(include_institutional: bool) -> list[str]:
    """The positions of persons in their household, in publication order (by label); "bewoner
    instelling" only when institutional households are included (a resident of an institution
    makes a household institutional)."""
    return sorted(label for role, label in ROLE_LABELS.items() if include_institutional or role != INSTITUTIONAL_ROLE)


def position_definitions_hold(households: pd.DataFrame, members: pd.DataFrame) -> dict[str, bool]:
    """Whether each clause of ``POSITION_DEFINITIONS`` holds for every household of ``households``
    (household, household_type; the population of the table) with its ``members`` (household, role)."""
    roles = list(ROLE_LABELS)
    row = id_positions(households["household"].to_numpy(), members["household"].to_numpy())
    role = pd.Categorical(members["role"], categories=roles).codes
    keep = (row >= 0) & (role >= 0)
    counts = np.bincount(row[keep] * len(roles) + role[keep],
                         minlength=len(households) * len(roles)).reshape(-1, len(roles))
    a, k, p, o, v = (counts[:, roles.index(r)] for r in ("A", "K", "P", "O", "V"))
    n = counts.sum(axis=1)
    t = households["household_type"].to_numpy(dtype=object)
    one, parent, other = t == "eenpersoons", t == "eenouder", t == "overig"
    couple = np.isin(t, ["paar zonder kinderen", "paar met kinderen"])
    with_children = np.isin(t, ["paar met kinderen", "eenouder"])
    without_children = np.isin(t, ["paar zonder kinderen", "eenpersoons"])
    return {
        # Households with an alleenstaande are the one-person households, each with one: the same count.
        "alleenstaande": bool(np.array_equal(one, a > 0) and (n[one] == 1).all() and (a[one] == 1).all()),
        "eenpersoons": bool((n[one] == 1).all() and (a[one] == 1).all()),
        "eenouder": bool(np.array_equal(parent, o > 0) and (o[parent] == 1).all()),
        "eenouder_ten_minste": bool((o[parent] >= 1).all()),
        "paar": bool(np.array_equal(couple, p > 0) and (p[couple] == 2).all()),
        "paar_ten_minste": bool((p[couple] >= 2).all()),
        "kinderen_per_type": bool((k[with_children] > 0).all() and (k[without_children] == 0).all()),
        "kinderen_bij_ouders": bool(with_children[k > 0].all()),
        "overig": bool((v[other] > 0).all()),
    }


def position_notes(route: str, households: pd.DataFrame, members: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The notes of ``personen_naar_positie`` for the households (household, household_type) and their
    members (household, role), and the clauses of the route left out because they do not hold for them.

    Per subject of the route (``POSITION_SUBJECTS``) the strongest clause that holds is stated; a
    subject none of whose clauses holds is not mentioned (a false definition would let a reader
    derive wrong figures, and wrong suppressed ones)."""
    chosen = stated_clauses(route, households, members)
    stated = [POSITION_DEFINITIONS[c] for c in chosen]
    left_out = []
    for clauses in POSITION_SUBJECTS[route]:
        first = next((c for c in clauses if c in chosen), None)
        left_out += [POSITION_DEFINITIONS[c] for c in clauses[:clauses.index(first) if first else len(clauses)]]
    definitions = ("Definities: " + "; ".join(stated) + ". ") if stated else ""
    notes = [POSITION_NOTE, definitions + "Een huishouden kan personen in meer posities hebben."]
    if route == "municipality":
        notes.append(MUNICIPAL_POSITION_NOTE)
    return notes, left_out


def stated_clauses(route: str, households: pd.DataFrame, members: pd.DataFrame) -> list[str]:
    """Per subject of the route (``POSITION_SUBJECTS``) the strongest clause that holds for these
    households and members: the keys of what :func:`position_notes` states."""
    holds = position_definitions_hold(households, members)
    return [next(c for c in clauses if holds[c]) for clauses in POSITION_SUBJECTS[route]
            if any(holds[c] for c in clauses)]


_COUPLES = ("paar zonder kinderen", "paar met kinderen")
_WITH_CHILDREN = ("paar met kinderen", "eenouder")


def _tie(column: str, position: str, weights: dict, text: str, only: str | None = None,
         table: str = "huishoudens_naar_type", own_weight: float = 1.0) -> dict:
    return {"column": column, "weights": {position: own_weight}, "table": table, "other_column": "n_households",
            "other_weights": weights, "text": text, "only": only}


# What each clause says, as identities of personen_naar_positie with the household types (see
# disclosure_control.model.Identity): an intruder reads them in the notes, so the tables are protected
# with them (a type with no household, suppressed, would otherwise follow from the position counts).
POSITION_IDENTITIES = {
    "alleenstaande": [_tie("n_households", "alleenstaande", {"eenpersoons": 1}, "huishoudens met een alleenstaande "
                           "= eenpersoonshuishoudens"),
                      _tie("mean_aantal_personen", "alleenstaande", {"eenpersoons": 1},
                           "een alleenstaande per eenpersoonshuishouden")],
    "eenpersoons": [_tie("n_households", "alleenstaande", {"eenpersoons": 1},
                         "elk eenpersoonshuishouden heeft een alleenstaande", "at_least")],
    "eenouder": [_tie("n_households", "ouder in eenoudergezin", {"eenouder": 1},
                      "huishoudens met een ouder in eenoudergezin = eenoudergezinnen"),
                 _tie("mean_aantal_personen", "ouder in eenoudergezin", {"eenouder": 1},
                      "een ouder per eenoudergezin")],
    "eenouder_ten_minste": [_tie("n_households", "ouder in eenoudergezin", {"eenouder": 1},
                                 "elk eenoudergezin heeft een ouder in eenoudergezin", "at_least")],
    "paar": [_tie("n_households", "partner", dict.fromkeys(_COUPLES, 1), "huishoudens met partners = paren"),
             _tie("mean_aantal_personen", "partner", dict.fromkeys(_COUPLES, 2), "twee partners per paar")],
    "paar_ten_minste": [_tie("n_households", "partner", dict.fromkeys(_COUPLES, 1), "elk paar heeft partners",
                             "at_least"),
                        _tie("mean_aantal_personen", "partner", dict.fromkeys(_COUPLES, 2),
                             "ten minste twee partners per paar", "at_least")],
    "kinderen_per_type": [_tie("n_households", "thuiswonend kind", dict.fromkeys(_WITH_CHILDREN, 1),
                               "paren met kinderen en eenoudergezinnen hebben thuiswonende kinderen", "at_least")],
    "kinderen_bij_ouders": [_tie("n_households", "thuiswonend kind", dict.fromkeys(_WITH_CHILDREN, 1),
                                 "thuiswonende kinderen wonen in paren met kinderen en eenoudergezinnen", "at_most")],
    "overig": [_tie("n_households", "overig lid", {"overig": 1}, "elk overig huishouden heeft een overig lid",
                    "at_least")],
}
# Children at home are the children of kosten_kinderen (the same persons), whatever the route states.
CHILDREN_IDENTITIES = [
    _tie("n_households", "thuiswonend kind", {"1": 1, "2": 1, "3+": 1},
         "huishoudens met thuiswonende kinderen = huishoudens met kinderen (kosten_kinderen)",
         table="kosten_kinderen"),
    _tie("mean_aantal_personen", "thuiswonend kind", {"1": 1, "2": 2, "3+": 3},
         "thuiswonende kinderen ten minste de som van k x huishoudens met k kinderen (kosten_kinderen)", "at_least",
         table="kosten_kinderen"),
]


def position_identities(route: str, households: pd.DataFrame, members: pd.DataFrame,
                        same_population_as_costs: bool = True) -> list[dict]:
    """The identities of personen_naar_positie: those of the clauses its notes state, and the children
    (with kosten_kinderen, only when that table describes the same households: not with monthly
    attribution, whose tables are about household spells of the study years)."""
    return [i for c in stated_clauses(route, households, members) for i in POSITION_IDENTITIES[c]] + \
        (CHILDREN_IDENTITIES if same_population_as_costs else [])


def form_households(ctx: RunContext) -> StepResult:
    config = ctx.config
    out = ctx.step_dir
    sources_dir = ctx.earlier_step_dir("read_sources")
    persons = read_table(sources_dir / "persons")
    files = chosen_files(ctx)
    period = study_period(config)
    peil = day_number(config.peildatum)
    area = config["study"]["area"]
    include_institutional = config["households"]["include_institutional"]
    monthly = config["households"]["attribution"] == "monthly" or config["monitoring"]["enabled"]
    progress, shares = ctx.progress("households", 1.0), _part_shares(monthly)
    # The work tables are written on the second core while the rest of the model and the
    # accounting are computed (Arrow encodes and compresses without holding the GIL); the
    # model hands each table over once it is final.
    with ThreadPoolExecutor(max_workers=1) as writer:
        written: dict[str, Future] = {}

        def write_soon(name: str, frame: pd.DataFrame) -> None:
            written[name] = writer.submit(write_table, frame, out / name)

        if config["run"]["route"] == "cbs":
            residence = config["study"]["residence_date"]
            # Not set: the model takes the last day the household register describes.
            model = cbs_household_model(files, persons, peil, (period.start, period.end), area, include_institutional,
                                        day_number(residence) if residence is not None else None,
                                        monthly=monthly, table_ready=write_soon,
                                        part_done=lambda label: progress.part(label, shares[label]),
                                        registers=lambda dataset: _register_read(sources_dir, dataset))
        else:
            brp = [f for f in files if f.dataset == "BRP_EXTRACT"][0]
            model = brp_household_model(read_brp_extract(brp.path), persons, area[0], include_institutional)
        names = ["households", "members"] + (["membership_spells", "household_spells", "area_spells"] if monthly else [])
        for name in names:
            if name not in written and getattr(model, name) is not None:
                write_soon(name, getattr(model, name))
        if model.moves is not None:
            model.moves.to_csv(out / "moves.csv", index=False, encoding="utf-8")
        result = _account_and_request_tables(ctx, model, persons, out, progress=progress, shares=shares)
        for table in written.values():
            table.result()
    return result


def _register_read(sources_dir: Path, dataset: str) -> pd.DataFrame:
    """A register as the reading step wrote it (the source files are not read again)."""
    stem = sources_dir / "registers" / dataset
    if not table_path(stem).is_file():
        raise UserFacingError(f"{stem}: the reading step's copy of {dataset} is missing (a work folder of an "
                              "older version of the bundle, or removed): rerun from the read_sources step")
    return read_table(stem)


def _account_and_request_tables(ctx: RunContext, model: HouseholdModel, persons: pd.DataFrame,
                                out: Path, progress=None, shares: dict[str, float] | None = None) -> StepResult:
    """population.csv (every person with costs, and their euros, accounted for), the export
    requests, and the step's counts and notes. ``progress`` and ``shares`` (``_part_shares``): the step's
    progress lines."""
    config = ctx.config
    sources_dir = ctx.earlier_step_dir("read_sources")
    include_institutional = config["households"]["include_institutional"]
    # Every person with a cost record, and every euro of the ledger, accounted for
    # (by where the person belongs at the peildatum; monthly attribution is resolved
    # month by month when costs are attached to households).
    records = read_table(sources_dir / "records", columns=["person", "source"])
    # The ledger is the records' costs spread over months, so a person's euros are the sum of
    # the costs of their records (record_cost, in the records' order): a tenth of the rows.
    record_cost = read_table(ctx.earlier_step_dir("price") / "record_cost")["cost"].to_numpy()
    with_costs = pd.Index(records["person"].unique())
    # Person ids are dense (0..n-1): euros per person by bincount instead of a groupby.
    cost_of = pd.Series(np.bincount(records["person"].to_numpy(), weights=record_cost,
                                    minlength=int(with_costs.max()) + 1 if len(with_costs) else 0))
    hh = model.households.set_index("household")
    member_of = model.members.set_index("person")["household"]
    of_costly = member_of.reindex(with_costs)
    in_household = of_costly.notna().to_numpy()
    h = of_costly.fillna(-1).astype(np.int64).to_numpy()
    included = np.zeros(len(with_costs), bool)
    in_area = np.zeros(len(with_costs), bool)
    included[in_household] = hh["included"].reindex(h[in_household]).to_numpy(dtype=bool)
    in_area[in_household] = hh["in_area"].reindex(h[in_household]).to_numpy(dtype=bool)
    euros = cost_of.reindex(with_costs).fillna(0.0).to_numpy()
    not_placed = np.isin(with_costs.to_numpy(), model.not_placed if model.not_placed is not None else [])
    groups = {
        "  of which in an included household of the study area at the peildatum": included,
        "  of which in a household outside the study area": in_household & ~in_area,
        "  of which in an excluded institutional household of the study area": in_area & ~included,
        "  of which in no household at the peildatum (moved abroad, died, not registered)": ~in_household & ~not_placed,
    }
    if model.not_placed is not None:
        groups["  of which in no household: the BRP extract lists them at more than one location or role"] = \
            ~in_household & not_placed
    rows = [("persons in the population register", int(persons["in_register"].sum()), np.nan),
            ("persons with a cost record", len(with_costs), float(euros.sum()))]
    rows += [(label, int(mask.sum()), float(euros[mask].sum())) for label, mask in groups.items()]
    # What attribution at the peildatum does with these euros (CBS route: the address register
    # says where a person lived in each month): costs made elsewhere by persons of the area's
    # households come in, costs made in the area by persons who left before the peildatum drop out.
    shifted = _attribution_shift(ctx, model, with_costs.to_numpy(), {
        "included": included, "outside": in_household & ~in_area, "no_household": ~in_household & ~not_placed},
        progress=progress, shares=shares)
    for label, (number, amount) in shifted.items():
        rows.append((ATTRIBUTION_ROWS[label], number, amount))
    rows += [("households at the peildatum", len(hh), np.nan),
             ("  in the study area", int(hh["in_area"].sum()), np.nan),
             ("  included (institutional households excluded)" if not include_institutional else "  included",
              int(hh["included"].sum()), np.nan),
             ("persons in included households",
              int(model.members["household"].isin(hh.index[hh["included"]]).sum()), np.nan)]
    population = pd.DataFrame(rows, columns=["what", "number", "euros"])
    population.to_csv(out / "population.csv", index=False, encoding="utf-8")
    unattributed = with_costs[~in_household]
    per_source = records[records["person"].isin(unattributed)].groupby("source", observed=True)["person"]
    per_source.nunique().rename("persons_not_in_a_household").to_csv(out / "unattributed_by_source.csv",
                                                                    encoding="utf-8")

    # Tables for export (published by the export step through disclosure control).
    clear_requests(out)
    attribution = config["households"]["attribution"]
    # These two tables describe the households at the peildatum, whatever the attribution.
    meta = _metadata(config, attribution) | {"population": _peildatum_population(config)}
    households = model.households[model.households["included"]]
    request_table(out, "huishoudens_naar_type", "frequency_table",
                  households.assign(huishoudtype=with_code_list(households["household_type"],
                                                                household_type_codes(include_institutional)))
                  [["household", "huishoudtype"]],
                  unit="household", dimensions=["huishoudtype"],
                  metadata=meta | {"title": "Huishoudens naar huishoudtype", "unit": "huishoudens"})
    members = model.members[model.members["household"].isin(households["household"])]
    notes_of_positions, not_stated = position_notes(config["run"]["route"], households, members)
    request_table(out, "personen_naar_positie", "magnitude_table", _positions_per_household(members,
                                                                                          include_institutional),
                  unit="household", dimensions=["positie"], values="aantal_personen", statistic="mean",
                  value_dimensions=["positie"],
                  identities=position_identities(config["run"]["route"], households, members,
                                                 attribution != "monthly"),
                  metadata=meta | {"title": "Huishoudens en personen naar positie in het huishouden",
                                   "unit": "huishoudens", "notes": notes_of_positions})

    residence = _residence_summary(config, model, population)
    (out / RESIDENCE_FILE).write_text(json.dumps(residence, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    result = StepResult(outputs=["households", "members", "population.csv", "moves.csv", RESIDENCE_FILE, "tables/"])
    result.counts = {row.what.strip(): row.number for row in population.itertuples()}
    result.counts |= {f"population households {k.replace('_', ' ')} on the residence date": v
                      for k, v in residence["households"].items()}
    result.notes.append(_residence_log_line(residence))
    if residence["shares"]:
        result.notes.append("attribution at the peildatum: " + "; ".join(
            f"{k.replace('_', ' ')} {v:.1%}" for k, v in residence["shares"].items())
            + " of the costs attributed to the included households")
    if registers_only(config):
        result.notes.append(REGISTERS_ONLY_LOG)
    else:
        result.notes += [f"{row.what.strip()}: EUR {row.euros:,.2f}" for row in population.itertuples()
                         if not np.isnan(row.euros)]
    result.notes += model.notes or []
    result.notes += [f"personen_naar_positie: not stated in its notes, as it does not hold for every household of "
                     f"this run: '{clause}'" for clause in not_stated]
    if model.moves is not None:
        for row in model.moves.itertuples():
            result.notes.append(f"{row.year}: moved into the study area {row.persons_in:,} persons "
                                f"({row.households_in:,} households), out {row.persons_out:,} ({row.households_out:,})")
    return result


RESIDENCE_FILE = "residence.json"
ATTRIBUTION_ROWS = {
    "included_elsewhere": "    of the included: costs made while living outside the study area (counted by peildatum "
                          "attribution)",
    "outside_in_area": "    of those outside the study area: costs made while living in it (not counted by peildatum "
                       "attribution: moved out before the peildatum)",
    "no_household_in_area": "    of those in no household: costs made while living in the study area (not counted by "
                            "peildatum attribution: died or emigrated before the peildatum)",
}
"""Rows of population.csv (indented deeper than the "of which" groups they split, so the groups still
add up) with the euros that attribution at the peildatum moves into or out of the study area."""


def _attribution_shift(ctx: RunContext, model: HouseholdModel, with_costs: np.ndarray,
                       groups: dict[str, np.ndarray], progress=None,
                       shares: dict[str, float] | None = None) -> dict[str, tuple[int, float]]:
    """(persons, euros) of each row of ``ATTRIBUTION_ROWS``: of the persons ``with_costs`` in each group
    (masks aligned with them), the ledger's costs of the months in which the person lived outside
    (included) or inside (the others) the study area on the 15th, as ``attribute_months`` decides
    where a month's cost goes. Only the CBS route knows where a person lived before the peildatum;
    the municipal route returns nothing."""
    if model.area_spells is None:
        return {}
    from lib.households import SpellIndex, costs_moved_by_peildatum_attribution
    ledger = read_table(ctx.earlier_step_dir("price") / "ledger", columns=["person", "month", "cost"])
    person = ledger["person"].to_numpy()
    size = int(max(person.max(initial=-1), with_costs.max(initial=-1))) + 1
    # Person ids are dense: each person's group by one index instead of a join.
    group_of = np.full(size, -1, dtype=np.int8)
    for k, name in enumerate(("included", "outside", "no_household")):
        group_of[with_costs[groups[name]]] = k
    month, cost = ledger["month"].to_numpy(), ledger["cost"].to_numpy()
    # In slices of the ledger: nationally some hundred million rows, whose look-ups of where each
    # person lived would otherwise take several GB at once.
    area_spells = SpellIndex(model.area_spells)
    persons_moved = np.zeros((len(ATTRIBUTION_ROWS), size), dtype=bool)
    euros = np.zeros(len(ATTRIBUTION_ROWS))
    for start in range(0, len(person), _LEDGER_SLICE):
        part = slice(start, start + _LEDGER_SLICE)
        group = group_of[person[part]]
        moved = costs_moved_by_peildatum_attribution(person[part], month[part], cost[part], group, area_spells)
        for k in range(len(ATTRIBUTION_ROWS)):
            rows = moved & (group == k)
            persons_moved[k, person[part][rows]] = True
            euros[k] += float(cost[part][rows].sum())
        if progress is not None and shares is not None:
            through = min(start + _LEDGER_SLICE, len(person))
            first, last = shares["accounting"], shares["ledger by residence"]
            progress(first + (last - first) * through / len(person),
                     label=f"ledger by where each person lived, {through:,} of {len(person):,} rows")
    return {label: (int(persons_moved[k].sum()), float(euros[k])) for k, label in enumerate(ATTRIBUTION_ROWS)}


_LEDGER_SLICE = 10_000_000
_PART_SECONDS = (("registers read", 3.67), ("households at the peildatum", 0.60), ("monthly spells", 2.18),
                 ("accounting", 0.33), ("ledger by residence", 1.87), ("tables", 0.71))
"""Seconds of the parts of this step at 1 million households (monthly spells made, monitoring on; the
benchmark data, 5 December 2026): the shares of the step that its progress lines count."""


def _part_shares(monthly: bool) -> dict[str, float]:
    """The share of the step done at the end of each part (the monthly spells only when ``monthly``)."""
    parts = [(name, seconds) for name, seconds in _PART_SECONDS if monthly or name != "monthly spells"]
    ends = np.cumsum([seconds for _, seconds in parts]) / sum(seconds for _, seconds in parts)
    return {name: float(end) for (name, _), end in zip(parts, ends)}


def _residence_summary(config, model: HouseholdModel, population: pd.DataFrame) -> dict:
    """What the baseline and the report say about residence and attribution (``residence.json``):
    the residence date and whether it was configured, whether moving away is measured, the
    population's households still resident, moved out of the area, or gone from the registers on
    that date, and the shares of the attributed costs that attribution at the peildatum moves."""
    monthly = config["households"]["attribution"] == "monthly"
    residence = model.residence_date
    units = model.household_spells if monthly and model.household_spells is not None else model.households
    units = units[units["included"].to_numpy(dtype=bool)]
    counts = {"total": int(len(units))}
    for column in ("still_resident", "moved_out", "left_registers"):
        counts[column] = int(units[column].sum()) if column in units else 0
    euros = population.set_index("what")["euros"]
    base = float(euros.get("  of which in an included household of the study area at the peildatum", np.nan))
    shares = {}
    if base and base > 0:
        for key, label in ATTRIBUTION_ROWS.items():
            if label in euros.index:
                shares[key] = float(euros[label]) / base
        if config["run"]["route"] == "municipality":
            # No address history: persons with costs in the municipality's own files whom the BRP
            # extract does not list at the peildatum (moved away, died, emigrated) drop out.
            shares["no_household"] = float(euros.get(
                "  of which in no household at the peildatum (moved abroad, died, not registered)", 0.0)) / base
    return {
        "route": config["run"]["route"],
        "attribution": config["households"]["attribution"],
        "peildatum": config.peildatum.isoformat(),
        "residence_date": str(np.datetime64(residence, "D")) if residence is not None else config.peildatum.isoformat(),
        "residence_date_configured": config["study"]["residence_date"] is not None,
        # Moving away is measured when residence is decided after the peildatum, or households
        # are followed month by month (a spell can end): the CBS route only.
        "moves_measured": model.residence_date is not None and (residence > day_number(config.peildatum) or monthly),
        "households": counts,
        "shares": shares,
    }


def _residence_log_line(residence: dict) -> str:
    h = residence["households"]
    if residence["route"] != "cbs":
        return ("residence: the BRP extract describes the peildatum only; every household of the population is "
                "counted as still resident")
    how = "configured" if residence["residence_date_configured"] else "the last day the household register describes"
    return (f"residence on {residence['residence_date']} ({how}): of {h['total']:,} households of the population "
            f"{h['still_resident']:,} still live in the study area, {h['moved_out']:,} moved out of it, "
            f"{h['left_registers']:,} left the registers (died or emigrated)")


def _positions_per_household(members: pd.DataFrame, include_institutional: bool) -> pd.DataFrame:
    """One row per household and position present in it: ``household``, ``positie`` (a categorical
    of every position of the population, see ``_position_labels``) and ``aantal_personen``, the
    household's persons in that position (their sum over the positions is the household's number
    of persons, the ``aantal_personen`` of the coherence profiles)."""
    counts = (members.groupby(["household", "role"], observed=True, sort=True).size()
              .rename("aantal_personen").reset_index())
    counts = counts[counts["aantal_personen"] > 0]
    return counts.assign(positie=_position_labels(counts["role"], include_institutional),
                         aantal_personen=counts["aantal_personen"].astype(np.int64))[
        ["household", "positie", "aantal_personen"]].reset_index(drop=True)


def _position_labels(role: pd.Series, include_institutional: bool) -> pd.Series:
    """Roles as the labels of their positions, a categorical of every position of the population
    (``position_codes``), empty ones too (millions of members nationally: renaming a handful of
    categories instead of mapping every row)."""
    role = role.astype(pd.CategoricalDtype(list(ROLE_LABELS)))
    labels = role.cat.rename_categories(ROLE_LABELS)
    return pd.Series(with_code_list(labels, position_codes(include_institutional)), index=role.index)


def run_metadata(config) -> dict:
    """What every exported table of the run that rests on its costs states: population, period,
    attribution, price year, route, which domains of the method the run measures, and which sources
    delivered only a shortlist (``shortlist_note``)."""
    measured, not_measured = run_domains(config)
    shortlist = shortlist_note(config)
    detention = detention_note(config)
    return _metadata(config, config["households"]["attribution"]) | {
        "domeinen": domain_note(measured, not_measured) + "; " + domain_counting(config, measured=measured).note()} | (
        {"shortlist": shortlist} if shortlist else {}) | ({"detentie": detention} if detention else {})


def shortlist_note(config) -> str:
    """What every table resting on the costs says about ``[selection] shortlist_sources`` (providers
    that delivered only their most expensive clients), or "" when there are none. Their other clients'
    costs are missing: reach is too low and concentration too high, in every table, not only the
    selection's. The report finds it by its key (``Shortlist``) in the tables' notes."""
    sources = config["selection"]["shortlist_sources"]
    if not sources:
        return ""
    return (f"Let op: {', '.join(sources)} leverde alleen een shortlist van de duurste cliënten; kosten van "
            "andere cliënten van deze bronnen ontbreken. Het bereik is daardoor te laag en de concentratie van de "
            "kosten te hoog.")


def domain_counting(config, cube_domains=(), measured: list[str] | None = None) -> DomainCounting:
    """The method's domains of this run (``[domains] counting_groups``) over the fine domains the
    run measures (``measured``, when the caller has ``run_domains`` already) and any the cube holds
    (see ``lib.domains``)."""
    measured = run_domains(config)[0] if measured is None else measured
    return DomainCounting.from_groups(config["domains"]["counting_groups"],
                                      sorted(set(measured) | set(map(str, cube_domains))),
                                      set(method_domains(config)))


def method_domains(config) -> list[str]:
    """Every domain of the method: those of the domain mapping of appendix-2 files (the bundle's and
    the run's), of the price tables (the bundle's default and the run's) and of the benefit types."""
    mappings = {REFERENCE_DATA / "domain_labels.csv",
                config.resolve(config["sources"]["municipality"]["domain_labels"])}
    prices = [REFERENCE_DATA / "prices_default.csv"] + [config.resolve(p) for p in
                                                         config["prices"]["price_tables"] + config["prices"]["fallback_tables"]]
    domains = set(UITKERINGSOORT_DOMAINS.values())
    for path in mappings:
        domains |= set(load_domain_mapping(path)["domain"])
    for path in dict.fromkeys(prices):
        domains |= set(load_price_table(path)["domain"])
    return sorted(d for d in map(str, domains) if d.strip())


def run_domains(config) -> tuple[list[str], list[str]]:
    """The domains this run measures, and the domains of the method it does not (sorted).

    A domain is measured when a source of the run delivers it: a configured CBS register whose
    actions or spells the price tables put in that domain (bijstand from its spells or from the
    yearly amounts, as ``[prices] bijstand_from`` says; the spells' IOAW, IOAZ and Bbz in the domain
    of ``[prices] bijstand_codes``), the benefit types of UITKERINGBEDRAGTAB,
    or the appendix-2 cost files that hold it (their records, once read). A domain without a
    source is not zero but not measured: tables leave it out and say so; a measured domain is
    published in every table, empty or not (a zero cell)."""
    cbs = {name.upper() for name in config["sources"]["cbs"]}
    bijstand_from = config["prices"]["bijstand_from"]
    if bijstand_from == "yearly_amounts":
        cbs.discard("BIJSTANDUITKERINGTAB")
    prices = combine_price_tables([load_price_table(config.resolve(p)) for p in config["prices"]["price_tables"]]
                                  + [load_price_table(config.resolve(p)) for p in config["prices"]["fallback_tables"]])
    measured = set(prices.loc[prices["source"].isin(cbs), "domain"])
    if "BIJSTANDUITKERINGTAB" in cbs:
        # Its spells of IOAW, IOAZ and Bbz are priced in their regulation's domain (the code list).
        codes = load_bijstand_codes(config.resolve(config["prices"]["bijstand_codes"]))
        measured |= set(codes.loc[codes["priced"] == "yes", "domain"])
    if "UITKERINGBEDRAGTAB" in cbs:
        measured |= {d for code, d in UITKERINGSOORT_DOMAINS.items() if code != "BIJSTAND" or bijstand_from != "spells"}
    if config["sources"]["municipality"]["cost_files"] or config["sources"].get("cbs_settings", {}).get("cost_files"):
        measured |= _appendix2_domains(config)
    if "JUSTITIEZAKENBUS" in cbs and "GEDETINEERDENTAB" not in cbs and _case_file_has_sentenced_days(config):
        # Detention priced from the sentenced days of the case file (lib.pricing; never with the spells).
        derived = sentence_price_rows(prices)
        measured |= set(derived.loc[derived["source"] == CASE_SOURCE, "domain"])
    measured = sorted(d for d in map(str, measured) if d.strip())
    return measured, [d for d in method_domains(config) if d not in measured]


def detention_note(config) -> str:
    """What every table resting on the costs says when detention is priced from the sentenced days of
    the case file (no GEDETINEERDENTAB in the run; lib.pricing), or "". The report finds it by its key
    (``Detentie``) in the tables' notes."""
    cbs = {name.upper() for name in config["sources"]["cbs"]}
    if "GEDETINEERDENTAB" in cbs:
        return assumed_detention_days_note(config)
    if "JUSTITIEZAKENBUS" not in cbs or not _case_file_has_sentenced_days(config):
        return ""
    return ("Let op: detentie is geschat uit de opgelegde dagen vrijheidsstraf in JUSTITIEZAKENBUS (DAGENDETENTIE; "
            "GEDETINEERDENTAB is geen bron in deze run), vanaf de datum van de uitspraak. Dat is een bovengrens van de "
            "werkelijk uitgezeten dagen: voorarrest gaat eraf (art. 27 Wetboek van Strafrecht), en wie meer dan een jaar "
            "kreeg, komt na twee derde voorwaardelijk vrij (boek 6 Wetboek van Strafvordering, voorheen art. 15 "
            "Wetboek van Strafrecht).")


def assumed_detention_days_note(config) -> str:
    """What every table says when GEDETINEERDENTAB is read as a yearly person table without days in
    custody (lib.records.yearly_records): each detainee-year counts an assumed number of days; "" when
    the layout reads days (spells, or a days column)."""
    layout = layouts_for(config)["GEDETINEERDENTAB"]
    if layout.form != "yearly" or layout.days_column:
        return ""
    days = config["sources"]["detention_days_per_year"]
    code = f"de code in {layout.code_column}" if layout.code_column else f"code {layout.fixed_code or '?'}"
    cbs = {name.upper() for name in config["sources"]["cbs"]}
    sentences = ("JUSTITIEZAKENBUS" in cbs and _case_file_has_sentenced_days(config))
    # No figure but the setting itself (after "="): the export check refuses numbers in notes that
    # could be statistics of the table; the derivation of the default is in docs/sources.md.
    return (f"Let op: detentie is geschat. GEDETINEERDENTAB telt wie in een jaar gedetineerd was, zonder het aantal "
            f"dagen; elk gedetineerde-jaar telt als [sources] detention_days_per_year = {days:g} dagen tegen de "
            f"dagprijs van {code} (gevangeniswezen, ook voor jongeren in een justitiele jeugdinrichting). Dat aantal "
            "dagen is een aanname, geen DJI-cijfer (de afleiding uit CBS-cijfers staat in docs/sources.md, 'Detention "
            "without days')."
            + (" Waar een vonnis in JUSTITIEZAKENBUS met opgelegde dagen vrijheidsstraf (DAGENDETENTIE) een "
               "gedetineerde-jaar van dezelfde persoon raakt, tellen die dagen vanaf de datum van de uitspraak in "
               "plaats van de aanname (nooit beide); opgelegde dagen zijn een bovengrens van de uitgezeten dagen "
               "(voorarrest gaat eraf; voorwaardelijke invrijheidstelling)."
               if sentences else ""))


def _case_file_has_sentenced_days(config) -> bool:
    """Whether the JUSTITIEZAKENBUS file the run reads has the column of sentenced days
    (``DAGENDETENTIE``; its header only, chosen as the inventory chooses it)."""
    pattern = next(v for k, v in config["sources"]["cbs"].items() if k.upper() == CASE_SOURCE)
    layout = layouts_for(config)[CASE_SOURCE]
    files, _ = choose_cbs_files(layout, expand_pattern(config, pattern), config.years,
                                readable_formats(config["sources"]["format_preference"]))
    encoding = config["sources"]["csv_encoding"]
    try:
        return any(layout.stored_name(SENTENCED_DAYS_COLUMN) in {str(c).strip().upper() for c in file_columns(
            dataclasses.replace(f, encoding=encoding) if f.format == "csv" and encoding != "auto" else f)} for f in files)
    except UserFacingError:
        return False        # the read step refuses the file, with its reason


def _appendix2_domains(config) -> set[str]:
    """The domains of the records read from appendix-2 cost files; before they are read, every
    domain of the run's domain mapping (what such files can hold)."""
    records = step_folder(config, "read_sources") / "records"
    try:
        frame = read_table(records, columns=["source", "domain"])
    except FileNotFoundError:
        return set(load_domain_mapping(config.resolve(config["sources"]["municipality"]["domain_labels"]))["domain"])
    source = frame["source"].astype("category")
    # Decided per source name, not per row (millions of rows, a few sources).
    from_file = np.array([str(s).startswith("appendix2:") for s in source.cat.categories] + [False], dtype=bool)
    rows = from_file[source.cat.codes.to_numpy()]           # code -1 (no source) takes the appended False
    return set(map(str, pd.unique(frame["domain"].to_numpy()[rows])))


def domain_note(measured: list[str], not_measured: list[str]) -> str:
    """What a table says about its domains (the metadata key ``domeinen``)."""
    text = "gemeten, met een bron in deze run: " + (", ".join(measured) or "geen")
    if not_measured:
        text += ("; niet opgenomen, want zonder bron in deze run (niet gemeten, dus niet nul): "
                 + ", ".join(not_measured))
    else:
        text += "; alle domeinen van de methode hebben een bron in deze run"
    return text


def _peildatum_population(config) -> str:
    area = ", ".join(config["study"]["area"])
    institutional = "inclusief" if config["households"]["include_institutional"] else "exclusief"
    return f"huishoudens woonachtig in {area} op {config.peildatum.isoformat()} ({institutional} institutionele huishoudens)"


def _population(config, attribution: str) -> str:
    """The population of the tables about the cube's households. With monthly attribution these are
    household spells (a household in each period of unchanged composition) that lived in the area
    during the study years, not the households at the peildatum: another group, so another label
    (the safe writer links tables of one population and requires their shared cells to agree)."""
    if attribution != "monthly":
        return _peildatum_population(config)
    area = ", ".join(config["study"]["area"])
    years = config.years
    institutional = "inclusief" if config["households"]["include_institutional"] else "exclusief"
    return (f"huishoudens (elke periode van ongewijzigde samenstelling een huishouden) woonachtig in {area} in "
            f"{years[0]}-{years[-1]} ({institutional} institutionele huishoudens)")


NO_COSTS_NOTE = ("geen kosten gelezen: alleen registers (deze run noemt geen kostenbron; ze beschrijft huishoudens "
                 "en woonplaats; kosten zijn niet gemeten, dus niet nul)")
"""What every table of a run over the registers alone states (the metadata key ``kosten``)."""


def _metadata(config, attribution: str) -> dict:
    years = config.years
    metadata = {
        "population": _population(config, attribution),
        "period": f"peildatum {config.peildatum.isoformat()}; studiejaren {years[0]}-{years[-1]}",
        "attribution": {"peildatum": "personen tellen bij hun huishouden op de peildatum",
                        "monthly": "kosten tellen bij het huishouden van de persoon in die maand"}[attribution],
        "route": config["run"]["route"],
        "price_year": f"bedragen in euro's van {config['prices']['price_year']} (prijspeil)",
    }
    if registers_only(config):
        # No amounts: no price level to state, but that no costs were read.
        del metadata["price_year"]
        metadata["kosten"] = NO_COSTS_NOTE
    return metadata


STEP = Step(
    name="households",
    title="households at the peildatum, residence, attribution, persons left out",
    run=form_households,
    reads=("02_read_sources/persons", "02_read_sources/records", "02_read_sources/registers/<dataset>",
           "03_price/record_cost", "the BRP extract (municipal route)"),
    writes=("households", "members", "membership_spells", "household_spells", "area_spells", "moves.csv",
            "population.csv", "tables/"),
)
