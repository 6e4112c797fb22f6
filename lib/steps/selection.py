"""Step 8: selection: the aggregated profile of the households that qualify for a tailored approach.

Applies ``[selection]`` to the household cube and requests the profile of the selected
group for export: its size by household type, its domains and its costs. The list of
selected households (household and member keys, costs, domains) is written only to the
work folder (``selection_list.csv``), only with ``write_list = true``, and is refused in
a statistics-only run (CBS Remote Access).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.baseline import CHILD_LABELS, RANKING, RANKING_NOTE, with_code_list
from lib.export_requests import clear_requests, request_table
from lib.pipeline import RunContext, Step, StepResult
from lib.selection import check_list_allowed, select_households
from lib.steps.households import domain_counting, household_type_codes, run_domains, run_metadata
from lib.steps.read_sources import registers_only, skipped_without_costs
from lib.workfiles import read_table


def describe_criteria(settings: dict) -> str:
    parts = []
    if settings["top_share"] > 0:
        share = f"{settings['top_share'] * 100:g}".replace(".", ",")
        parts.append(f"de duurste {share}% van alle huishoudens ({RANKING})")
    if settings["min_domains"] > 0:
        parts.append(f"kosten in minstens {settings['min_domains']} domeinen")
    if settings["combinations"]:
        parts.append("een van de combinaties " + "; ".join(" + ".join(c) for c in settings["combinations"]))
    if settings["min_cost"] > 0:
        parts.append(f"minstens EUR {settings['min_cost']:,.0f} kosten")
    joined = (" en " if settings["combine"] == "all" else " of ").join(parts)
    return joined + ("; nog woonachtig in het onderzoeksgebied" if settings["resident_only"] else "")


def selection(ctx: RunContext) -> StepResult:
    config = ctx.config
    settings = config["selection"]
    check_list_allowed(config["run"]["statistics_only"], settings["write_list"])
    if registers_only(config):
        return skipped_without_costs()
    cube_dir = ctx.earlier_step_dir("cube")
    households = read_table(cube_dir / "households")
    household_cube = read_table(cube_dir / "household_cube")
    # The domains of the run: those with a source (empty or not) and any the cube holds.
    domains = sorted(set(run_domains(config)[0]) | set(map(str, household_cube["domain"].unique())))
    counting = domain_counting(config, domains)
    selected = select_households(households, domains, settings, counting)
    chosen = households[selected.to_numpy()]
    out = ctx.step_dir
    clear_requests(out)
    criteria = describe_criteria(settings)
    base = run_metadata(config)
    meta = base | {"population": f"{base['population']}, geselecteerd: {criteria}", "unit": "huishoudens",
                   "notes": [f"Selectiecriteria: {criteria}."] + ([RANKING_NOTE] if settings["top_share"] > 0 else [])}
    # A shortlist source (a provider that delivered only its most expensive clients) is stated by the
    # run's metadata (lib.steps.households.shortlist_note), on this table as on every table of the costs.
    result = StepResult(outputs=["tables/"])
    result.counts = {"households": len(households), "households selected": len(chosen)}
    result.notes.append(f"criteria: {criteria}")
    min_units = config.disclosure_rules.min_units
    if len(chosen) < min_units:
        # Every figure about fewer than min_units households would be suppressed, and the group's
        # size follows from its criteria (the ceil(x N) most expensive): publish nothing about it.
        result.notes.append(f"the selected group has fewer than {min_units} households: its profile is not "
                            "published (no selection tables)")
        return _with_list(ctx, settings, result, chosen, household_cube)
    request_table(out, "selectie_huishoudtype", "frequency_table",
                  chosen.assign(huishoudtype=with_code_list(chosen["household_type"], household_type_codes(
                      config["households"]["include_institutional"])))[["household", "huishoudtype"]],
                  unit="household", dimensions=["huishoudtype"],
                  metadata=meta | {"title": "Geselecteerde huishoudens naar huishoudtype"})
    # Per domain as the method counts them (the justice chain is one domain), as reach is counted.
    cube_domains = sorted(map(str, household_cube["domain"].unique()))
    grouped, names = counting.group_costs(chosen[[f"cost_{d}" for d in cube_domains]].to_numpy(), cube_domains)
    row, column = np.nonzero(grouped > 0)
    in_domain = pd.DataFrame({"household": chosen["household"].to_numpy()[row],
                              "domein": with_code_list(np.asarray(names, dtype=object)[column],
                                                       counting.group_index(domains)[0]),
                              "kosten": grouped[row, column]})
    request_table(out, "selectie_domeinen", "magnitude_table", in_domain[["household", "domein", "kosten"]],
                  unit="household", dimensions=["domein"], values="kosten", statistic="sum",
                  value_dimensions=["domein"], value_groups={"domein": {g: list(m) for g, m in counting.merged()}},
                  metadata=meta | {"title": "Geselecteerde huishoudens: aantal en kosten per domein (een huishouden "
                                            "kan in meer domeinen voorkomen)"})
    request_table(out, "selectie_kosten", "magnitude_table",
                  chosen.assign(kinderen=pd.Categorical.from_codes(np.minimum(chosen["n_children"].to_numpy(), 3),
                                                                   categories=CHILD_LABELS),
                                kosten=chosen["cost_total"])[["household", "kinderen", "kosten"]],
                  unit="household", dimensions=["kinderen"], values="kosten", statistic="mean",
                  metadata=meta | {"title": "Geselecteerde huishoudens: gemiddelde kosten over de studiejaren naar "
                                            "aantal thuiswonende kinderen"})
    return _with_list(ctx, settings, result, chosen, household_cube)


def _with_list(ctx: RunContext, settings: dict, result: StepResult, chosen: pd.DataFrame,
               household_cube: pd.DataFrame) -> StepResult:
    if settings["write_list"]:
        list_path = write_selection_list(ctx, chosen, household_cube)
        result.outputs.append(list_path.name)
        result.notes.append(f"list of selected households (internal, never exported): {list_path}")
    return result


def write_selection_list(ctx: RunContext, chosen: pd.DataFrame, household_cube: pd.DataFrame):
    """Household key, member keys, five-year cost and domains of every selected household."""
    hh = read_table(ctx.earlier_step_dir("households") / "households")
    members = read_table(ctx.earlier_step_dir("households") / "members")
    persons = read_table(ctx.earlier_step_dir("read_sources") / "persons", columns=["person", "key"])
    key_column = "huishoudnr" if "huishoudnr" in hh else "locatiecode"
    member_keys = members[members["household"].isin(chosen["household"])].assign(
        key=lambda m: persons.set_index("person")["key"].reindex(m["person"]).map("{:09d}".format).to_numpy())
    keys = member_keys.groupby("household")["key"].agg(" ".join)
    domains = (household_cube[household_cube["household"].isin(chosen["household"]) & (household_cube["cost"] > 0)]
               .groupby("household")["domain"].agg(lambda d: " + ".join(sorted(set(map(str, d))))))
    listing = pd.DataFrame({
        "household": hh.set_index("household")[key_column].reindex(chosen["household"]).to_numpy(),
        "members": keys.reindex(chosen["household"]).to_numpy(),
        "cost_total": chosen["cost_total"].round(2).to_numpy(),
        "domains": domains.reindex(chosen["household"]).to_numpy()})
    path = ctx.step_dir / "selection_list.csv"
    listing.to_csv(path, index=False, encoding="utf-8")
    return path


STEP = Step(
    name="selection",
    title="selection: profile of the households that qualify for a tailored approach",
    run=selection,
    reads=("05_cube/households", "05_cube/household_cube"),
    writes=("tables/ (profile of the selected group)", "selection_list.csv (only with write_list, never in CBS RA)"),
)
