"""Generate a complete synthetic data set for a run, chunk by chunk, with its truth.

Layout of the output folder::

    cbs/<Theme>/<DATASET>/[<YYYY>/]<FILE><YYYY><TAB|BUS>V<n>.{csv,sav,parquet}
    gemeente/brp_extract.csv            BRP extract of the municipal-route municipality
    gemeente/kosten/*.csv               appendix-2 cost files of providers and departments
    gemeente/kosten_rin/*.csv           the same files as CBS delivers them linked (RINPERSOONS/RINPERSOON)
    truth/                              what the pipeline must recover; never read by it
    config.toml                         run configuration, CBS route
    config_gemeente.toml                run configuration, municipal route
    config_gecombineerd.toml            run configuration, CBS route with the linked appendix-2 files

Memory is bounded by one chunk of ``spec.chunk_households`` families, in every format (see
``writers``). The same ``(households, seed, chunk size)`` give the same bytes.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from lib.dates import yyyymmdd_text
from lib.layouts import CBS_DATASETS, DATED_JUSTICE_LAYOUTS
from lib.synthetic import identifiers as ids
from lib.synthetic.cbs_files import DATED_FORM, YEARLY_FORM, build_cbs_files
from lib.synthetic.municipal_files import (
    DIRT_KINDS,
    RIN_FOLDER,
    keyed_by_rin,
    appendix2_frame,
    brp_extract,
    provider_files,
    provider_rows,
    resident_month_costs,
)
from lib.synthetic.cycles import write_cycle_configs
from lib.synthetic.population import EVENT_LABELS, OPEN_END, build_population
from lib.synthetic.problems import (
    PROBLEM_TYPE_LABELS,
    PROBLEM_TYPES,
    draw_problem_records,
)
from lib.synthetic.spec import GeneratorSpec
from lib.synthetic.truth import (
    YEARLY_JUSTICE_SOURCES,
    TruthPricer,
    spread_amounts,
    yearly_justice_month_costs,
)
from lib.synthetic.writers import ChunkedTableWriter

GENERATOR_VERSION = "1"
MUNICIPAL_SOURCES = ("JGDHULPBUS", "WMOBUS", "BIJSTANDUITKERINGTAB")


@dataclass
class GenerationReport:
    out_dir: str
    households: int
    persons: int = 0
    household_spells: int = 0
    files: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class _Writers:
    def __init__(self, out: Path, spec: GeneratorSpec):
        self.out, self.spec = out, spec
        self.open: dict[str, ChunkedTableWriter] = {}

    def get(self, stem: str, formats=None, **kwargs) -> ChunkedTableWriter:
        if stem not in self.open:
            self.open[stem] = ChunkedTableWriter(self.out / stem, formats or self.spec.formats, **kwargs)
        return self.open[stem]

    def close(self) -> dict[str, int]:
        rows = {}
        for stem, w in sorted(self.open.items()):
            w.close()
            rows[stem] = w.rows
        return rows


def generate(out_dir: str | Path, spec: GeneratorSpec, progress: Callable[[str], None] = print) -> GenerationReport:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    writers = _Writers(out, spec)
    truth_csv = {"formats": ("csv",)}
    pricer = TruthPricer(spec.period_start, spec.period_end)
    providers = provider_files(spec)
    report = GenerationReport(out_dir=str(out), households=spec.households)
    dense_offset = 0
    n_chunks = -(-spec.households // spec.chunk_households)
    for chunk in range(n_chunks):
        n_fam = min(spec.chunk_households, spec.households - chunk * spec.chunk_households)
        rng = np.random.default_rng([spec.seed, chunk])
        pop = build_population(spec, rng, chunk, n_fam, dense_offset)
        rec = draw_problem_records(spec, pop, rng)
        persons = pop.persons
        rin = ids.rinpersoon(persons["person_global"].to_numpy(), spec.seed)
        bsn = ids.bsn(persons["dense"].to_numpy(), spec.seed)

        month_costs = pricer.price(rec.priced)
        if spec.justice_form == YEARLY_FORM:
            # The justice registers are written as yearly person tables: their truth is that form's.
            month_costs = pd.concat([month_costs[~month_costs["source"].isin(YEARLY_JUSTICE_SOURCES)],
                                     yearly_justice_month_costs(pricer, rec.priced, rec.justice_decisions,
                                                                spec.years)],
                                    ignore_index=True)
        bijstand = (month_costs[month_costs["source"] == "BIJSTANDUITKERINGTAB"]
                    .groupby(["person", "year"], sort=True)["cost"].sum().round(2).rename("amount").reset_index())
        for f in build_cbs_files(spec, pop, rec, bijstand, rng):
            writers.get(f.relative_stem, file_label=CBS_DATASETS[f.dataset].description).append(f.frame)

        # Debt help exists only in the municipal route (the Kredietbank's file).
        debt = rec.debt_help
        debt_costs = spread_amounts(debt["person"], debt["start"], debt["end"], debt["amount"],
                                    spec.period_start, spec.period_end)
        n_priced = len(rec.priced)
        debt_costs = debt_costs.assign(record=debt_costs["record"] + n_priced, source="SCHULDHULP", code="SHV",
                                       domain="schuldhulp")
        records = pd.concat([rec.priced[["start", "end"]], debt[["start", "end"]]], ignore_index=True)
        municipal = resident_month_costs(
            spec, pop, pd.concat([month_costs[month_costs["source"].isin(MUNICIPAL_SOURCES)], debt_costs],
                                 ignore_index=True))
        rows = provider_rows(spec, municipal, records)
        municipal_truth = []
        for name, provider in providers.items():
            p_rows = rows[rows["provider"] == name]
            frame, dirt, clipped = appendix2_frame(spec, provider, p_rows, bsn, rng, plant_all=chunk == 0)
            w = writers.get(f"gemeente/kosten/{name}", formats=("csv",),
                            csv_options={"sep": provider.sep, "encoding": provider.encoding,
                                         "decimal": provider.decimal})
            if len(dirt):
                writers.get("truth/dirt", **truth_csv).append(pd.DataFrame({
                    "file": f"gemeente/kosten/{name}.csv", "line": dirt["position"].to_numpy() + w.rows + 2,
                    "kind": dirt["kind"].to_numpy(), "expected": dirt["expected"].to_numpy(),
                    "bsn": dirt["bsn"].to_numpy(), "amount_text": dirt["amount_text"].to_numpy()}))
            w.append(frame)
            # The combined route: the same file after CBS linked it to RINPERSOON (same rows and lines).
            writers.get(f"{RIN_FOLDER}/{name}", formats=("csv",),
                        csv_options={"sep": provider.sep, "encoding": provider.encoding,
                                     "decimal": provider.decimal}).append(keyed_by_rin(frame, bsn, rin))
            municipal_truth.append(pd.DataFrame({"person": p_rows["person"].to_numpy(), "year": p_rows["year"].to_numpy(),
                                                 "domain": provider.truth_domain, "provider": name,
                                                 "amount": p_rows["amount"].to_numpy()}))
            if len(clipped):
                municipal_truth.append(clipped.assign(domain=provider.truth_domain, provider=name))
        writers.get("gemeente/brp_extract", formats=("csv",), csv_options={"sep": ";"}).append(
            brp_extract(spec, pop, bsn))

        # --- truth ------------------------------------------------------------------------
        family_type = rec.family_type
        fam_global = pop.families["fam_global"].to_numpy()
        writers.get("truth/persons", **truth_csv).append(pd.DataFrame({
            "rinpersoon": rin, "bsn": ids.zero_padded(bsn, 9),
            "family_id": fam_global[persons["fam"].to_numpy()],
            "problem_type": np.asarray(PROBLEM_TYPES, dtype=object)[family_type[persons["fam"].to_numpy()]],
            "birth_date": yyyymmdd_text(persons["birth_day"].to_numpy()),
            "death_date": np.where(persons["last_day"].to_numpy() == OPEN_END, "",
                                   yyyymmdd_text(np.minimum(persons["last_day"].to_numpy(), spec.period_end))),
        }))
        hh = pop.households
        writers.get("truth/households", **truth_csv).append(pd.DataFrame({
            "huishoudnr": ids.huishoudnr(hh["hh_global"].to_numpy(), spec.seed),
            "family_id": fam_global[hh["fam"].to_numpy()],
            "problem_type": np.asarray(PROBLEM_TYPES, dtype=object)[family_type[hh["fam"].to_numpy()]],
            "family_event": np.asarray([EVENT_LABELS[e] for e in range(len(EVENT_LABELS))], dtype=object)[
                pop.families["event"].to_numpy()[hh["fam"].to_numpy()]],
            "typhh": hh["typhh"].to_numpy(), "n_persons": hh["n_persons"].to_numpy(),
        }))
        other = rec.benefit_amounts
        costs = pd.concat([
            month_costs[["person", "year", "domain", "source", "cost"]],
            pd.DataFrame({"person": other["person"], "year": other["year"], "domain": "overige_uitkering",
                          "source": "UITKERINGBEDRAGTAB", "cost": other["amount"]}),
            debt_costs.assign(source="kredietbank")[["person", "year", "domain", "source", "cost"]],
        ], ignore_index=True)
        costs = costs.groupby(["person", "year", "domain", "source"], sort=True)["cost"].sum().reset_index()
        writers.get("truth/costs_person_year", **truth_csv).append(pd.DataFrame({
            "rinpersoon": rin[costs["person"].to_numpy()],
            "bsn": ids.zero_padded(bsn[costs["person"].to_numpy()], 9),
            "year": costs["year"].to_numpy(), "domain": costs["domain"].to_numpy(),
            "source": costs["source"].to_numpy(), "cost_nominal": np.round(costs["cost"].to_numpy(), 6)}))
        mt = pd.concat(municipal_truth, ignore_index=True)
        # Per provider (Instelling) too: the coverage tables of the providers are checked against it.
        instelling = {name: p.instelling for name, p in providers.items()}
        by_provider = mt.groupby(["provider", "year", "domain"], sort=True)["amount"].sum().reset_index()
        writers.get("truth/municipal_costs_provider_year", **truth_csv).append(pd.DataFrame({
            "instelling": by_provider["provider"].map(instelling).to_numpy(), "year": by_provider["year"].to_numpy(),
            "domain": by_provider["domain"].to_numpy(), "amount_nominal": np.round(by_provider["amount"].to_numpy(), 6)}))
        mt = mt.groupby(["person", "year", "domain"], sort=True)["amount"].sum().reset_index()
        writers.get("truth/municipal_costs_person_year", **truth_csv).append(pd.DataFrame({
            "bsn": ids.zero_padded(bsn[mt["person"].to_numpy().astype(np.int64)], 9),
            "rinpersoon": rin[mt["person"].to_numpy().astype(np.int64)],
            "year": mt["year"].to_numpy(), "domain": mt["domain"].to_numpy(),
            "amount_nominal": np.round(mt["amount"].to_numpy(), 6)}))

        report.persons += len(persons)
        report.household_spells += len(hh)
        dense_offset += len(persons)
        elapsed = time.perf_counter() - started
        left = elapsed / (chunk + 1) * (n_chunks - chunk - 1)
        progress(f"chunk {chunk + 1}/{n_chunks}: {n_fam:,} households, {len(persons):,} persons, "
                 f"{len(rec.priced):,} records ({elapsed:.1f} s" + (f", about {left:.0f} s left)" if left else ")"))

    report.files = writers.close()
    report.seconds = time.perf_counter() - started
    _write_configs(out, spec)
    _write_combined_config(out)
    if spec.cycle_years:
        write_cycle_configs(out, spec)
    _write_truth_readme(out, spec, report)
    return report


def _cbs_sources(spec: GeneratorSpec) -> dict[str, str]:
    out = {}
    for d in CBS_DATASETS.values():
        folder = f"cbs/{d.theme}/{d.name}" + ("/*" if d.yearly_folder else "")
        out[d.name] = f"{folder}/{d.file_stem}*{d.kind}V*.*"
    return out


def _write_configs(out: Path, spec: GeneratorSpec) -> None:
    years = ", ".join(str(y) for y in spec.years)
    common = f"""
