"""The report's section "Bronnen": what the run read, how much of it it used, and which domains of
the method it could not measure.

Built by the report step from the work folder (the inventory's ``sources.csv``, the reading
step's ``reconciliation.csv``, the prices the price step used and the domains of the records),
not from the export: these are facts about the sources, not tables of households. They still
leave the environment with the report, so every count of rows below the disclosure threshold
(``[disclosure_control] min_units``) is shown as "minder dan N", and only counts of rows
(records), never of persons, are shown.

CBS asks every publication on its non-public microdata to carry a source statement; its
documentation reports give the wording "Resultaten [gedeeltelijk] gebaseerd op eigen berekeningen
[naam onderzoeksinstelling, c.q. opdrachtgever] op basis van niet-openbare microdata van het
Centraal Bureau voor de Statistiek" (e.g. CBS, Documentatierapport Vermogens van huishoudens in
Nederland, 2016, "Bronvermelding"). :data:`CBS_STATEMENT` follows it; the researcher adds the
name of the institution when publishing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lib.layouts import CBS_DATASETS
from lib.workfiles import read_table

CBS_STATEMENT = ("Bron: resultaten gebaseerd op eigen berekeningen op basis van niet-openbare microdata van het "
                 "Centraal Bureau voor de Statistiek (CBS). Onder bepaalde voorwaarden zijn deze microdata "
                 "toegankelijk voor statistisch en wetenschappelijk onderzoek (www.cbs.nl/microdata).")
"""The source statement CBS asks for with results on its non-public microdata (see the module text)."""

REGISTER_USE = "register: gelezen voor huishoudens en woonplaats"
"""What the table of rows used says of a register the households step reads (not in the reading
step's accounting)."""
NO_SOURCE = "geen bron in deze run: niet gemeten, dus niet nul"


@dataclass
class SourcesSection:
    """What the section "Bronnen" shows: every file read, the rows each source gave and used,
    and every domain of the method with the sources that measured it (or none)."""
    files: pd.DataFrame
    """Per file read: bron, jaar, versie, formaat, bestand."""
    use: pd.DataFrame
    """Per source: bron, bestanden, rijen_gelezen, rijen_gebruikt (missing for a register the households
    step reads). Rejected and superseded rows stay in the work folder (reconciliation.csv): beside the
    rows read and used they would publish small differences exactly."""
    domains: pd.DataFrame
    """Per domain of the method: domein, telt_als (the method's domain it counts in), bronnen."""
    cbs_datasets: list[str]
    """The CBS datasets read (then the report carries :data:`CBS_STATEMENT`)."""
    threshold: int
    """Counts of rows below this are shown as "minder dan <threshold>"."""

    @property
    def not_measured(self) -> list[str]:
        return self.domains.loc[self.domains["bronnen"] == NO_SOURCE, "domein"].tolist()


def read_sources_section(config, inventory_dir: Path, read_dir: Path, price_dir: Path) -> SourcesSection:
    """The section from the work files of the inventory, reading and price steps of this run."""
    from lib.steps.households import domain_counting, method_domains, run_domains

    inventory = pd.read_csv(inventory_dir / "sources.csv", dtype={"dataset": str, "path": str},
                            keep_default_na=False, encoding="utf-8")
    files = pd.DataFrame({
        "bron": inventory["dataset"],
        "jaar": pd.to_numeric(inventory["year"], errors="coerce").astype("Int64"),
        "versie": pd.to_numeric(inventory["version"], errors="coerce").astype("Int64"),
        "formaat": inventory["format"],
        "bestand": [Path(p).name for p in inventory["path"]],
    })
    accounts = pd.read_csv(read_dir / "reconciliation.csv", dtype={"source": str}, encoding="utf-8")
    use = pd.DataFrame({
        "bron": accounts["source"],
        "bestanden": accounts["files"].astype("int64"),
        "rijen_gelezen": accounts["rows_read"].astype("int64"),
        "rijen_gebruikt": accounts["rows_used"].astype("int64"),
    })
    # Registers of the households step (household and address registers, municipality table, BRP
    # extract) are not in the reading step's accounting: named, with the files they come from.
    in_files = inventory.assign(rows=inventory["rows"].astype("int64"))
    accounted = [_accounting_name(d, Path(p).name) in set(use["bron"]) for d, p in zip(in_files["dataset"],
                                                                                     in_files["path"])]
    registers = in_files.loc[~pd.Series(accounted, index=in_files.index)].groupby("dataset", sort=False).agg(
        bestanden=("path", "size"), rijen_gelezen=("rows", "sum")).reset_index().rename(columns={"dataset": "bron"})
    use = pd.concat([use, registers.assign(rijen_gebruikt=pd.NA)], ignore_index=True)
    measured, _ = run_domains(config)
    counting = domain_counting(config, measured=measured)
    sources_of = _sources_per_domain(read_dir, price_dir)
    domains = pd.DataFrame({"domein": method_domains(config)})
    domains["telt_als"] = [counting.group_of(d) for d in domains["domein"]]
    domains["bronnen"] = [", ".join(sources_of.get(d, [])) or ("bron in deze run, geen records" if d in measured
                                                                else NO_SOURCE) for d in domains["domein"]]
    cbs = sorted(set(files["bron"]) & set(CBS_DATASETS))
    return SourcesSection(files, use, domains, cbs, int(config.disclosure_rules.min_units))


def _accounting_name(dataset: str, file_name: str) -> str:
    """The name the reading step's accounting gives the source of an inventory file
    (lib.steps.read_sources: an appendix-2 file by its file name, the BRP extract as "BRP-extract")."""
    if dataset == "APPENDIX2":
        return f"appendix2:{file_name}"
    return "BRP-extract" if dataset == "BRP_EXTRACT" else dataset


def _sources_per_domain(read_dir: Path, price_dir: Path) -> dict[str, list[str]]:
    """Fine domain -> the sources whose records the run put in it: the sources with records that
    the price tables price in the domain (prices_used.csv lists the prices of every configured
    price table, so only sources with records count) and the sources whose records carry their
    domain (amounts of benefits and appendix-2 cost files)."""
    try:
        used = pd.read_csv(price_dir / "prices_used.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:   # a run over the registers alone priced nothing
        used = pd.DataFrame()
    pairs = [used[["source", "domain"]] if {"source", "domain"} <= set(used.columns) else
             pd.DataFrame(columns=["source", "domain"], dtype=str)]
    records = read_table(read_dir / "records", columns=["source", "domain"])
    # Grouped on the categorical codes: tens of millions of records nationally, a few dozen pairs.
    present = records.groupby(["source", "domain"], observed=True, sort=False).size().reset_index()
    present = present[["source", "domain"]].astype(str)
    pairs[0] = pairs[0][pairs[0]["source"].isin(set(present["source"]))]
    pairs.append(present)
    both = pd.concat(pairs, ignore_index=True)
    both = both[both["domain"].str.strip() != ""].drop_duplicates()
    return {domain: sorted(group["source"]) for domain, group in both.groupby("domain")}
