"""The run configuration: one TOML file describes a whole run.

The schema below is the single place where settings are declared, with type, default
and meaning; the config reference in docs/configuration.md is printed from it
(``python scripts/run_all.py --config-reference``). Unknown keys and missing required
keys are errors that name the key and the file. Relative paths are relative to the
folder of the config file.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from disclosure_control import DisclosureRules
from lib.domains import DEFAULT_COUNTING_GROUPS
from lib.errors import UserFacingError
from lib.layouts import CBS_DATASETS

BUNDLE_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DATA = BUNDLE_ROOT / "lib" / "reference_data"
REQUIRED = object()


class ConfigError(UserFacingError):
    """A problem in a run configuration, with a message meant for the user."""


@dataclass(frozen=True)
class Setting:
    key: str
    kind: type | tuple[type, ...]
    default: Any
    doc: str
    choices: tuple = ()
    check: Callable[[Any], str | None] | None = None
    """Returns an error message for a bad value, or None."""
    items: type | tuple[type, ...] | None = None
    """For a list (or a table): the type every item (every value) must have."""


def _year_list(value) -> str | None:
    if not value or any(not isinstance(y, int) for y in value):
        return "must be a non-empty list of years"
    if sorted(value) != list(range(min(value), max(value) + 1)):
        return "must be consecutive years"
    return None


def _codes(value) -> str | None:
    if not value or any(not isinstance(c, str) for c in value):
        return 'must be a non-empty list of municipality codes as text, e.g. ["0344"], or ["NL"]'
    if "NL" in value and len(value) > 1:
        return '"NL" (the whole country) cannot be combined with municipality codes'
    bad = [c for c in value if c != "NL" and not (len(c) == 4 and c.isdigit())]
    return f"has codes that are not 4 digits: {bad}" if bad else None


def _positive(value) -> str | None:
    return None if value > 0 else "must be positive"


def _share(value) -> str | None:
    return None if 0 < value <= 1 else "must be a share greater than 0 and at most 1 (e.g. 0.05 for 5%)"


def _shares(value) -> str | None:
    bad = [v for v in value if not 0 < v <= 1]
    return f"must hold shares greater than 0 and at most 1 (e.g. 0.05 for 5%); not {bad}" if bad else None


def _share_or_zero(value) -> str | None:
    return None if 0 <= value <= 1 else "must be a share between 0 (no such criterion) and 1 (e.g. 0.05 for 5%)"


def _not_negative(value) -> str | None:
    return None if value >= 0 else "must not be negative"


def _lists_of_names(value: dict, why: str) -> str | None:
    """A table whose every value is a non-empty list of names (domain groups); otherwise ``why``."""
    return None if all(isinstance(d, list) and d and all(isinstance(x, str) for x in d) for d in value.values()) else why


def _decimal(value) -> str | None:
    bad = ([v for v in value.values() if v not in (",", ".")] if isinstance(value, dict)
           else [] if value in (",", ".", "") else [value])
    return None if not bad else ('must be "," or "." (one separator for every file), or a table of file names or '
                                 'patterns with "," or "." (e.g. { "zorg_bv.csv" = "," })')


def _series_names(value) -> str | None:
    bad = [k for k in value if not re.fullmatch(r"[a-z][a-z0-9_]*", k)]
    if bad:
        return f"has names that are not lower-case letters, digits and _: {bad}"
    if "cpi" in value:
        return "must not name 'cpi': that series is [prices] index"
    return None


def _combinations(value) -> str | None:
    ok = all(isinstance(c, list) and c and all(isinstance(d, str) for d in c) for c in value)
    return None if ok else 'must be a list of lists of domains, e.g. [["jeugdhulp", "bijstand"]]'


SCHEMA: dict[str, tuple[Setting, ...]] = {
    "run": (
        Setting("name", str, "run", "Name of the run, shown in the log and in every output's notes."),
        Setting("route", str, "cbs", "Where the data come from: 'cbs' (CBS Remote Access registers) or "
                "'municipality' (BRP extract and appendix-2 cost files).", choices=("cbs", "municipality")),
        Setting("statistics_only", bool, True, "True for a CBS RA run (statistics only): lists of individual "
                "households are refused. A municipality with a legal basis for selection sets false."),
        Setting("work_dir", str, "work", "Internal work folder: microdata-level intermediate results, logs, "
                "rejected rows. Never exported."),
        Setting("export_dir", str, "export", "Export folder: only aggregated tables that passed disclosure "
                "control are written here."),
        Setting("seed", int, 1, "Seed for every random choice of the run (restarts, matching), so a rerun gives "
                "byte-identical exports.", check=_not_negative),
    ),
    "study": (
        Setting("area", list, REQUIRED, 'Study area: municipality codes of the reference date\'s year (e.g. '
                '["0344"]) or ["NL"] for the whole country.', check=_codes),
        Setting("peildatum", _dt.date, REQUIRED, "Reference date (TOML date, e.g. 2023-12-31): households are "
                "formed and residence is decided on this date."),
        Setting("years", list, REQUIRED, "The study years, consecutive (the method uses five).", check=_year_list),
        Setting("residence_date", _dt.date, None, "Date on which households are flagged as still living in the "
                "study area ('still resident': a member lives there; otherwise moved out of the area, or gone from "
                "the registers: died or emigrated). Default (CBS route): the last day the household register "
                "describes (its latest spell end, the version date), so a run reports who left after the "
                "peildatum. The municipal route's BRP extract knows the peildatum only: leave it out there."),
    ),
    "households": (
        Setting("attribution", str, "peildatum", "How persons' costs go to households: 'peildatum' (the "
                "household at the reference date carries the person's costs of all years, the method's way) or "
                "'monthly' (a cost goes to the household the person was in that month).",
                choices=("peildatum", "monthly")),
        Setting("include_institutional", bool, False, "Include institutional households (TYPHH 8)."),
    ),
    "domains": (
        Setting("counting_groups", dict, DEFAULT_COUNTING_GROUPS, "The method's domains: a table domain = [fine "
                "domains]. Reach per domain, number of domains, selection, combinations, correlation, coherence and "
                "the monitoring covariate count these; costs stay broken down by fine domain. A fine domain in no "
                "group counts as its own; {} counts every fine domain (see 'Domains as the method counts them').",
                check=lambda v: _lists_of_names(v, "must map every domain to a list of fine domains")),
    ),
    "prices": (
        Setting("price_year", int, REQUIRED, "All amounts are expressed in euros of this year."),
        Setting("price_tables", list, [str(REFERENCE_DATA / "prices_default.csv")],
                "Price tables (CSV: domain, source, code, unit, price, price_year, valid_from, valid_to, "
                "figure_source; optional label, note, published_figure, published_source, published_year, "
                "derivation); a later table replaces earlier tables' prices of the same source and code. The "
                "default is the bundle's table of documented default prices.", items=str,
                check=lambda v: None if v else "must name at least one price table"),
        Setting("fallback_tables", list, [], "Price tables consulted only where price_tables have no price "
                "(code '*' prices every code of a source); every use is counted and reported. Without a fallback, "
                "a missing price stops the run with the list of missing codes and years.", items=str),
        Setting("index", str, str(REFERENCE_DATA / "cpi.csv"), "The index series named 'cpi' (CSV: year,index,"
                "source): brings prices and amounts to the price year wherever domain_index and a price row's "
                "index_series column name no other series. The default is CBS's CPI, all households, 2015=100."),
        Setting("index_series", dict, {}, "Further named index series (CSV: year,index,source), e.g. { overheid = "
                "\"deflator_overheid.csv\" } (names: lower-case letters, digits, _; 'cpi' is [prices] index). "
                "The bundle ships lib/reference_data/overheid_consumptie.csv, the price of government consumption "
                "(CBS), INCOMPLETE: complete it before use.", items=str, check=_series_names),
        Setting("domain_index", dict, {}, "Index series per domain, e.g. { jeugdhulp = \"overheid\", bijstand = "
                "\"cpi\" }; domains not listed use 'cpi'. A price row's own index_series column overrides its "
                "domain's series; amounts delivered as amounts use their domain's series.", items=str),
        Setting("bijstand_from", str, "spells", "Cost of bijstand: 'spells' (months of benefit times the norm "
                "price) or 'yearly_amounts' (amounts paid, UITKERINGBEDRAGTAB).",
                choices=("spells", "yearly_amounts")),
        Setting("bijstand_codes", str, str(REFERENCE_DATA / "bijstand_statistiekcodes.csv"), "Code list of "
                "BIJSTANDSTATISTIEKCODEA (CSV: code, regulation, label, domain, priced, source): which regulation "
                "(algemene bijstand, IOAW, IOAZ, Bbz) a BIJSTANDUITKERINGTAB spell belongs to and whether it is "
                "priced. A code the list lacks stops the price step with the codes and their counts. The default "
                "lists the codes of the Regeling statistiek Participatiewet, IOAW en IOAZ 2015."),
    ),
    "sensitivity": (
        Setting("price_tables_laag", list, [], "Price sensitivity: price tables with low prices; their rows replace "
                "the run's prices of the same source and code. With price_tables_hoog, the price step prices every "
                "record again under each and the baseline publishes the main figures side by side "
                "(prijsgevoeligheid_*). [] = no sensitivity run.", items=str),
        Setting("price_tables_hoog", list, [], "Price sensitivity: price tables with high prices (as "
                "price_tables_laag; give both or neither).", items=str),
    ),
    "baseline": (
        Setting("top_shares", list, [0.005, 0.01, 0.02, 0.05, 0.10, 0.20], "Shares of the most expensive households "
                "whose share in all costs is published (concentration).", items=float, check=_shares),
        Setting("lorenz_cuts", list, [0.01, 0.02, 0.05, 0.10, 0.20, 0.50], "Cut points of the Lorenz segments "
                "(bands of households from most to least expensive).", items=float, check=_shares),
        Setting("top_group_share", float, 0.05, "Share of the most expensive households (of all households of the "
                "study area, the one ranking) whose domain combinations are tabulated.", check=_share),
        Setting("area_level", str, "wijk", "Finest level of the tables of where the households live (lib.areas): "
                "'wijk', 'buurt' (wijk and buurt) or 'geen'. Needs wijk/buurt codes (VSLGWBTAB wc/bc columns, or a "
                "Wijk/Buurt column in the BRP extract); tables by gemeente are made whenever the study area holds "
                "more than one municipality.", choices=("wijk", "buurt", "geen")),
        Setting("area_min_households", int, 100, "Wijken and buurten with fewer households of the population are "
                "merged per gemeente or wijk ('overige wijken in gemeente ...', 'overige buurten in wijk ...'), so "
                "that most cells of the area tables can be published.",
                check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("area_top_share", float, 0.10, "Share of the most expensive households (the one ranking) counted per "
                "area in the concentration table by area; only published when it is a published cut of the ranking "
                "(as a share in top_shares or lorenz_cuts).", check=_share),
        Setting("publishable_providers", list, [], "Provider names (Instelling, as in the appendix-2 files; compared "
                "without case) that may be named in the exported tables of provider coverage "
                "(dekking_aanbieders_*); other providers are shown as 'aanbieder 1', 'aanbieder 2', ... in the order of their names (never by euros, which would bound a suppressed provider's euros).",
                items=str),
    ),
    "coherence": (
        Setting("domain_groups", dict, {}, "Domain groups of the coherence analyses: a table group = [domains], "
                "e.g. jeugdbescherming_reclassering = [\"jeugdbescherming\", \"jeugdreclassering\"]. Domains in no "
                "group form a group of their own (the default: one group per domain).",
                check=lambda v: _lists_of_names(v, "must map every group to a list of domains")),
        Setting("exclude_domains", list, [], "Domains left out of the coherence analyses.", items=str),
        Setting("min_domains", int, 1, "Typologies cluster the households with costs in at least this many domain "
                "groups (2: only multi-problem households).", check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("typology_profile", str, "presence", "What the typologies cluster on: 'presence' (a group with or "
                "without costs) or 'levels' (none / low / high costs per group).", choices=("presence", "levels")),
        Setting("level_quantile", float, 0.5, "Levels: costs in a group above this quantile of the group's positive "
                "costs are 'high' (unless level_cutoffs gives an amount).",
                check=lambda v: None if 0 < v < 1 else "must lie strictly between 0 and 1"),
        Setting("level_cutoffs", dict, {}, "Levels: a table group = amount in euros above which its five-year cost "
                "is 'high'.", check=lambda v: None if all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                          for x in v.values()) else "must map groups to amounts"),
        Setting("min_support_households", int, 50, "Minimum support of frequent domain combinations and rules, in "
                "households; never below [disclosure_control] min_units.",
                check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("max_itemset_size", int, 4, "Largest number of domain groups in a frequent combination or rule.",
                check=lambda v: None if v >= 2 else "must be at least 2"),
        Setting("miner", str, "auto", "Frequent-itemset miner (identical results): 'auto', 'lattice', 'apriori' or "
                "'eclat'.", choices=("auto", "lattice", "apriori", "eclat")),
        Setting("min_confidence", float, 0.1, "Association rules requested for export have at least this "
                "confidence.", check=lambda v: None if 0 <= v <= 1 else "must lie between 0 and 1"),
        Setting("min_lift", float, 1.0, "Association rules requested for export have at least this lift.",
                check=lambda v: None if v >= 0 else "must not be negative"),
        Setting("max_exported_rules", int, 100, "At most this many association rules (highest lift) are requested "
                "for export.", check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("cluster_range", list, [2, 10], "Smallest and largest number of clusters and latent classes tried.",
                check=lambda v: None if (len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                              for x in v) and 1 <= v[0] <= v[1])
                else "must be [smallest, largest], whole numbers, 1 <= smallest <= largest"),
        Setting("n_clusters", int, 0, "Number of k-modes clusters; 0 = the first k at which one cluster more removes less than 10% of the "
                "mismatches of one cluster.",
                check=lambda v: None if v >= 0 else "must not be negative"),
        Setting("n_classes", int, 0, "Number of latent classes; 0 = the lowest BIC.",
                check=lambda v: None if v >= 0 else "must not be negative"),
        Setting("kmodes_init", str, "huang", "Initial modes of k-modes: 'huang', 'cao' (deterministic) or 'random'.",
                choices=("huang", "cao", "random")),
        Setting("kmodes_restarts", int, 20, "k-modes restarts per run (the lowest cost is kept).",
                check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("stability_runs", int, 5, "Independent k-modes runs per number of clusters; their agreement "
                "(overeenstemming_herstarts_ari) shows whether the solution depends on the seed; stability over "
                "households is measured by resampling them.", check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("lca_starts", int, 10, "Random starts of the latent class model (the highest likelihood is kept), besides one start per "
                "class of the solution with one class fewer, split in two.",
                check=lambda v: None if v >= 1 else "must be at least 1"),
        Setting("confidence_level", float, 0.95, "Confidence level of the odds-ratio intervals.",
                check=lambda v: None if 0 < v < 1 else "must lie strictly between 0 and 1"),
    ),
    "selection": (
        Setting("top_share", float, 0.05, "Select the most expensive share of all households of the study area "
                "(the one ranking of every ranked table; 0 = no cost-rank criterion).", check=_share_or_zero),
        Setting("min_domains", int, 0, "Select households with costs in at least this many domains (0 = no such "
                "criterion).", check=_not_negative),
        Setting("combinations", list, [], "Select households with every domain of at least one listed combination, "
                "e.g. [[\"jeugdhulp\", \"bijstand\"]] ([] = no such criterion).", check=_combinations),
        Setting("min_cost", float, 0.0, "Select households with at least this five-year cost in euros of the price "
                "year (0 = no such criterion).", check=_not_negative),
        Setting("resident_only", bool, True, "Select only households still living in the study area."),
        Setting("combine", str, "all", "'all': every criterion that is set must hold; 'any': one of them.",
                choices=("all", "any")),
        Setting("write_list", bool, False, "Write the list of selected households (keys of households and members) "
                "to the work folder. Refused when [run] statistics_only is true (CBS RA). Never exported."),
        Setting("shortlist_sources", list, [], "Sources (appendix-2 file names) that delivered only a shortlist of "
                "their most expensive clients; stated in every table that rests on the costs and in the report's key "
                "findings.", items=str),
    ),
    "monitoring": (
        Setting("enabled", bool, False, "Follow a cohort after its start against a matched comparison group."),
        Setting("cohort", str, "selection", "'selection': the households selected by [selection], measured on the "
                "years before the start; 'file': the households of the persons listed in cohort_file.",
                choices=("selection", "file")),
        Setting("cohort_start", _dt.date, None, "Start date of the cohort (required when enabled), e.g. 2021-01-01."),
        Setting("cohort_file", str, "", "CSV with a column 'key' (RINPERSOON or BSN) of the persons enrolled; their "
                "households on the start date are the cohort."),
        Setting("period", str, "year", "Follow costs per 'year' or per 'half_year'.", choices=("year", "half_year")),
        Setting("caliper", float, 0.2, "Matching caliper in standard deviations of the propensity score's logit.",
                check=_positive),
        Setting("movers", str, "follow", "Households of which a member moved out of the area, or that dissolved, "
                "during the follow-up: 'follow' their members anyway, or 'exclude' them (with their match).",
                choices=("follow", "exclude")),
        Setting("comparison", str, "all", "Comparison households: 'all' households not in the cohort, or 'eligible': "
                "only those that meet the [selection] criteria on the costs before the start but are not in the "
                "cohort (with cohort = 'file': an enrolled cohort against eligible, not enrolled households; the "
                "design that can identify an effect, see lib/monitoring.py).", choices=("all", "eligible")),
    ),
    "sources": (
        Setting("format_preference", list, ["parquet", "sav", "csv"], "When a file exists in several formats, "
                "the first available in this order is read.", items=str),
        Setting("csv_encoding", str, "auto", "Text encoding of the CSV files of [sources.cbs]: 'auto' reads UTF-8, "
                "and a file with a byte-order mark (UTF-8 or UTF-16) in the encoding the mark names; any other "
                "file that is not UTF-8 is refused with its row. Set 'cp1252' for files saved by Excel as 'CSV' "
                "(Windows-1252).", choices=("auto", "utf-8", "cp1252", "latin-1", "utf-16")),
        Setting("max_rejected_share", float, 0.2, "A source that loses more than this share of its rows or of its "
                "euros to one data problem (one rejection reason; not to lying outside the study period) stops the run with the reasons and "
                "the fix, unless accept_rejections names it.", check=_share),
        Setting("accept_rejections", list, [], "Sources (dataset names such as \"WMOBUS\", or appendix-2 file names) "
                "whose rejections above max_rejected_share are accepted: a warning instead of a stop.", items=str),
        Setting("layouts", str, "", "A layouts file (TOML) that fits the bundle's layouts to the files found, per "
                "dataset: file name, kind, reading form and the name of each column in the file (see "
                "lib/reference_data/layouts.toml and scripts/inspect_sources.py). Empty: the built-in layouts."),
        Setting("detention_days_per_year", float, 123.0, "Days in custody a detainee-year of GEDETINEERDENTAB counts "
                "where the file has no days (the yearly person form): an assumption stated in every table. "
                "DEFAULT 123, not a DJI figure: about 9,900 detained on 30 September 2019 x 365 / 29,370 "
                "persons detained in 2021 (CBS).", check=_positive),
        Setting("cbs", dict, {}, "CBS datasets: DATASET = \"path or glob\". For TAB datasets the highest V<n> "
                "of each year is read, for BUS datasets the newest file. Also cost_files (see sources.cbs below)."),
        Setting("overlap", dict, {}, "Which source prices a domain that both a CBS register and providers' "
                "appendix-2 files describe (the same care twice), e.g. { jeugdhulp = \"register\", wmo = "
                "\"provider\" }: 'register' or 'provider'. The other source's records are read and accounted, not "
                "priced; the log shows both totals. A domain in both without a rule stops the run.", items=str,
                check=lambda v: None if all(x in ("register", "provider") for x in v.values())
                else "must map domains to 'register' or 'provider'"),
        Setting("municipality", dict, {}, "Municipal route: a table [sources.municipality] with the settings below."),
    ),
    "report": (
        Setting("language", str, "nl", "Language of the report: 'nl' (Dutch, for the municipality) or 'en' "
                "(English: every heading, finding, caveat, label, figure, table title and note; the export keeps "
                "its Dutch titles and notes). Numbers in Dutch format (1.155; 24,5%) in the Dutch report, in "
                "English format (1,155; 24.5%) in the English one.",
                choices=("nl", "en")),
    ),
    "comparison": (
        Setting("earlier_work_dir", str, "", "Repeated measurements: the work folder of an earlier run of the same "
                "study area, route and price year with an earlier peildatum. Its baseline is published beside this "
                "run's, in the same tables and protected together, and the persons of its selection are followed into "
                "this baseline (docs/analyses.md, 'Repeated measurements'). Empty: no comparison."),
    ),
    "disclosure_control": (),     # validated by disclosure_control.DisclosureRules.from_mapping
}

CBS_REQUIRED_DATASETS = ("GBAPERSOONTAB", "GBAHUISHOUDENSBUS", "GBAADRESOBJECTBUS", "VSLGWBTAB")
MUNICIPALITY_SETTINGS = (
    Setting("brp_extract", str, "", "BRP extract of the municipality at the reference date (CSV with the columns "
            "BSN, Locatiecode, Gezinsrelatie; other columns are not read)."),
    Setting("cost_files", list, [], "Appendix-2 cost files of providers and departments (paths or globs).",
            items=str),
    Setting("domain_labels", str, str(REFERENCE_DATA / "domain_labels.csv"), "Mapping of the appendix-2 domain "
            "labels (and, where needed, cost codes) to the bundle's domains (CSV: domain_label, cost_code, domain)."),
    Setting("bsn_eleven_test", bool, True, "Reject BSNs that fail the eleven-test; set false when the files carry "
            "pseudonyms of a trusted third party instead of raw BSNs in their BSN column."),
    Setting("key_column", str, "BSN", "The column of the cost files that names the person: 'BSN' (raw BSNs), or "
            "the header of the column with a trusted third party's pseudonym (e.g. 'Pseudoniem'): digits, at most 9 "
            "(the pseudonym the BRP extract's BSN column carries), never eleven-tested."),
    Setting("exact_duplicates", str, "drop", "Exact duplicate rows of a cost file: 'drop' (reported with their "
            "rows and euros in the reconciliation, and not counted) or 'keep' (reported likewise, and counted).",
            choices=("drop", "keep")),
    Setting("decimal", (str, dict), {}, "Decimal separator of the amounts of the cost files where a file cannot "
            "tell (e.g. only '1,200'): \",\" or \".\" for every file, or a table of file names or patterns, e.g. "
            "decimal = { \"zorg_bv.csv\" = \",\" }. Default: decided from each file's whole amount column.",
            check=_decimal),
)


CBS_SETTINGS = (
    Setting("cost_files", list, [], "Combined route: appendix-2 cost files of the municipality and its providers "
            "that CBS linked to persons (RINPERSOONS and RINPERSOON instead of BSN; paths or globs), read beside the "
            "registers with every appendix-2 rule and the appendix-2 settings of [sources.municipality] "
            "(domain_labels, exact_duplicates, decimal). Only RINPERSOONS 'R' links. See [sources] overlap.",
            items=str),
)
"""Settings of [sources.cbs] besides its datasets (lower-case keys, kept in ``[sources] cbs_settings``)."""


def cbs_cost_files(config) -> list[str]:
    """The appendix-2 cost files of ``[sources.cbs] cost_files`` (the combined route)."""
    return list(config["sources"].get("cbs_settings", {}).get("cost_files", []))


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration."""

    path: Path
    sha256: str
    values: dict[str, dict[str, Any]]

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    @property
    def disclosure_rules(self) -> DisclosureRules:
        return self.values["disclosure_control"]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder unless absolute."""
        p = Path(value)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def work_dir(self) -> Path:
        return self.resolve(self.values["run"]["work_dir"])

    @property
    def export_dir(self) -> Path:
        return self.resolve(self.values["run"]["export_dir"])

    @property
    def years(self) -> list[int]:
        return list(self.values["study"]["years"])

    @property
    def peildatum(self) -> _dt.date:
        return self.values["study"]["peildatum"]


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
             dict: "a table", _dt.date: "a date (YYYY-MM-DD)"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_type(value, kind) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return True
    if _dt.date in kinds and isinstance(value, _dt.datetime):
        return False
    return isinstance(value, kinds)


def _wrong_items(value, kind) -> list:
    items = value.values() if isinstance(value, dict) else value
    return [v for v in items if not _check_type(v, kind)]


def _validate_settings(given: dict, settings: tuple[Setting, ...], where: str) -> tuple[dict, list[str]]:
    """Values of ``settings`` in ``given`` (defaults filled in) and the problems found."""
    problems = []
    known = {s.key for s in settings}
    for key in sorted(set(given) - known):
        problems.append(f"unknown key '{key}' in [{where}] (known: {', '.join(sorted(known))})")
    out = {}
    for s in settings:
        if s.key not in given:
            if s.default is REQUIRED:
                problems.append(f"missing required key '{s.key}' in [{where}]: {s.doc}")
            else:
                out[s.key] = s.default
            continue
        value = given[s.key]
        if not _check_type(value, s.kind):
            problems.append(f"[{where}] {s.key} = {value!r} must be {_type_name(s.kind)}")
        elif s.items is not None and (bad := _wrong_items(value, s.items)):
            problems.append(f"[{where}] {s.key} = {value!r}: every item must be {_type_name(s.items)}; not "
                            f"{', '.join(map(repr, bad))}")
        elif s.choices and value not in s.choices:
            problems.append(f"[{where}] {s.key} = {value!r} must be one of {', '.join(map(repr, s.choices))}")
        elif s.check and (msg := s.check(value)):
            problems.append(f"[{where}] {s.key} {msg}")
        else:
            out[s.key] = value
    return out, problems


def validate(raw: dict, where: str, base_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Check ``raw`` (parsed TOML) against the schema; return values with defaults filled in.
    ``base_dir`` (the config file's folder) resolves relative folders for the checks that need it."""
    problems: list[str] = _escaped_backslashes(raw)
    for s in sorted(set(raw) - set(SCHEMA)):
        problems.append(f"unknown section [{s}] (known: {', '.join(sorted(SCHEMA))})")
    values: dict[str, dict[str, Any]] = {}
    for section, settings in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            problems.append(f"[{section}] must be a table")
            continue
        if section == "disclosure_control":
            try:
                values[section] = DisclosureRules.from_mapping(given)
            except ValueError as exc:
                problems.append(f"[disclosure_control] {exc}")
            continue
        values[section], found = _validate_settings(given, settings, section)
        problems += found
    cbs = values.get("sources", {}).get("cbs")
    if isinstance(cbs, dict):
        # Settings of [sources.cbs] (lower-case keys) apart from its datasets (upper-case names).
        settings = {k: v for k, v in cbs.items() if k in {s.key for s in CBS_SETTINGS}}
        values["sources"]["cbs"] = {k: v for k, v in cbs.items() if k not in settings}
        values["sources"]["cbs_settings"], found = _validate_settings(settings, CBS_SETTINGS, "sources.cbs")
        problems += found
    municipality = values.get("sources", {}).get("municipality")
    if isinstance(municipality, dict):
        values["sources"]["municipality"], found = _validate_settings(municipality, MUNICIPALITY_SETTINGS,
                                                                      "sources.municipality")
        problems += found
    if not problems:
        problems += _cross_checks(values)
        problems += _folder_checks(values, base_dir if base_dir is not None else Path(where).parent)
    if problems:
        raise ConfigError(f"{where}: the configuration has {len(problems)} problem(s):\n  - "
                          + "\n  - ".join(problems))
    return values