[study]
area = ["{spec.municipal_route_code}"]
peildatum = {spec.peildatum.isoformat()}
years = [{years}]

[households]
attribution = "peildatum"
include_institutional = false

[prices]
price_year = {spec.last_year}
bijstand_from = "spells"
"""
    cbs_lines = "\n".join(f'{name} = "{pattern}"' for name, pattern in _cbs_sources(spec).items())
    layouts_line = ""
    if spec.justice_form == DATED_FORM:
        # The dated justice files need the dated layouts: a copy beside the config, named by it.
        (out / DATED_JUSTICE_LAYOUTS.name).write_text(DATED_JUSTICE_LAYOUTS.read_text(encoding="utf-8"),
                                                      encoding="utf-8")
        layouts_line = f'layouts = "{DATED_JUSTICE_LAYOUTS.name}"\n'
    header = ("# Run configuration written by scripts/make_demo_data.py for synthetic data\n"
              f"# ({spec.households:,} households, seed {spec.seed}). Paths are relative to this file.\n")
    (out / "config.toml").write_text(
        header + f"""
[run]
name = "synthetic CBS route"
route = "cbs"
statistics_only = true
work_dir = "work"
export_dir = "export"
seed = {spec.seed}
{common}
[sources]
format_preference = ["parquet", "sav", "csv"]
{layouts_line}
[sources.cbs]
{cbs_lines}
""", encoding="utf-8")
    (out / "config_gemeente.toml").write_text(
        header + f"""
