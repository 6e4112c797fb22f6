"""Repeated measurements (paragraph 2.5): this run's baseline beside an earlier run's.

"Het periodiek herhalen van de nulmeting ... geeft informatie over de kostenontwikkeling." A run
whose ``[comparison] earlier_work_dir`` names the work folder of an earlier run (another peildatum
and other study years, the same study area and price year) publishes, in its own export:

* ``vergelijking_bereik``: per measurement (``meting``, labelled by its peildatum) the households
  without costs, with costs in one or two, and in three or more of the method's domains
  (``lib.domains``): persons, households per 10,000 persons and the mean cost per person;
* ``vergelijking_kosten_domein``: per measurement the persons with costs and their mean cost per
  fine domain over its five years;
* ``vergelijking_concentratie``: per measurement the share of its costs of the most expensive 1%,
  5% and 10% of its households (the cuts both rankings may publish);
* ``selectie_vervolg`` and ``selectie_vervolg_kosten``: the persons of the earlier run's selected
  households, followed into this baseline: still in the study area, in a selected household again,
  and their costs per year of this run.

Both measurements are in the same tables, so that the one safe writer of the export protects
them together: the difference of two exports about overlapping populations is a disclosure risk
that no writer can see when each export is protected alone. The difference is never published;
the report computes it from published cells only (``lib.report_comparison``), so that a
suppressed cell never comes back.

The unit of the comparison tables is the **person** (RINPERSOON, or BSN on the municipal route),
with one universe and the same ids in both measurements: every figure is a count of persons or a
mean over persons (households per 10,000 persons: each person carries 10,000 / members of the
household), so that the export-wide audit (``disclosure_control.population``) sees that
measurement B minus measurement A is about the persons who entered or left, and protects a small
difference of counts. The tables publish means, not sums: the writer protects small differences
of nested counts (suppressing a count), and a suppressed count takes its mean along, while a sum
beside a suppressed count stays published (then the sum of two leavers' costs is the difference
of two published sums; ``tests/test_comparison.py``). The measurement is a value dimension: a
person's costs in the two measurements are different parts of their costs (other years), never
the same amount twice.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lib.baseline import TableSpec, published_cuts
from lib.domains import DomainCounting
from lib.errors import UserFacingError
from lib.provenance import config_value
from lib.workfiles import read_table, table_path

UNIVERSE = "personen van de vergeleken nulmetingen"
"""One universe for both measurements: the same person ids, so the audit links their figures."""
HOUSEHOLD_UNIVERSE = "huishoudens van de vergeleken nulmetingen"
COHORT_UNIVERSE = "personen van de selectie van de vorige nulmeting"
REACH = ("geen kosten", "kosten in 1 of 2 domeinen", "kosten in 3 of meer domeinen")
CONCENTRATION_SHARES = (0.01, 0.05, 0.10)
HOUSEHOLDS = "huishoudens_per_10000_personen"
HOUSEHOLD_SCALE = 10_000.0
"""Each person carries 10,000 / (members of the household): the mean over persons is the households
per 10,000 persons, so that households = mean x persons / 10,000 to a household nationally (a mean
is published to two decimals)."""
FOLLOW_STATUS = ("opnieuw in een geselecteerd huishouden", "in het onderzoeksgebied, niet geselecteerd",
                 "niet meer in het onderzoeksgebied")
DIFFERENCE_NOTE = ("Het verschil tussen de metingen staat niet in de tabel: het rapport berekent het uit de "
                   "gepubliceerde cellen; een onderdrukte cel geeft geen verschil.")
PERSON_NOTE = ("Eenheid: personen. Gemiddelden per persoon; huishoudens per 10.000 personen = gemiddelde over de "
               "personen van 10.000 / aantal leden van hun huishouden, dus huishoudens = dat gemiddelde x personen / "
               "10.000; kosten = gemiddelde x personen. "
               "Een persoon die in beide metingen voorkomt, telt in elk van beide; beide metingen zijn samen "
               "beschermd.")
CONCENTRATION_TOTAL_NOTE = ("De rij Totaal rangschikt de huishoudens van beide nulmetingen samen; vergelijk de "
                            "rijen per nulmeting.")
# The earlier run's steps whose work files the comparison reads (each must have run to completion).
EARLIER_STEPS = ("read_sources", "households", "cube", "selection")


@dataclass
class Measurement:
    """One baseline: its households (the cube's, the included households), their members and the
    persons' costs, persons by their key (RINPERSOON or BSN)."""

    label: str
    peildatum: _dt.date
    years: list[int]
    households: pd.DataFrame
    """The cube's households: household, cost_total, n_domains, still_resident, cost_<domain>."""
    members: pd.DataFrame
    """key, household: the members of the included households at the peildatum."""
    costs: pd.DataFrame
    """key, household, domain, year, cost: the persons' attributed costs (the cube's persons)."""
    selected: np.ndarray
    """Household ids of the households the run's [selection] selects."""


def measurement_label(peildatum: _dt.date) -> str:
    return f"nulmeting {peildatum.isoformat()}"


def earlier_step_folder(work_dir: Path, name: str) -> Path:
    """``<work>/<NN>_<name>`` of the earlier run (the steps are numbered as in this bundle)."""
    from lib.pipeline import all_steps
    names = [s.name for s in all_steps()]
    return Path(work_dir) / f"{names.index(name) + 1:02d}_{name}"


def earlier_manifests(work_dir: Path) -> dict[str, Path]:
    """The ``step.json`` of every step of the earlier run that the comparison reads (the files whose
    content, in this run's provenance, makes the baseline out of date when the earlier run reruns)."""
    return {name: earlier_step_folder(work_dir, name) / "step.json" for name in EARLIER_STEPS}


def _recorded_config(manifest: dict) -> dict:
    return manifest.get("computed_from", {}).get("config", {})


def check_earlier_run(work_dir: Path, config) -> dict[str, dict]:
    """The manifests of the earlier run's steps, after checking that the folder holds a complete run
    of the same study area, route, domain counting and price year as ``config``, with an earlier
    peildatum. Refuses (``UserFacingError``) with the setting to change otherwise."""
    setting = "[comparison] earlier_work_dir"
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        raise UserFacingError(f"{setting} = {work_dir}: no such folder. Give the work folder of the earlier run (the "
                              f"folder with {earlier_step_folder(work_dir, 'cube').name}/), or leave the setting empty "
                              "for no comparison.")
    if work_dir.resolve() == Path(config.work_dir).resolve():
        raise UserFacingError(f"{setting} = {work_dir} is this run's own work folder; give the work folder of the "
                              "earlier run.")
    manifests = {}
    for name, path in earlier_manifests(work_dir).items():
        if not path.is_file():
            raise UserFacingError(
                f"{setting} = {work_dir}: the earlier run is incomplete: its step '{name}' did not run to completion "
                f"(no {path}). Finish the earlier run first (python scripts/run_all.py --config <its config> "
                f"--from {name}).")
        manifests[name] = json.loads(path.read_text(encoding="utf-8"))
    # The files must be of one run: each step computed from the run of the step before it that is there.
    for name, upstream in (("households", "read_sources"), ("cube", "households"), ("selection", "cube")):
        used = manifests[name].get("computed_from", {}).get("upstream", {}).get(upstream)
        if used != manifests[upstream].get("run_id"):
            raise UserFacingError(
                f"{setting} = {work_dir}: the earlier run's step '{name}' was computed from another run of its step "
                f"'{upstream}' than the one in the folder (the earlier run is out of date). Bring it up to date first "
                f"(python scripts/run_all.py --config <its config> --from {name}).")
    needed = [("read_sources", "persons"), ("households", "members"), ("cube", "households"), ("cube", "person_cube")]
    for name, stem in needed:
        path = table_path(earlier_step_folder(work_dir, name) / stem)
        if not path.is_file():
            raise UserFacingError(
                f"{setting} = {work_dir}: the earlier run has no {path}: it read no costs (a run over the registers "
                "alone), or its work files are in another format (parquet where pyarrow was installed, CSV where it "
                "was not; run both in the same environment).")
    recorded = _recorded_config(manifests["selection"])
    study = recorded.get("study") or {}
    area = config_value(config, "study")["area"]
    if sorted(map(str, study.get("area", []))) != sorted(map(str, area)):
        raise UserFacingError(
            f"{setting} = {work_dir}: the earlier run is of another study area ([study] area = {study.get('area')}, "
            f"this run {area}). A comparison needs the same area: give the work folder of an earlier run of "
            f"{area}.")
    earlier_year, price_year = recorded.get("prices.price_year"), config["prices"]["price_year"]
    if earlier_year != price_year:
        raise UserFacingError(
            f"{setting} = {work_dir}: the earlier run's costs are in euros of {earlier_year}, this run's in euros of "
            f"{price_year}; costs must be compared in one price year. Rerun the earlier run with [prices] price_year "
            f"= {price_year} (in its config; then python scripts/run_all.py --config <its config> --from price), or "
            f"set this run's [prices] price_year = {earlier_year}.")
    if recorded.get("run.route") != config["run"]["route"]:
        raise UserFacingError(
            f"{setting} = {work_dir}: the earlier run used [run] route = {recorded.get('run.route')!r}, this run "
            f"{config['run']['route']!r}; persons are identified by other keys (RINPERSOON or BSN) on the two routes. "
            "Compare runs of the same route.")
    if (recorded.get("domains") or {}) != config_value(config, "domains"):
        raise UserFacingError(
            f"{setting} = {work_dir}: the earlier run counted domains otherwise ([domains] = {recorded.get('domains')}, "
            f"this run {config_value(config, 'domains')}); reach by number of domains is only comparable with the "
            "same [domains] counting_groups. Set them alike in both configs and rerun the one you change.")
    attribution = (recorded.get("households") or {}).get("attribution")
    if attribution != config["households"]["attribution"]:
        raise UserFacingError(
            f"{setting} = {work_dir}: the earlier run attributed costs to households otherwise ([households] "
            f"attribution = {attribution!r}, this run {config['households']['attribution']!r}); set them alike.")
    earlier_peildatum = _dt.date.fromisoformat(str(study.get("peildatum")))
    if earlier_peildatum >= config.peildatum:
        raise UserFacingError(
            f"{setting} = {work_dir}: the earlier run's peildatum {earlier_peildatum} is not before this run's "
            f"({config.peildatum}); name the earlier run's work folder in the later run's config.")
    return manifests


def _members_with_keys(members: pd.DataFrame, persons: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    key_of = persons.set_index("person")["key"]
    included = members[members["household"].isin(households["household"])]
    return pd.DataFrame({"key": key_of.reindex(included["person"].to_numpy()).to_numpy(),
                         "household": included["household"].to_numpy(np.int64)})


def _costs_with_keys(person_cube: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    key_of = persons.set_index("person")["key"]
    return pd.DataFrame({"key": key_of.reindex(person_cube["person"].to_numpy()).to_numpy(),
                         "household": person_cube["household"].to_numpy(np.int64),
                         "domain": person_cube["domain"].astype(str).to_numpy(),
                         "year": person_cube["year"].to_numpy(np.int64),
                         "cost": person_cube["cost"].to_numpy(float)})


def read_measurement(folders: dict[str, Path], peildatum: _dt.date, years: list[int], selection: dict,
                     counting: DomainCounting) -> Measurement:
    """One measurement from a run's work folders (``folders``: step name -> its folder), selected with
    ``selection`` (the ``[selection]`` settings of that run)."""
    from lib.selection import select_households
    households = read_table(folders["cube"] / "households")
    persons = read_table(folders["read_sources"] / "persons")[["person", "key"]]
    members = _members_with_keys(read_table(folders["households"] / "members"), persons, households)
    costs = _costs_with_keys(read_table(folders["cube"] / "person_cube"), persons)
    domains = sorted(c[len("cost_"):] for c in households.columns if c.startswith("cost_") and c != "cost_total")
    chosen = select_households(households, domains, selection, counting).to_numpy()
    return Measurement(measurement_label(peildatum), peildatum, list(years), households, members, costs,
                       households["household"].to_numpy(np.int64)[chosen])


def read_earlier(work_dir: Path, config, manifests: dict[str, dict]) -> Measurement:
    """The earlier run's measurement, selected with the ``[selection]`` it ran with."""
    recorded = _recorded_config(manifests["selection"])
    study = recorded["study"]
    folders = {name: earlier_step_folder(work_dir, name) for name in EARLIER_STEPS}
    households = read_table(folders["cube"] / "households")
    domains = sorted(c[len("cost_"):] for c in households.columns if c.startswith("cost_") and c != "cost_total")
    counting = DomainCounting.from_groups((recorded.get("domains") or {}).get("counting_groups") or {}, domains)
    return read_measurement(folders, _dt.date.fromisoformat(str(study["peildatum"])), list(study["years"]),
                            recorded["selection"], counting)


# ------------------------------------------------------------------ the tables' unit data

def reach_class(n_domains: np.ndarray, cost_total: np.ndarray) -> np.ndarray:
    """0 no costs, 1 costs in one or two of the method's domains, 2 in three or more."""
    return np.where(cost_total > 0, np.where(n_domains >= 3, 2, 1), 0)


def person_rows(m: Measurement) -> pd.DataFrame:
    """One row per (person, household) of a measurement: the person's share of the household
    (1/members; 0 for costs attributed to a household the person is not a member of at the peildatum,
    monthly attribution) and the person's costs attributed to it over the study years."""
    size = m.members.groupby("household")["key"].transform("size").to_numpy(float)
    shares = m.members.assign(huishoudens=HOUSEHOLD_SCALE / size)
    costs = m.costs.groupby(["key", "household"], as_index=False)["cost"].sum().rename(columns={"cost": "kosten"})
    rows = shares.merge(costs, on=["key", "household"], how="outer")
    return rows.fillna({"huishoudens": 0.0, "kosten": 0.0})


def comparison_tables(earlier: Measurement, current: Measurement, metadata: dict, min_units: int,
                      domain_codes: list[str]) -> list[TableSpec]:
    """The comparison tables of the two measurements (see the module docstring); ``metadata``: the
    current run's (``run_metadata``), ``domain_codes``: every fine domain of either run."""
    labels = [earlier.label, current.label]
    meta = _metadata(earlier, current, metadata)
    tables = []

    # --- reach: households without costs, in 1-2, in 3+ domains; persons, households and costs ---
    frames = []
    for i, m in enumerate((earlier, current)):
        rows = person_rows(m)
        h = m.households.set_index("household")
        cls = reach_class(h["n_domains"].to_numpy(), h["cost_total"].to_numpy(float))
        klass = pd.Series(cls, index=h.index).reindex(rows["household"].to_numpy()).fillna(0).to_numpy(np.int64)
        frames.append(pd.DataFrame({"person": rows["key"].to_numpy(), "household": _household_ids(i, rows["household"]),
                                    "meting": i, "bereik": klass, HOUSEHOLDS: rows["huishoudens"].to_numpy(),
                                    "kosten": rows["kosten"].to_numpy()}))
    reach = pd.concat(frames, ignore_index=True)
    reach["meting"] = pd.Categorical.from_codes(reach["meting"].to_numpy(np.int8), categories=labels)
    reach["bereik"] = pd.Categorical.from_codes(reach["bereik"].to_numpy(np.int8), categories=list(REACH))
    tables.append(TableSpec("vergelijking_bereik", "magnitude_table", reach, {
        "unit": ["person", "household"], "dimensions": ["meting", "bereik"], "values": [HOUSEHOLDS, "kosten"],
        "value_dimensions": ["meting"], "statistic": "mean", "margins": ["bereik"], "unit_labels": ["persons", "households"],
        "metadata": meta | {"title": "Herhaalde meting: personen, huishoudens per 10.000 personen en gemiddelde kosten "
                                     "per persoon, naar aantal domeinen met kosten van het huishouden, per nulmeting",
                            "notes": meta["notes"] + ["Domeinen geteld zoals de methode ze telt (zie Domeinen)."]}}))

    # --- costs per fine domain ---------------------------------------------------------------------
    frames = []
    for i, m in enumerate((earlier, current)):
        c = m.costs.groupby(["key", "household", "domain"], as_index=False)["cost"].sum()
        c = c[c["cost"] != 0]
        frames.append(pd.DataFrame({"person": c["key"].to_numpy(), "household": _household_ids(i, c["household"]),
                                    "meting": i, "domein": c["domain"].to_numpy(), "kosten": c["cost"].to_numpy()}))
    by_domain = pd.concat(frames, ignore_index=True)
    by_domain["meting"] = pd.Categorical.from_codes(by_domain["meting"].to_numpy(np.int8), categories=labels)
    codes = list(dict.fromkeys(list(domain_codes) + sorted(set(by_domain["domein"]))))
    by_domain["domein"] = pd.Categorical(by_domain["domein"], categories=codes)
    tables.append(TableSpec("vergelijking_kosten_domein", "magnitude_table", by_domain, {
        "unit": ["person", "household"], "dimensions": ["meting", "domein"], "values": "kosten",
        "value_dimensions": ["meting", "domein"], "statistic": "mean", "margins": ["domein"], "unit_labels": ["persons", "households"],
        "metadata": meta | {"title": "Herhaalde meting: gemiddelde kosten per persoon met kosten in het domein, over de "
                                     "vijf studiejaren van elke nulmeting",
                            "population": meta["population"] + ", met kosten"}}))

    # --- concentration: share of the costs of the most expensive 1%, 5%, 10% of the households -----
    cuts = sorted(set(published_cuts(len(earlier.households), CONCENTRATION_SHARES, (), min_units))
                  & set(published_cuts(len(current.households), CONCENTRATION_SHARES, (), min_units)))
    if cuts:
        costs = pd.concat([pd.DataFrame({"household": _household_ids(i, m.households["household"]), "meting": i,
                                         "kosten": m.households["cost_total"].to_numpy(float)})
                           for i, m in enumerate((earlier, current))], ignore_index=True)
        costs["meting"] = pd.Categorical.from_codes(costs["meting"].to_numpy(np.int8), categories=labels)
        dropped = sorted(set(CONCENTRATION_SHARES) - set(cuts))
        tables.append(TableSpec("vergelijking_concentratie", "concentration", costs, {
            "unit": "household", "value": "kosten", "top_shares": cuts, "segments": "top", "by": "meting",
            "metadata": meta | {"title": "Herhaalde meting: aandeel in de kosten van de duurste huishoudens, per "
                                         "nulmeting (elke nulmeting rangschikt haar eigen huishoudens)",
                                "unit": "huishoudens", "universe": HOUSEHOLD_UNIVERSE,
                                "notes": meta["notes"][1:] + [CONCENTRATION_TOTAL_NOTE] + (
                                    [f"Niet gepubliceerd (te weinig huishoudens in een groep): "
                                     f"{', '.join(f'{x:.0%}' for x in dropped)}."] if dropped else [])}}))
    return tables


def follow_selection(earlier: Measurement, current: Measurement, metadata: dict, selection_text: str) -> list[TableSpec]:
    """The persons of the earlier measurement's selected households, at this run's peildatum: in a
    selected household again, in the study area but not selected, or no longer in the study area; and
    the costs per year of this run's study years of those in the study area."""
    cohort = earlier.members[earlier.members["household"].isin(earlier.selected)]
    if cohort.empty:
        return []
    now = current.members.drop_duplicates("key").set_index("key")["household"]
    household_now = now.reindex(cohort["key"].to_numpy()).to_numpy()
    in_area = ~pd.isna(household_now)
    again = in_area & np.isin(np.nan_to_num(household_now.astype(float), nan=-1).astype(np.int64), current.selected)
    status = np.where(again, 0, np.where(in_area, 1, 2)).astype(np.int8)
    meta = _metadata(earlier, current, metadata) | {
        "population": (f"personen in de door de selectie van {earlier.label} geselecteerde huishoudens "
                       f"({selection_text}), gevolgd naar {current.label}"),
        "universe": COHORT_UNIVERSE}
    notes = [n for n in meta["notes"] if n != PERSON_NOTE] + [
        f"Eenheid: personen van de selectie van {earlier.label}; huishouden = hun huishouden op die peildatum. "
        f"Status op de peildatum van {current.label}: in een huishouden dat de selectie van deze run opnieuw "
        "selecteert, in het onderzoeksgebied maar niet geselecteerd, of niet meer in het onderzoeksgebied "
        "(verhuisd, overleden, in een instelling of niet meer in de registers)."]
    people = pd.DataFrame({"person": cohort["key"].to_numpy(), "household": cohort["household"].to_numpy(np.int64),
                           "situatie": pd.Categorical.from_codes(status, categories=list(FOLLOW_STATUS))})
    tables = [TableSpec("selectie_vervolg", "frequency_table", people, {
        "unit": ["person", "household"], "dimensions": ["situatie"], "unit_labels": ["persons", "households"],
        "metadata": meta | {"title": f"Herhaalde meting: de personen van de selectie van {earlier.label} in "
                                     f"{current.label}", "unit": "personen", "notes": notes}})]
    # Costs per year of those in the study area (the costs of the others are not measured here): a panel,
    # every person in every year, zero costs included.
    followed = people[status < 2]
    if followed.empty:
        return tables
    years = current.years
    per_year = current.costs[current.costs["key"].isin(followed["person"])].groupby(["key", "year"])["cost"].sum()
    grid = pd.MultiIndex.from_product([followed["person"].to_numpy(), years], names=["key", "year"])
    kosten = per_year.reindex(grid, fill_value=0.0).to_numpy()
    situation_of = followed.set_index("person")["situatie"]
    panel = pd.DataFrame({"person": grid.get_level_values("key"),
                          "situatie": pd.Categorical(situation_of.reindex(grid.get_level_values("key")).to_numpy(),
                                                   categories=list(FOLLOW_STATUS[:2])),
                          "jaar": pd.Categorical([str(y) for y in grid.get_level_values("year")],
                                                 categories=[str(y) for y in years]),
                          "kosten": kosten})
    tables.append(TableSpec("selectie_vervolg_kosten", "magnitude_table", panel, {
        "unit": "person", "dimensions": ["situatie", "jaar"], "values": "kosten", "value_dimensions": ["jaar"],
        "statistic": "mean",
        "panel": "jaar", "unit_labels": ["persons"],
        "metadata": meta | {"title": f"Herhaalde meting: gemiddelde kosten per jaar van de personen van de selectie van "
                                     f"{earlier.label} die in {current.label} in het onderzoeksgebied wonen",
                            "population": meta["population"] + ", in het onderzoeksgebied",
                            "unit": "personen", "notes": notes}}))
    return tables


def _household_ids(measurement: int, households) -> np.ndarray:
    """Household ids of the two measurements kept apart (a household is defined at its peildatum)."""
    return np.asarray(households, dtype=np.int64) + measurement * 10**12


def _metadata(earlier: Measurement, current: Measurement, metadata: dict) -> dict:
    period = (f"{earlier.label}: peildatum {earlier.peildatum.isoformat()}, studiejaren {earlier.years[0]}-"
              f"{earlier.years[-1]}; {current.label}: peildatum {current.peildatum.isoformat()}, studiejaren "
              f"{current.years[0]}-{current.years[-1]}")
    return metadata | {"unit": "personen", "period": period, "universe": UNIVERSE,
                       "population": f"personen in de huishoudens van het onderzoeksgebied op de peildatum van "
                                     f"elke nulmeting ({earlier.label}, {current.label})",
                       "notes": [PERSON_NOTE, DIFFERENCE_NOTE]}


# ------------------------------------------------------------------ the baseline step's part

def earlier_work_dir(config) -> Path | None:
    """The earlier run's work folder of ``[comparison] earlier_work_dir`` (None: no comparison)."""
    value = config["comparison"]["earlier_work_dir"]
    return config.resolve(value) if value else None


def provenance_files(config) -> list[Path]:
    """The earlier run's manifests the comparison reads (compared by content: a rerun of one of its
    steps writes a new run id, and makes this run's baseline out of date)."""
    folder = earlier_work_dir(config)
    return [] if folder is None else list(earlier_manifests(folder).values())


def requested_tables(ctx, metadata: dict) -> tuple[list[TableSpec], list[str]]:
    """The comparison's tables of the baseline step (``ctx``), and lines for the log; nothing without
    ``[comparison] earlier_work_dir``."""
    from lib.steps.households import domain_counting, run_domains
    from lib.steps.selection import describe_criteria
    config = ctx.config
    folder = earlier_work_dir(config)
    if folder is None:
        return [], []
    manifests = check_earlier_run(folder, config)
    earlier = read_earlier(folder, config, manifests)
    # This run's selection is made here as its selection step makes it (that step runs later).
    folders = {name: ctx.earlier_step_dir(name) for name in ("read_sources", "households", "cube")}
    households = read_table(folders["cube"] / "households")
    domains = sorted(set(run_domains(config)[0])
                     | {c[len("cost_"):] for c in households.columns if c.startswith("cost_") and c != "cost_total"})
    current = read_measurement(folders, config.peildatum, config.years, config["selection"],
                               domain_counting(config, domains))
    codes = sorted(set(domains) | set(earlier.costs["domain"]))
    tables = comparison_tables(earlier, current, metadata, config.disclosure_rules.min_units, codes)
    earlier_selection = _recorded_config(manifests["selection"])["selection"]
    tables += follow_selection(earlier, current, metadata, describe_criteria(earlier_selection))
    shared = len(set(earlier.members["key"]) & set(current.members["key"]))
    log = [f"comparison with {earlier.label} ({folder}): {len(earlier.households):,} and {len(current.households):,} "
           f"households, {shared:,} persons in both; {len(earlier.selected):,} households of its selection followed"]
    return tables, log
