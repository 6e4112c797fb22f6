"""Step 6: the baseline (nulmeting): reach, concentration, costs by domain, year and composition.

Reads the household cube and requests every baseline table (``lib.baseline``) for export.
Each table states its unit, population, period, attribution and price year; the export
step publishes them through disclosure control. Writes the requests to
``<work>/06_baseline/tables/`` and a summary of the main figures (unprotected, internal)
to ``summary.csv``.
"""
from __future__ import annotations

import json

import pandas as pd

from lib.baseline import RANKING_NOTE, area_levels, area_tables, baseline_tables, gini
from lib.comparison import requested_tables as comparison_tables
from lib.export_requests import clear_requests, request_tables
from lib.errors import UserFacingError
from lib.pipeline import RunContext, Step, StepResult, step_folder
from lib.price_sensitivity import scenario_tables_configured, sensitivity_tables
from lib.provenance import STEP_JSON
from lib.provider_coverage import coverage_tables
from lib.steps.households import RESIDENCE_FILE, domain_counting, household_type_codes, run_domains, run_metadata
from lib.steps.read_sources import registers_only, skipped_without_costs
from lib.workfiles import read_table


def moves_measured(config, residence: dict | None = None) -> bool:
    """Can a household of the population have moved away? Only in the CBS route, when residence
    is decided after the peildatum (``residence`` is the households step's ``residence.json``: its
    residence date, by default the last day the household register describes) or households are
    followed month by month; otherwise every household lives in the study area by definition (not
    measured)."""
    if residence is not None:
        return bool(residence["moves_measured"])
    later = (config["study"]["residence_date"] or config.peildatum) != config.peildatum
    return config["run"]["route"] == "cbs" and (later or config["households"]["attribution"] == "monthly")


def read_residence(ctx: RunContext) -> dict | None:
    """The households step's ``residence.json``, of the households run the cube was computed from
    (None when that run wrote none).

    Read through the cube, the baseline's one upstream step: the cube's ``step.json`` names the run
    of the households step it was computed from, and a later run of that step makes the cube out of
    date (refused before this step runs); the run id is compared all the same, so the notes never
    describe another run than the figures."""
    cube = json.loads((ctx.earlier_step_dir("cube") / STEP_JSON).read_text(encoding="utf-8"))
    folder = step_folder(ctx.config, "households")
    path, manifest = folder / RESIDENCE_FILE, folder / STEP_JSON
    if not path.is_file() or not manifest.is_file():
        return None
    run_id = json.loads(manifest.read_text(encoding="utf-8")).get("run_id")
    if run_id != cube.get("computed_from", {}).get("upstream", {}).get("households"):
        raise UserFacingError(f"{path}: the households step ran again after the cube was computed; rerun from the "
                              f"cube (run_all.py --from cube)")
    return json.loads(path.read_text(encoding="utf-8"))


def baseline(ctx: RunContext) -> StepResult:
    config = ctx.config
    if registers_only(config):
        return skipped_without_costs()
    cube_dir = ctx.earlier_step_dir("cube")
    households = read_table(cube_dir / "households")
    household_cube = read_table(cube_dir / "household_cube")
    domains = sorted(map(str, household_cube["domain"].unique()))
    # Every table publishes the whole code list of its classifications (empty categories as zero
    # cells): the domains with a source in the run, the study years, the household types.
    residence = read_residence(ctx)
    counting = domain_counting(config, domains)
    tables = baseline_tables(households, household_cube, domains, config["baseline"],
                             config.disclosure_rules.min_units, run_metadata(config),
                             domain_codes=run_domains(config)[0], years=config.years,
                             household_types=household_type_codes(config["households"]["include_institutional"]),
                             moves_measured=moves_measured(config, residence),
                             selection_share=config["selection"]["top_share"], residence=residence,
                             counting=counting)
    # Where the households live: tables by gemeente, wijk and buurt (lib.areas, lib.baseline.area_tables).
    area_specs, area_log = _area_tables(config, households, household_cube, residence)
    tables += area_specs
    # Coverage of the providers (paragraph 2.2b): only in a run that read appendix-2 files.
    tables += coverage_tables(ctx, run_metadata(config), residence)
    # Repeated measurements: an earlier run's baseline beside this one's (lib.comparison).
    comparison, comparison_log = comparison_tables(ctx, run_metadata(config))
    tables += comparison
    scenarios = {s: read_table(cube_dir / f"households_{s}") for s in scenario_tables_configured(config)}
    if scenarios:
        tables += sensitivity_tables(households, scenarios, domains, counting,
                                     config["baseline"], config["selection"], config.disclosure_rules,
                                     run_metadata(config), residence)
    out = ctx.step_dir
    clear_requests(out)
    request_tables(out, tables)

    cost = households["cost_total"]
    ordered = cost.sort_values(ascending=False).to_numpy()
    total = ordered.sum()
    summary = {"households": len(households), "households with costs": int((cost > 0).sum()),
               "reach (share with costs)": float((cost > 0).mean()), "total cost": float(total),
               "gini": gini(cost.to_numpy())}
    for share in config["baseline"]["top_shares"]:
        k = int(-(-share * len(ordered) // 1))
        summary[f"share of costs of the top {share:.1%}"] = float(ordered[:k].sum() / total) if total else 0.0
    pd.Series(summary).to_csv(out / "summary.csv", header=["value"], encoding="utf-8")
    result = StepResult(outputs=["tables/", "summary.csv"])
    result.counts = {"tables requested": len(tables), "households": len(households),
                     "households with costs": summary["households with costs"]}
    result.notes += [f"{k}: {v:,.3f}" if isinstance(v, float) else f"{k}: {v:,}" for k, v in summary.items()]
    result.notes += area_log + comparison_log
    return result


def _area_tables(config, households: pd.DataFrame, household_cube: pd.DataFrame,
                 residence: dict | None) -> tuple[list, list[str]]:
    """The tables of where the households live (``lib.baseline.area_tables``), with the selected
    households of ``[selection]`` by area (selected as the selection step selects them, and described
    with its population, so that the export-wide audit links them with the selection's tables)."""
    from lib.selection import select_households
    from lib.steps.selection import describe_criteria
    levels, log = area_levels(households, config["study"]["area"], config["baseline"]["area_level"])
    if not levels:
        return [], log
    metadata = run_metadata(config)
    settings = config["selection"]
    domains = sorted(set(run_domains(config)[0]) | set(map(str, household_cube["domain"].unique())))
    selected = select_households(households, domains, settings, domain_counting(config, domains)).to_numpy()
    criteria = describe_criteria(settings)
    selection_metadata = metadata | {
        "population": f"{metadata['population']}, geselecteerd: {criteria}",
        "notes": [f"Selectiecriteria: {criteria}."] + ([RANKING_NOTE] if settings["top_share"] > 0 else [])}
    tables, more = area_tables(households, levels, config["baseline"], config.disclosure_rules.min_units, metadata,
                               residence, selection_share=settings["top_share"], selected=selected,
                               selection_metadata=selection_metadata)
    return tables, log + more


STEP = Step(
    name="baseline",
    title="baseline: reach, concentration, costs by domain, year and composition",
    run=baseline,
    reads=("05_cube/households", "05_cube/household_cube"),
    writes=("tables/ (requests for export)", "summary.csv"),
)