[run]
name = "synthetic municipal route"
route = "municipality"
statistics_only = false
work_dir = "work_gemeente"
export_dir = "export_gemeente"
seed = {spec.seed}
{common}
[sources.municipality]
brp_extract = "gemeente/brp_extract.csv"
cost_files = ["gemeente/kosten/*.csv"]
""", encoding="utf-8")


COMBINED_OVERLAP = {"jeugdhulp": "provider", "wmo": "register", "bijstand": "register"}
"""The combined configuration's overlap rules: the providers' invoices price youth care (instead of
JGDHULPBUS), the registers price Wmo and bijstand (the municipality's own files are read beside)."""


def _write_combined_config(out: Path) -> None:
    """The CBS route with the appendix-2 files CBS linked (config_gecombineerd.toml): the CBS
    configuration plus [sources.cbs] cost_files and [sources] overlap."""
    text = (out / "config.toml").read_text(encoding="utf-8")
    overlap = ", ".join(f'{d} = "{rule}"' for d, rule in COMBINED_OVERLAP.items())
    text = (text.replace('name = "synthetic CBS route"', 'name = "synthetic combined route"')
            .replace('work_dir = "work"', 'work_dir = "work_gecombineerd"')
            .replace('export_dir = "export"', 'export_dir = "export_gecombineerd"')
            .replace('format_preference = ["parquet", "sav", "csv"]',
                     f'format_preference = ["parquet", "sav", "csv"]\noverlap = {{ {overlap} }}')
            .replace("[sources.cbs]\n", f'[sources.cbs]\ncost_files = ["{RIN_FOLDER}/*.csv"]\n'))
    (out / "config_gecombineerd.toml").write_text(text, encoding="utf-8")


def _write_truth_readme(out: Path, spec: GeneratorSpec, report: GenerationReport) -> None:
    summary = {
        "generator_version": GENERATOR_VERSION,
        "spec": {k: v for k, v in asdict(spec).items() if k != "municipalities"}
        | {"municipalities": [asdict(m) for m in spec.municipalities], "years": spec.years},
        "persons": report.persons, "household_spells": report.household_spells,
        "files": report.files,
        "problem_types": PROBLEM_TYPE_LABELS, "dirt_kinds": DIRT_KINDS,
    }
    (out / "truth").mkdir(exist_ok=True)
    (out / "truth" / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n",
                                                encoding="utf-8")
    (out / "truth" / "README.md").write_text(TRUTH_README, encoding="utf-8")


TRUTH_README = """# Truth of the synthetic data (never read by the pipeline)

- `persons.csv`: every person: rinpersoon, bsn, family_id (the generator's family at the
  start of the period), problem_type (planted latent type of the family), birth_date,
  death_date.
- `households.csv`: every household spell (huishoudnr as in GBAHUISHOUDENSBUS) with its
  family_id, problem_type, the family's event in the period, TYPHH and size.
- `costs_person_year.csv`: true cost per person, year, domain and source in nominal euros
  (euros of that year), priced with the bundle's default price table and CPI
  (lib/reference_data) by the generator's own implementation of the pricing rules
  (lib/synthetic/truth.py). Sources: the CBS datasets, UITKERINGBEDRAGTAB for other
  benefits, and `kredietbank` for debt help (which only the municipal route has).
  Bijstand is costed from its spells; the BIJSTAND amounts in UITKERINGBEDRAGTAB are the
  same costs rounded to cents per person and year.
  To express a cost of year Y in euros of price year Q: cost * CPI[Q] / CPI[Y].
- `municipal_costs_person_year.csv`: what a correct reading of the municipal route's
  appendix-2 files gives per BSN (and RINPERSOON: the linked files of `gemeente/kosten_rin`
  give the same), year and domain (nominal), after netting credit notes,
  without the planted bad rows, and with the clipped part of rows straddling the start of
  the study period.
- `municipal_costs_provider_year.csv`: the same per provider (Instelling), year and domain.
- `dirt.csv`: every planted bad row: file, line (1 = header), kind, expected handling.
- `summary.json`: the generator's parameters, file row counts and the type labels.

Problem types: """ + ", ".join(f"`{k}` ({v})" for k, v in PROBLEM_TYPE_LABELS.items()) + ".\n"
