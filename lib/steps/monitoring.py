"""Step 9: monitoring: the cohort's costs after its start, against a matched comparison group.

With ``[monitoring] enabled``: fixes the cohort on ``cohort_start`` (households selected
by ``[selection]`` on the years before the start, or the households of the persons in
``cohort_file``), follows its members' costs per period, matches a comparison group and
estimates the change (``lib.monitoring``). Requests for export: the trend per group and
period, the estimates (before/after with its warning; the difference in differences and its
placebo check only when the overlap and balance gate of ``lib.monitoring.publication_gate``
passes, otherwise the notes say why), the balance table (every |SMD| above 0.1 after
matching flagged), and the cohort's status (matched, moved away, dissolved). With
``[monitoring] comparison = "eligible"`` (needs a Setting in lib.config) the comparison
households are only those that meet the ``[selection]`` criteria but are not in the cohort. Writes
``estimates.csv``, ``balance.csv`` and ``cohort_status.csv`` (internal) too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.dates import day_number, month_index
from lib.errors import UserFacingError
from lib.baseline import with_code_list
from lib.export_requests import clear_requests, request_table
from lib.households import households_on
from lib.monitoring import (PLACEBO_LABEL, cohort_costs, follow_up_periods, household_matrix, period_of_month,
                            run_monitoring)
from lib.pipeline import RunContext, Step, StepResult
from lib.selection import select_households
from lib.steps.households import domain_counting, run_metadata
from lib.steps.read_sources import registers_only, skipped_without_costs, study_period
from lib.steps.selection import describe_criteria
from lib.workfiles import read_table

FLAG_COLUMN = "smd_na_boven_grens"
# The first words of the effect table's note when the comparison estimates are not published
# (the report can look for them).
NOT_PUBLISHED_NOTE = "Het effect t.o.v. de vergelijkingsgroep is NIET gepubliceerd"
TREND_NOT_COMPARABLE = ("Let op: de gematchte vergelijkingsgroep is niet vergelijkbaar met het cohort (te weinig overlap "
                        "of balans, zie de toelichting bij monitoring_effect); het verschil tussen de lijnen is geen "
                        "effect van de aanpak.")
GROUP_UNITS = ("n_cohort_before", "n_cohort_after", "n_comparison_before", "n_comparison_after")
BALANCE_UNITS = ("n_cohort_all", "n_comparison_pool", "n_cohort_matched", "n_comparison_matched")
_PART_SECONDS = (("ledger read", 1.23), ("households on the start date", 1.62), ("costs per period", 1.23),
                 ("comparison group matched", 3.91), ("estimates and tables", 0.37))
"""Seconds of the parts of this step at 1 million households (the benchmark data, 5 December 2026; the
cohort's selection, 0.16 s, counted with the matching that follows it)."""
PART_SHARES = {name: float(end) for (name, _), end in zip(
    _PART_SECONDS, np.cumsum([seconds for _, seconds in _PART_SECONDS]) / sum(s for _, s in _PART_SECONDS))}
"""The share of the step done at the end of each part, for the step's progress lines."""
WARNING = ("Waarschuwing: huishoudens die om hun hoge kosten zijn geselecteerd, worden ook zonder aanpak gemiddeld "
           "goedkoper (regressie naar het gemiddelde). Het verschil voor/na is daarom geen effect van de aanpak; "
           "het effect is het verschil met de gematchte vergelijkingsgroep.")


def cohort_at_start(ctx: RunContext, start: int):
    """Households of the study area on the start date, their members, and moved/dissolved flags."""
    config = ctx.config
    hh_dir = ctx.earlier_step_dir("households")
    if config["run"]["route"] != "cbs":
        households = read_table(hh_dir / "households")
        households = households[households["included"]].assign(moved_away=False, dissolved=False)
        members = read_table(hh_dir / "members")
        return households, members[members["household"].isin(households["household"])], [
            "municipal route: the BRP extract describes the peildatum only, so the cohort's households are those of "
            "the peildatum and moves or dissolutions during the follow-up are not known"]
    spells = {n: read_table(hh_dir / n) for n in ("household_spells", "membership_spells", "area_spells")}
    households, members = households_on(start, spells["household_spells"], spells["membership_spells"],
                                        spells["area_spells"], study_period(config).end)
    keep = households["in_area"].to_numpy() & (config["households"]["include_institutional"]
                                               | ~households["institutional"].to_numpy())
    households = households[keep].reset_index(drop=True)
    return households, members[members["household"].isin(households["household"])], []


def monitoring(ctx: RunContext) -> StepResult:
    config = ctx.config
    settings = config["monitoring"]
    out = ctx.step_dir
    clear_requests(out)
    if not settings["enabled"]:
        return StepResult(notes=["monitoring not enabled ([monitoring] enabled = false)"])
    if registers_only(config):
        return skipped_without_costs()
    start = day_number(settings["cohort_start"])
    progress = ctx.progress("monitoring", 1.0)
    ledger = read_table(ctx.earlier_step_dir("price") / "ledger", columns=["person", "month", "domain", "cost"])
    progress.part("ledger read", PART_SHARES["ledger read"])
    households, members, notes = cohort_at_start(ctx, start)
    progress.part("households on the start date", PART_SHARES["households on the start date"])
    domains = sorted(map(str, ledger["domain"].unique()))
    counting = domain_counting(config, domains)
    unit = settings["period"]
    period = study_period(config)
    periods = sorted(pd.unique(period_of_month(np.arange(month_index(period.start), month_index(period.end) + 1),
                                               unit)).tolist())
    # The cohort's costs per period and domain, once: the selection of the cohort and the
    # monitoring both use them (the ledger has over a hundred million rows nationally).
    costs = cohort_costs(ledger, members, unit, domains)
    del ledger
    progress.part("costs per period", PART_SHARES["costs per period"])
    start_month = int(month_index(start))
    if settings["cohort"] == "selection":
        before_start = costs[~costs["period"].isin(follow_up_periods(periods, start_month, unit)).to_numpy()]
        cohort = _selected_before_start(before_start, households, domains, config["selection"], counting)
        cohort_text = "geselecteerd op de kosten voor de start: " + describe_criteria(config["selection"])
    else:
        cohort = _enrolled(ctx, households, members)
        cohort_text = "ingeschreven huishoudens (cohortbestand)"
    comparison_pool = None
    if settings.get("comparison", "all") == "eligible":
        # An enrolled cohort against the households that meet the selection criteria on the
        # costs before the start but were not enrolled (lib.monitoring, "Which design").
        before_start = costs[~costs["period"].isin(follow_up_periods(periods, start_month, unit)).to_numpy()]
        comparison_pool = _selected_before_start(before_start, households, domains, config["selection"], counting) & ~cohort
        cohort_text += ("; vergelijkingsgroep uit de huishoudens die aan de selectiecriteria voldoen maar niet zijn "
                        "ingeschreven: " + describe_criteria(config["selection"]))
    if cohort.sum() < 2:
        raise UserFacingError(f"[monitoring] the cohort has {int(cohort.sum())} household(s) on {settings['cohort_start']}"
                              "; check the cohort definition")
    result = run_monitoring(costs, households, cohort, start_month, periods, unit, domains,
                            settings["caliper"], config["run"]["seed"], households["moved_away"].to_numpy(bool),
                            households["dissolved"].to_numpy(bool), settings["movers"],
                            comparison_pool=comparison_pool, counting=counting,
                            part_done=lambda label: progress.part(label, PART_SHARES[label]))
    result.estimates.to_csv(out / "estimates.csv", index=False, encoding="utf-8")
    result.balance.to_csv(out / "balance.csv", index=False, encoding="utf-8")
    result.status.to_csv(out / "cohort_status.csv", index=False, encoding="utf-8")

    base = run_metadata(config)
    population = (f"cohort van {settings['cohort_start']} ({cohort_text}) en gematchte vergelijkingsgroep, "
                  f"{base['population']}")
    meta = base | {"population": population, "unit": "huishoudens",
                   "notes": [WARNING, "Leden van het cohort worden gevolgd vanaf de start, ook als ze verhuizen "
                             f"({'gevolgd' if settings['movers'] == 'follow' else 'uitgesloten'})."]}
    # Both groups and every period of the study, empty or not (code lists, see lib.baseline.with_code_list).
    panel = result.panel.assign(groep=with_code_list(result.panel["group"].map(
                                    {"cohort": "cohort", "comparison": "vergelijkingsgroep"}),
                                    ["cohort", "vergelijkingsgroep"]),
                                periode=with_code_list(result.panel["period"], periods), kosten=result.panel["cost"])
    matched = int(result.status["matched"].sum())
    min_units = config.disclosure_rules.min_units
    if matched < min_units:
        # 1:1 matching: the comparison group is as large as the matched cohort, so the trend's
        # Totaal gives both groups' sizes; below min_units nothing of it may be published.
        notes.append(f"monitoring_trend not published: {matched} matched cohort households, fewer than {min_units}")
    elif len(panel):
        request_table(out, "monitoring_trend", "magnitude_table", panel[["household", "groep", "periode", "kosten"]],
                      unit="household", dimensions=["groep", "periode"], values="kosten", statistic="mean",
                      # Every household of both groups is followed in every period (zero costs
                      # too): that a period holds the whole group is the design, not a disclosure.
                      panel="periode",
                      metadata=meta | {"notes": meta["notes"] + ([TREND_NOT_COMPARABLE] if result.gate else []),
                                       "title": "Gemiddelde kosten per huishouden per "
                                                f"{'jaar' if unit == 'year' else 'halfjaar'}: cohort en gematchte "
                                                "vergelijkingsgroep"})
    # Not published, but checked per row by the safe writer: the households (not household-
    # periods) with costs behind each estimate per group before and after the start, and the
    # residual degrees of freedom in households (clusters minus parameters). The comparison
    # estimates (effect and placebo) are requested only when the overlap and balance gate
    # passes (lib.monitoring.publication_gate); the notes say why when not.
    # No count of households is published beside the estimates: the cohort's size is the Totaal of
    # monitoring_cohort, suppressed there with its parts when they are small (a published 24 beside
    # 15 matched gave back 9 not matched); the writer states no number of observations either.
    published = result.estimates[result.estimates["published"].astype(bool)]
    estimates = published.reindex(columns=["estimate", "value", "se", "ci_low", "ci_high",
                                           *GROUP_UNITS, "residual_df", "n_parameters"]).rename(
        columns={"estimate": "schatting", "value": "verschil_per_huishouden_per_periode", "se": "standaardfout",
                 "ci_low": "ondergrens_95", "ci_high": "bovengrens_95"})
    effect_notes = meta["notes"] + effect_notes_dutch(result)
    request_table(out, "monitoring_effect", "model_table", estimates,
                  row_units=list(GROUP_UNITS), row_residual_df="residual_df", n_parameters="n_parameters",
                  standard_errors="standaardfout", unit_label="households",
                  # Observations are household-periods (the standard errors count households); not
                  # stated in the notes (periods x households gives the cohort's size back).
                  n_observations=len(periods) * max(2 * matched, int(cohort.sum())), observations_in_notes=False,
                  metadata=meta | {"notes": effect_notes,
                                   "title": "Verandering van de kosten na de start: voor/na in het cohort en het effect "
                                            "t.o.v. de vergelijkingsgroep (verschil-in-verschillen, standaardfouten "
                                            "geclusterd per huishouden)"})
    if matched >= 2:
        # Each standardised difference compares two group means: per group the households that
        # drive it (covariate_units), two parameters, residual degrees of freedom in households.
        # Every |SMD| above 0.1 after matching is flagged ("ja"); a row the writer will suppress
        # (a group below min_units) gets no flag, which would tell about its hidden value.
        balance = result.balance.rename(columns={"covariate": "kenmerk", "smd_before": "smd_voor_matching",
                                                 "smd_after": "smd_na_matching"})
        shown = (balance[list(BALANCE_UNITS)].min(axis=1) >= min_units).to_numpy()
        balance.insert(3, FLAG_COLUMN, np.where(shown, np.where(balance.pop("flag_after"), "ja", "nee"), "x"))
        request_table(out, "monitoring_balans", "model_table", balance,
                      row_units=list(BALANCE_UNITS), n_parameters=2, unit_label="households",
                      residual_df=max(2 * matched - 2, 0), n_observations=2 * matched,
                      metadata=meta | {"notes": meta["notes"] + balance_notes_dutch(result),
                                       "title": "Balans van cohort en vergelijkingsgroep: gestandaardiseerde "
                                                "verschillen in de kenmerken voor de start, voor en na matching"})
    status = result.status
    # Every status the route can know, empty or not; the municipal route does not know moves and
    # dissolutions during the follow-up (not measured, so not published as zero: said in the notes).
    # The cohort is the Totaal row: matched and not matched split it, so every cohort household is
    # in the table (a row "in cohort" beside the Totaal would hold the whole table by definition).
    known = ["a. gematcht", "b. niet gematcht"]
    if config["run"]["route"] == "cbs":
        known += ["c. lid verhuisd uit het gebied tijdens follow-up", "d. huishouden ontbonden tijdens follow-up"]
    matched_rows = status["matched"].to_numpy(bool)
    labels = pd.concat([
        pd.DataFrame({"household": status["household"],
                      "cohortstatus": np.where(matched_rows, "a. gematcht", "b. niet gematcht")}),
        pd.DataFrame({"household": status.loc[status["moved_away"], "household"],
                      "cohortstatus": "c. lid verhuisd uit het gebied tijdens follow-up"}),
        pd.DataFrame({"household": status.loc[status["dissolved"], "household"],
                      "cohortstatus": "d. huishouden ontbonden tijdens follow-up"})], ignore_index=True)
    cohort_population = f"cohort van {settings['cohort_start']} ({cohort_text}), {base['population']}"
    labels = labels.assign(cohortstatus=with_code_list(labels["cohortstatus"], known))
    cohort_notes = meta["notes"] + ([] if config["run"]["route"] == "cbs" else [
        "Verhuisd en ontbonden tijdens de follow-up zijn niet opgenomen: de gemeentelijke route kent alleen de "
        "peildatum (BRP-extract), dus verhuizingen en ontbindingen zijn niet gemeten."])
    request_table(out, "monitoring_cohort", "frequency_table", labels, unit="household", dimensions=["cohortstatus"],
                  metadata=meta | {"notes": cohort_notes, "population": cohort_population, "title": "Cohorthuishoudens (Totaal): gematcht of niet, verhuisd en ontbonden "
                                            "(een huishouden kan in meer rijen voorkomen)"})
    step = StepResult(outputs=["tables/", "estimates.csv", "balance.csv", "cohort_status.csv"])
    step.counts = {"cohort households": int(cohort.sum()), "matched": matched}
    step.notes += notes + result.notes
    for row in result.estimates.itertuples():
        step.notes.append(f"{row.estimate}: {row.value:,.0f} per household per period "
                          f"(95% CI {row.ci_low:,.0f} to {row.ci_high:,.0f})"
                          + ("" if row.published else " [not published: overlap and balance gate]"))
    return step


def effect_notes_dutch(result) -> list[str]:
    """The notes of the effect table: the publication gate and the placebo check, in Dutch.
    Thresholds only (after "ten minste", "<", ">"), no statistic of the table."""
    from lib.monitoring import MIN_MATCHED_SHARE, SMD_FLAG, SMD_MAX_ADJUSTED
    flag, adjusted = f"{SMD_FLAG:.1f}".replace(".", ","), f"{SMD_MAX_ADJUSTED:.2f}".replace(".", ",")
    notes = [
        "Het effect t.o.v. de vergelijkingsgroep (en de placebotoets) wordt alleen gepubliceerd als de groepen "
        f"overlappen: ten minste {MIN_MATCHED_SHARE:.0%} van het cohort heeft een gematcht huishouden "
        "(anders gaat de schatting over een klein, niet representatief deel van het cohort; Rosenbaum & Rubin "
        f"1985, Stuart 2010), de kosten voor de start hebben na matching een gestandaardiseerd verschil < {flag} "
        f"(Austin 2011) en geen ander kenmerk een gestandaardiseerd verschil > {adjusted} (Rubin 2001).",
        "Standaardfouten zijn geclusterd per huishouden (met de gebruikelijke kleine-steekproefcorrectie); de "
        "huishoudeffecten, die binnen de clusters "
        "vallen, tellen niet nog eens als parameters (Cameron & Miller 2015)."]
    if result.gate:
        notes.append(NOT_PUBLISHED_NOTE + ": " + "; ".join(result.gate)
                     + ". Het voor/na-verschil in het cohort is geen effect van de aanpak (regressie naar het "
                       "gemiddelde); deze monitoring kan een effect dus niet aantonen of uitsluiten. Een effect is "
                       "alleen te schatten als er vergelijkbare huishoudens zonder aanpak zijn, bijvoorbeeld "
                       "huishoudens die aan de selectiecriteria voldoen maar (nog) niet zijn ingeschreven.")
    elif (result.estimates["estimate"] == PLACEBO_LABEL).any():
        notes.append("Placebotoets: hetzelfde verschil-in-verschillen op alleen de perioden voor de start, met een "
                     "start een periode eerder. Ligt het interval ver van 0, dan liepen de groepen al voor de start "
                     "uiteen en is het effect niet betrouwbaar. De matching gebruikte de kosten van de laatste periode "
                     "voor de start, dus de toets is niet onafhankelijk van de matching.")
    return notes


def balance_notes_dutch(result) -> list[str]:
    from lib.monitoring import SMD_FLAG
    flag = f"{SMD_FLAG:.1f}".replace(".", ",")
    return [f"Gestandaardiseerd verschil (SMD): verschil van de gemiddelden gedeeld door de gepoolde standaardafwijking. "
            f"Kolom {FLAG_COLUMN}: 'ja' als het verschil na matching in absolute waarde groter is dan {flag}, de "
            "gangbare grens voor een verwaarloosbaar verschil (Austin 2011; Stuart 2010); 'x' waar de rij om "
            "onthullingsbeheersing niet getoond wordt."]


def _selected_before_start(costs_before_start, households, domains, selection_settings, counting) -> np.ndarray:
    """The selection criteria applied to the costs of the periods before the start (the start
    is the first day of a period, so these are exactly the costs before it)."""
    per_domain = household_matrix(costs_before_start, households["household"].to_numpy(), "domain", domains)
    frame = pd.DataFrame({"household": households["household"].to_numpy(),
                          "cost_total": per_domain.sum(axis=1),
                          "n_domains": counting.count_present(per_domain, domains),
                          "still_resident": households["in_area"].to_numpy(dtype=bool) if "in_area" in households
                          else True})
    for j, d in enumerate(domains):
        frame[f"cost_{d}"] = per_domain[:, j]
    return select_households(frame, domains, selection_settings, counting).to_numpy()


def _enrolled(ctx: RunContext, households: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    config = ctx.config
    path = config.resolve(config["monitoring"]["cohort_file"])
    if not path.is_file():
        raise UserFacingError(f"[monitoring] cohort_file {path} not found")
    listed = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    if "key" not in listed.columns:
        raise UserFacingError(f"{path}: the cohort file needs a column 'key' (RINPERSOON or BSN of enrolled persons)")
    keys = pd.to_numeric(listed["key"].str.strip(), errors="coerce").dropna().astype(np.int64)
    persons = read_table(ctx.earlier_step_dir("read_sources") / "persons", columns=["person", "key"])
    enrolled_persons = persons.loc[persons["key"].isin(keys), "person"]
    enrolled_households = members.loc[members["person"].isin(enrolled_persons), "household"]
    return households["household"].isin(enrolled_households).to_numpy()


STEP = Step(
    name="monitoring",
    title="monitoring: the cohort's costs after its start against a matched comparison group",
    run=monitoring,
    reads=("03_price/ledger", "04_households (spells)", "[monitoring] cohort_file"),
    writes=("tables/", "estimates.csv", "balance.csv", "cohort_status.csv"),
)
