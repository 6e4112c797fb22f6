"""Coverage of the providers (paragraph 2.2b of the method): who delivered, and how much they cover.

The method advises to ask the larger providers that together reach 90% of the costs. For every
domain that providers' appendix-2 files price, the baseline requests one table
(``dekking_aanbieders_<domain>``): per provider the households of the study population with a
client of it (cliënten, counted as households) and the euros of those clients over the study years.
The writer's dominance and p%-rules work on the contributions of the table's unit: a provider's euros
are the sum of its clients' households' costs, so the unit is the household (the cube's unit), and a
household with clients of two providers contributes to both rows (``aanbieder`` splits the
household's amount: a value dimension). Provider names are published only where ``[baseline]
publishable_providers`` lists them; the others are 'aanbieder 1', 'aanbieder 2', ... in the order of
their names (an order by euros would bound a suppressed provider's euros by its neighbours').

Where a CBS register describes the same domain (``lib.records.REGISTER_DOMAINS``; the combined
route), a second table (``dekking_register_<domain>``) counts per study year the households of the
study population with a client in the register only, in the providers' files only, or in both, from
the records as read (priced or not: ``[sources] overlap`` decides the price, not who is a client).
Coverage is ``beide / (alleen register + beide)``: the share of the register's households that the
providers' files reach.

The report's section "Dekking van de aanbieders" is made from the published tables alone
(``coverage_markdown``, ``coverage_html``): the cumulative share of the published euros and how many
of the largest providers reach 90%.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.baseline import TableSpec, table_metadata
from lib.dates import ymd_from_days
from lib.dutch_numbers import euro, number, percent
from lib.households import SpellIndex, attribute_months
from lib.records import PROVIDER_NONE, REGISTER_DOMAINS, category_codes
from lib.report_structure import overview_html, overview_markdown
from lib.workfiles import read_table, table_path

COVERAGE_TARGET = 0.9
"""Paragraph 2.2b: the larger providers that together reach 90% of the costs."""
SOURCE_LABELS = ("alleen register", "alleen aanbieders", "beide")
PERIOD_LABEL = "studiejaren samen"
UNNAMED = "aanbieder {}"


def provider_ledger(stem) -> pd.DataFrame:
    """The ledger rows of providers' files (``provider`` > 0): person, month, domain, provider, cost.
    Read with a row filter where the ledger is parquet (nationally it holds over a hundred million
    rows, few of them from providers' files)."""
    columns = ["person", "month", "domain", "provider", "cost"]
    path = table_path(stem)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        frame = pq.read_table(path, columns=columns, filters=[("provider", ">", PROVIDER_NONE)]).to_pandas()
    else:
        frame = read_table(stem, columns=columns)
        frame = frame[frame["provider"].to_numpy() > PROVIDER_NONE].reset_index(drop=True)
    frame["domain"] = frame["domain"].astype(str)
    return frame


def provider_labels(euros: pd.Series, names: pd.Series, publishable: list[str]) -> pd.Series:
    """The published label of each provider code of one domain (``euros`` indexed by code, ``names``
    by code): its name where ``publishable`` lists it (without case), otherwise 'aanbieder k', k
    counting the unnamed providers in the order of their names. Never in the order of the euros: a
    suppressed provider's rank would bound its euros by its neighbours' published ones. Returned in
    the order of the names."""
    allowed = {p.strip().casefold() for p in publishable}
    order = sorted(euros.index, key=lambda code: (str(names.get(code, "")).strip().casefold(), code))
    labels, k = {}, 0
    for code in order:
        name = str(names.get(code, ""))
        if name.strip().casefold() in allowed and name.strip():
            labels[code] = name
        else:
            k += 1
            labels[code] = UNNAMED.format(k)
    return pd.Series(labels)


def provider_tables(ledger: pd.DataFrame, providers: pd.DataFrame, household_of, publishable: list[str],
                    meta) -> list[TableSpec]:
    """One ``dekking_aanbieders_<domain>`` table per domain of ``ledger`` (the providers' rows of the
    ledger, ``provider_ledger``). ``household_of(person, month)`` gives each row's household of the
    study population (-1: none), as the cube attributes costs; ``meta(title, population, notes)`` the
    table's metadata."""
    household = household_of(ledger["person"].to_numpy(), ledger["month"].to_numpy())
    attributed = ledger.assign(household=household)[household >= 0]
    names = providers.set_index("provider")["name"]
    tables = []
    for domain in sorted(attributed["domain"].unique()):
        rows = attributed[attributed["domain"] == domain]
        by_household = rows.groupby(["household", "provider"], as_index=False)["cost"].sum()
        euros = by_household.groupby("provider")["cost"].sum()
        labels = provider_labels(euros, names, publishable)
        data = pd.DataFrame({"household": by_household["household"].to_numpy(),
                             "aanbieder": pd.Categorical(labels.reindex(by_household["provider"]).to_numpy(),
                                                         categories=list(labels.to_numpy())),
                             f"kosten_{domain}": by_household["cost"].to_numpy()})
        # The number of providers is the number of rows, not a note: a number in the notes that equals
        # a cell of the table is refused by the export check.
        notes = ["Een rij per aanbieder die een bestand leverde met kosten van dit domein voor de studiepopulatie.",
                 "Cliënten zijn geteld als huishoudens van de studiepopulatie met een cliënt van de aanbieder; een "
                 "huishouden met cliënten van twee aanbieders telt bij beide, de kosten zijn die van zijn cliënten.",
                 "Aanbieders zonder toestemming om genoemd te worden staan als 'aanbieder 1', 'aanbieder 2', ... in "
                 "de volgorde van hun namen, niet van hun kosten ([baseline] publishable_providers).",
                 "Advies van de methode (2.2b): vraag de grotere aanbieders die samen 90% van de kosten dekken; "
                 "het rapport telt met hoeveel aanbieders, van de meeste kosten af, 90% van de gepubliceerde kosten "
                 "bereikt is."]
        # Its own amount (kosten_<domain>): a provider's part of a household's costs is no part of the
        # domain-by-year split the other tables share, and the export-wide audit links amounts of one
        # name through their common split.
        tables.append(TableSpec(
            f"dekking_aanbieders_{domain}", "magnitude_table", data,
            {"unit": "household", "dimensions": ["aanbieder"], "values": f"kosten_{domain}", "statistic": "sum",
             "value_dimensions": ["aanbieder"],
             "metadata": meta(f"Aanbieders van {domain}: huishoudens met een cliënt en kosten per aanbieder",
                              f"huishoudens met kosten van {domain} uit bestanden van aanbieders", notes)}))
    return tables


def client_years(records: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(person, year) of every study year each of ``records``' ``rows`` overlaps (its start to its end)."""
    start = records["start"].to_numpy()[rows]
    end = records["end"].to_numpy()[rows]
    first, last = ymd_from_days(start)[0].astype(np.int64), ymd_from_days(end)[0].astype(np.int64)
    span = last - first + 1
    record = np.repeat(np.arange(rows.size), span)
    year = first[record] + (np.arange(record.size) - np.repeat(np.cumsum(span) - span, span))
    return records["person"].to_numpy()[rows][record], year


def register_coverage_tables(records: pd.DataFrame, member_of: np.ndarray, years: list[int], meta) -> list[TableSpec]:
    """One ``dekking_register_<domain>`` table per domain that a register of the run and providers'
    files both describe: per study year the households (at the peildatum, ``member_of[person]``; -1
    outside the study population) with a client in the register only, in the files only, or both."""
    # Through category codes: nationally millions of records, few source and domain names.
    source_names, source = category_codes(records["source"])
    domain_names, domain = category_codes(records["domain"])
    from_file = records["provider"].to_numpy() > PROVIDER_NONE
    register_sources = {source_names[c] for c in np.unique(source[~from_file])}
    tables = []
    for d in sorted({domain_names[c] for c in np.unique(domain[from_file])}):
        registers = sorted(s for s in register_sources if d in REGISTER_DOMAINS.get(s, ()))
        if not registers:
            continue
        this_domain = domain == domain_names.index(d)
        in_register = np.isin(source, [source_names.index(r) for r in registers])
        if "UITKERINGBEDRAGTAB" in source_names:        # its records know their domain when read
            in_register &= (source != source_names.index("UITKERINGBEDRAGTAB")) | this_domain
        parts = []
        for kind, rows in ((1, np.flatnonzero(in_register)), (2, np.flatnonzero(from_file & this_domain))):
            person, year = client_years(records, rows)
            household = member_of[person] if person.size else np.zeros(0, np.int64)
            keep = (household >= 0) & np.isin(year, years)
            parts.append(pd.DataFrame({"household": household[keep], "jaar": year[keep], "kind": kind}))
        clients = pd.concat(parts, ignore_index=True)
        # The study years together are a period of their own (a household's kinds over all years), not
        # a margin: a household can be in the register only in one year and in both in another.
        clients = pd.concat([clients.astype({"jaar": str}), clients.assign(jaar=PERIOD_LABEL)], ignore_index=True)
        # Register (1) and files (2) summed over a household's distinct kinds of a period: 3 is both.
        both = clients.drop_duplicates().groupby(["household", "jaar"], as_index=False, sort=False)["kind"].sum()
        data = pd.DataFrame({"household": both["household"].to_numpy(),
                             "jaar": pd.Categorical(both["jaar"].to_numpy(),
                                                    categories=[str(y) for y in years] + [PERIOD_LABEL]),
                             "bron": pd.Categorical(np.asarray(SOURCE_LABELS, dtype=object)[both["kind"].to_numpy() - 1],
                                                    categories=list(SOURCE_LABELS))})
        notes = [f"Register: {', '.join(registers)}; aanbieders: de bestanden van aanbieders (bijlage 2) met {d}.",
                 "Een huishouden (op de peildatum, in de studiepopulatie) telt in een jaar als een van zijn leden in "
                 "dat jaar cliënt was: alleen in het register, alleen in de bestanden van aanbieders, of in beide. "
                 "Uit de gelezen records, geprijsd of niet ([sources] overlap bepaalt alleen de prijs).",
                 "Dekking door de aanbieders = beide / (alleen register + beide). 'Studiejaren samen': wie in een "
                 "van de jaren cliënt was, naar de bronnen over alle jaren."]
        tables.append(TableSpec(
            f"dekking_register_{d}", "frequency_table", data,
            # No margins: the union of register and files is not needed for the coverage, and without it
            # a small group (clients only in the files) need not take a large one down with it.
            {"unit": "household", "dimensions": ["jaar", "bron"], "margins": False,
             "metadata": meta(f"Cliënten van {d} in het register en in de bestanden van aanbieders, per jaar",
                              f"huishoudens met een cliënt van {d} in het register of bij aanbieders", notes)}))
    return tables


def coverage_tables(ctx, metadata: dict, residence: dict | None) -> list[TableSpec]:
    """The tables of provider coverage of a run (none when it read no appendix-2 file): from the
    price step's ledger (providers' euros), the read step's records and provider codes (clients), and
    the households step's households and members (attribution as the cube's)."""
    config = ctx.config
    read_dir = ctx.earlier_step_dir("read_sources")
    providers_path = read_dir / "providers.csv"
    if not providers_path.is_file():
        return []
    providers = pd.read_csv(providers_path, dtype={"name": str, "files": str}, keep_default_na=False,
                            encoding="utf-8")
    if providers.empty:
        return []
    hh_dir = ctx.earlier_step_dir("households")
    households, members = read_table(hh_dir / "households"), read_table(hh_dir / "members")
    included = members[members["household"].isin(households.loc[households["included"], "household"])]
    records = read_table(read_dir / "records", columns=["person", "source", "domain", "start", "end", "provider"])
    size = int(max(records["person"].to_numpy().max(initial=-1), members["person"].to_numpy().max(initial=-1)) + 1)
    member_of = np.full(size, -1, dtype=np.int64)
    member_of[included["person"].to_numpy()] = included["household"].to_numpy()
    if config["households"]["attribution"] == "monthly":
        spells = {name: read_table(hh_dir / name) for name in ("membership_spells", "area_spells", "household_spells")}
        kept = spells["household_spells"].loc[spells["household_spells"]["included"], "household_spell"].to_numpy()
        membership, area = SpellIndex(spells["membership_spells"]), SpellIndex(spells["area_spells"])

        def household_of(person, month):
            found = attribute_months(person, month, membership, area)
            return np.where(np.isin(found, kept), found, -1)
    else:
        def household_of(person, month):
            return member_of[person]

    def meta(title: str, population: str, notes: list[str]) -> dict:
        return table_metadata(metadata, residence, title, f"{metadata['population']}: {population}", notes=notes)

    ledger = provider_ledger(ctx.earlier_step_dir("price") / "ledger")
    return (provider_tables(ledger, providers, household_of, config["baseline"]["publishable_providers"], meta)
            + register_coverage_tables(records, member_of, config.years, meta))


# --- the report's section -----------------------------------------------------------------------

INTRODUCTION = ("De methode (2.2b) raadt aan de grotere aanbieders te vragen die samen 90% van de kosten dekken. "
                "Per domein: de aanbieders die leverden, hun cliënten (huishoudens) en kosten, het cumulatieve "
                "aandeel van de gepubliceerde kosten, en waar een register hetzelfde beschrijft hoeveel van de "
                "cliënten van het register ook in de bestanden van de aanbieders staan. Alleen uit de beschermde "
                "tabellen van de exportmap; een 'x' is een onderdrukte cel.")


def provider_overview(table) -> tuple[pd.DataFrame, str]:
    """The providers of one ``dekking_aanbieders_*`` table by their published euros (most first, the
    suppressed last), with their share of the published total and the cumulative share (known while
    every provider before it is published); and the sentence on the 90% advice (the fewest published
    providers that together reach 90%: true whatever the suppressed ones hold)."""
    t = table.table
    column = next(c for c in t.columns if str(c).startswith("sum_kosten"))
    providers = [a for a in t["aanbieder"].astype(str) if a != "Totaal"]
    total = table.value(column, aanbieder="Totaal")
    published = {p: table.value(column, aanbieder=p) for p in providers}
    providers.sort(key=lambda p: (published[p] is None, -(published[p] or 0.0)))
    shown, cumulative, reached = [], 0.0, None
    for rank, provider in enumerate(providers, start=1):
        euros, count = published[provider], table.value("n_households", aanbieder=provider)
        if cumulative is not None and euros is not None and total:
            cumulative += euros
            if reached is None and cumulative / total >= COVERAGE_TARGET - 1e-12:
                reached = rank
        else:
            cumulative = None          # a suppressed provider before: the cumulative share is unknown
        shown.append({"aanbieder": provider, "huishoudens": "x" if count is None else number(count),
                      "kosten": "x" if euros is None else euro(euros),
                      "aandeel": "x" if euros is None or not total else percent(euros / total),
                      "cumulatief": "x" if cumulative is None else percent(cumulative / total)})
    if reached is not None:
        text = f"{reached} van de {len(providers)} aanbieder(s), van de meeste kosten af, halen samen 90% van de kosten."
    else:
        text = ("Met hoeveel aanbieders 90% van de kosten bereikt is, is niet vast te stellen uit de gepubliceerde "
                "cellen (onderdrukt).")
    return pd.DataFrame(shown), text


def register_overview(table) -> pd.DataFrame:
    """Per year the households of a ``dekking_register_*`` table and the coverage by the providers."""
    years = [y for y in dict.fromkeys(table.table["jaar"].astype(str)) if y != "Totaal"]
    rows = []
    for year in years:
        only_register, only_files, both = (table.value("n_households", jaar=year, bron=b) for b in SOURCE_LABELS)
        covered = (both / (only_register + both) if both is not None and only_register is not None
                   and (only_register + both) else None)
        rows.append({"jaar": year, "alleen register": "x" if only_register is None else number(only_register),
                     "alleen aanbieders": "x" if only_files is None else number(only_files),
                     "beide": "x" if both is None else number(both),
                     "dekking van het register": "x" if covered is None else percent(covered)})
    return pd.DataFrame(rows)


def coverage_sections(tables) -> list[tuple[str, pd.DataFrame, str]]:
    """(title, overview, text) per table of provider coverage in the export."""
    sections = []
    for t in tables:
        if t.name.startswith("dekking_aanbieders_"):
            overview, text = provider_overview(t)
            sections.append((f"Aanbieders van {t.name.removeprefix('dekking_aanbieders_')}", overview,
                             f"Uit tabel {t.name}. {text}"))
        elif t.name.startswith("dekking_register_"):
            sections.append((f"Register en aanbieders: {t.name.removeprefix('dekking_register_')}",
                             register_overview(t), f"Uit tabel {t.name}. Dekking = beide / (alleen register + beide)."))
    return sections


def coverage_markdown(tables) -> list[str]:
    """The section "Dekking van de aanbieders" in the markdown report ([] without its tables)."""
    return overview_markdown("Dekking van de aanbieders", INTRODUCTION, coverage_sections(tables))


def coverage_html(tables) -> list[str]:
    """The section "Dekking van de aanbieders" in the HTML report ([] without its tables)."""
    return overview_html("dekking-aanbieders", "Dekking van de aanbieders", INTRODUCTION, coverage_sections(tables))