def _cross_checks(values: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    study = values["study"]
    if study["peildatum"].year not in study["years"]:
        problems.append(f"[study] peildatum {study['peildatum']} is not in the study years {study['years']}")
    sources = values["sources"]
    for key in sorted(set(sources["cbs"]) - set(CBS_DATASETS)):
        problems.append(f"unknown CBS dataset '{key}' in [sources.cbs] (known: {', '.join(CBS_DATASETS)})")
    for key, value in sources["cbs"].items():
        if not isinstance(value, str):
            problems.append(f"[sources.cbs] {key} must be a path or glob pattern as text")
    if values["selection"]["write_list"] and values["run"]["statistics_only"]:
        problems.append("[selection] write_list = true is refused in a statistics-only run ([run] statistics_only = "
                        "true, as in CBS Remote Access): selecting individual households is a separate legal act")
    monitoring = values["monitoring"]
    if monitoring["enabled"]:
        start = monitoring["cohort_start"]
        if start is None:
            problems.append("[monitoring] enabled needs cohort_start (a date, e.g. 2021-01-01)")
        elif not (study["years"][0] < start.year <= study["years"][-1]):
            problems.append(f"[monitoring] cohort_start {start} must fall after the first study year and within the "
                            f"study years {study['years']} (years before it are the baseline)")
        elif (start.day, start.month) not in ([(1, 1)] if monitoring["period"] == "year" else [(1, 1), (1, 7)]):
            first_days = "1 January" if monitoring["period"] == "year" else "1 January or 1 July"
            problems.append(f"[monitoring] cohort_start {start} must be the first day of a period ({first_days} with "
                            f"period = '{monitoring['period']}'): a period that begins before the start would count "
                            "costs from before the start as follow-up, and a cohort selected on those costs would "
                            "seem to do worse than its comparison group")
        if monitoring["cohort"] == "file" and not monitoring["cohort_file"]:
            problems.append("[monitoring] cohort = 'file' needs cohort_file")
        if monitoring["comparison"] == "eligible" and monitoring["cohort"] != "file":
            problems.append("[monitoring] comparison = 'eligible' needs cohort = 'file' (with cohort = 'selection' "
                            "every eligible household is in the cohort)")
    prices = values["prices"]
    series = {"cpi"} | set(prices["index_series"])
    for domain, name in sorted(prices["domain_index"].items()):
        if name not in series:
            problems.append(f"[prices] domain_index: domain '{domain}' names index series '{name}', which is not "
                            f"defined (the run's series: {', '.join(sorted(series))}; define further series in "
                            "[prices] index_series)")
    municipality = sources["municipality"]
    if values["run"]["route"] == "cbs":
        from lib.config_template import dataset_pattern    # here: the template module imports this one
        for name in CBS_REQUIRED_DATASETS:
            if name not in sources["cbs"]:
                problems.append(f"route 'cbs' needs [sources.cbs] {name} (the household and address registers), e.g. "
                                f"{name} = \"{dataset_pattern(CBS_DATASETS[name])}\" (python scripts/run_all.py "
                                "--init cbs writes a template with every dataset)")
        if municipality["cost_files"] or municipality["brp_extract"]:
            problems.append("route 'cbs' reads CBS registers keyed by RINPERSOON; [sources.municipality] files are "
                            "keyed by BSN and belong to route 'municipality' (appendix-2 files that CBS linked to "
                            "RINPERSOON go in [sources.cbs] cost_files)")
    else:
        if sources["cbs_settings"]["cost_files"]:
            problems.append("[sources.cbs] cost_files (appendix-2 files linked by CBS to RINPERSOON) belong to route "
                            "'cbs'; on route 'municipality' cost files go in [sources.municipality] cost_files")
        for key in ("brp_extract", "cost_files"):
            if not municipality[key]:
                problems.append(f"route 'municipality' needs [sources.municipality] {key}")
        if values["households"]["attribution"] == "monthly":
            problems.append("[households] attribution 'monthly' needs the household history of the CBS register; "
                            "the municipal route's BRP extract describes the reference date only")
    for fmt in sources["format_preference"]:
        if fmt not in ("parquet", "sav", "csv"):
            problems.append(f"[sources] format_preference has unknown format {fmt!r}")
    residence = study["residence_date"]
    if residence is not None and residence < study["peildatum"]:
        problems.append(f"[study] residence_date {residence} is before the peildatum {study['peildatum']}: it is the "
                        "date on which households are still living in the study area, the peildatum or later")
    elif residence is not None and residence != study["peildatum"] and values["run"]["route"] == "municipality":
        problems.append(f"[study] residence_date {residence} differs from the peildatum {study['peildatum']}, but the "
                        "municipal route's BRP extract describes the peildatum only: no data covers that date. Leave "
                        "residence_date out (or set it to the peildatum)")
    return problems


def _folder_checks(values: dict[str, dict[str, Any]], base_dir: Path) -> list[str]:
    """The export folder receives only checked aggregates, the work folder holds microdata: they
    must be apart, neither inside the other."""
    def resolved(value: str) -> Path:
        p = Path(value)
        return Path(os.path.normcase(os.path.abspath(p if p.is_absolute() else base_dir / p)))
    work, export = resolved(values["run"]["work_dir"]), resolved(values["run"]["export_dir"])
    if work == export:
        return [f"[run] work_dir and export_dir are the same folder ({work}): the work folder holds microdata, "
                "which must never be in the export folder; give them different folders side by side"]
    if export in work.parents:
        return [f"[run] work_dir {work} is inside export_dir {export}: the work folder holds microdata, which must "
                "never be in the export folder; put them side by side (e.g. work_dir = \"work\", export_dir = "
                "\"export\")"]
    if work in export.parents:
        return [f"[run] export_dir {export} is inside work_dir {work}: keep the export folder (checked aggregates "
                "only) apart from the work folder (microdata); put them side by side (e.g. work_dir = \"work\", "
                "export_dir = \"export\")"]
    return []


_CONTROL = {"\t": "\\t (a tab)", "\n": "\\n (a new line)", "\r": "\\r", "\b": "\\b", "\f": "\\f"}
BACKSLASH_HINT = ("in a TOML string between double quotes a backslash starts an escape (\"C:\\temp\" holds a tab). "
                  "Write paths with forward slashes, which work on Windows too (\"G:/data/GBAPERSOON*.sav\"), or "
                  "between single quotes ('G:\\data\\GBAPERSOON*.sav')")


def _escaped_backslashes(raw: dict, where: str = "") -> list[str]:
    """Text values that hold control characters: a Windows path in double quotes whose backslashes
    TOML read as escapes (\\t, \\n, \\b, \\f, \\r)."""
    problems = []
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        if isinstance(value, dict):
            problems += _escaped_backslashes(value, name)
            continue
        for item in (value if isinstance(value, list) else [value]):
            if isinstance(item, str) and (found := [_CONTROL[c] for c in _CONTROL if c in item]):
                section, _, last = name.rpartition(".")
                problems.append(f"[{section}] {last} = {item!r} holds {', '.join(found)}: {BACKSLASH_HINT}")
    return problems


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run configuration file."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a valid TOML file: it is not UTF-8 text ({exc}); save it as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        hint = ""
        line = re.search(r"line (\d+)", str(exc))
        lines = text.splitlines()
        if line and 1 <= int(line[1]) <= len(lines):
            hint = f" (line {line[1]}: {lines[int(line[1]) - 1].strip()})"   # the user sees what to fix
        if line and "\\" in _quoted_text(lines[int(line[1]) - 1] if 1 <= int(line[1]) <= len(lines) else ""):
            hint += f". That line has a backslash between double quotes: {BACKSLASH_HINT}"
        raise ConfigError(f"{path}: not a valid TOML file: {exc}{hint}") from None
    values = validate(raw, str(path), path.parent)
    return RunConfig(path=path, sha256=hashlib.sha256(data).hexdigest(), values=values)


def _quoted_text(line: str) -> str:
    """The parts of a TOML line between double quotes."""
    return "".join(re.findall(r'"([^"]*)"', line))


def config_reference() -> str:
    """The config reference as Markdown, printed from the schema."""
    lines = ["| section | key | default | meaning |", "|---|---|---|---|"]
    for section, settings in SCHEMA.items():
        for s in settings:
            default = "required" if s.default is REQUIRED else repr(s.default)
            if isinstance(s.default, (str, list)) and str(REFERENCE_DATA) in str(s.default):
                default = "bundle default"
            lines.append(f"| {section} | {s.key} | {default} | {s.doc} |")
    for s in CBS_SETTINGS:
        lines.append(f"| sources.cbs | {s.key} | {s.default!r} | {s.doc} |")
    for s in MUNICIPALITY_SETTINGS:
        default = "bundle default" if str(REFERENCE_DATA) in str(s.default) else repr(s.default)
        lines.append(f"| sources.municipality | {s.key} | {default} | {s.doc} |")
    for name, value, meaning in DisclosureRules().describe():
        lines.append(f"| disclosure_control | {name} | {value!r} | {meaning} |")
    return "\n".join(lines)
