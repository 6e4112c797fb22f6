"""Step 3: price every record into the cost ledger, in euros of the run's price year.

Writes to ``<work>/03_price/``: ``ledger`` (person, month, domain, source, cost),
``record_cost`` (the cost of each record of ``02_read_sources/records``, same order),
``pricing.csv`` (per source and code: records, records used, cost), ``prices_used.csv``
(every price row with its index series, index factor and value in the price year), ``fallback_uses.csv``,
``ledger_laag`` and ``ledger_hoog`` (the same records under ``[sensitivity]``'s low and high
price tables, see ``lib.price_sensitivity``; only when they are given),
``price_check.csv`` (per domain the implied cost per client-year and per unit against the
national figures of ``lib/reference_data/national_figures.csv``, see ``lib.price_check``) and, when
prices are missing, ``missing_prices.csv`` (source, code, year, records) before the step
stops with the same list.
"""
from __future__ import annotations

import pandas as pd

from lib.pipeline import RunContext, Step, StepResult
from lib.price_sensitivity import scenario_tables_configured
from lib.pricing import (
    DEFAULT_SERIES,
    MissingPrices,
    PriceIndex,
    PricingError,
    combine_price_tables,
    load_bijstand_codes,
    load_price_table,
    price_records,
    regulation_price_rows,
)
from lib.price_check import BAND, NATIONAL_FIGURES, ClientYears, check_lines, load_national_figures, price_check
from lib.steps.read_sources import REGISTERS_ONLY_LOG, registers_only
from lib.workfiles import TableWriter, read_table, table_path, write_table


def load_price_tables(config, paths: list[str], index: PriceIndex) -> list[pd.DataFrame]:
    """The price tables at ``paths`` (relative to the config), each row's index series checked."""
    tables = [load_price_table(config.resolve(p)) for p in paths]
    for table in tables:
        index.check_names(table["index_series"][table["index_series"] != ""].unique(),
                          f"{table['table'].iloc[0] if len(table) else 'a price table'}: column index_series")
    return tables


def price_ledger(ctx: RunContext) -> StepResult:
    config = ctx.config
    out = ctx.step_dir
    prices_cfg = config["prices"]
    price_year = prices_cfg["price_year"]
    index_path = config.resolve(prices_cfg["index"])
    # Named index series: 'cpi' is [prices] index, the others [prices] index_series; which series
    # indexes what is decided per price row and per domain (lib.pricing.PriceIndex).
    index = PriceIndex.load({DEFAULT_SERIES: index_path}
                            | {name: config.resolve(path) for name, path in prices_cfg["index_series"].items()},
                            prices_cfg["domain_index"])
    tables = load_price_tables(config, prices_cfg["price_tables"] + prices_cfg["fallback_tables"], index)
    base_prices = combine_price_tables(tables[:len(prices_cfg["price_tables"])])
    scenarios = scenario_tables_configured(config)
    if len(scenarios) == 1:
        raise PricingError("[sensitivity] gives price tables for one end only: give both price_tables_laag and "
                           "price_tables_hoog, or neither")
    fallback = (combine_price_tables(tables[len(prices_cfg["price_tables"]):])
                if prices_cfg["fallback_tables"] else None)
    records = read_table(ctx.earlier_step_dir("read_sources") / "records")
    # The regulations of the bijstand spells (BIJSTANDSTATISTIEKCODEA, lib.pricing.apply_bijstand_codes):
    # IOAW, IOAZ and Bbz at the norm of their code in their own domain, unless a price table prices them.
    bijstand_codes = load_bijstand_codes(config.resolve(prices_cfg["bijstand_codes"]))
    prices = regulation_price_rows(base_prices, bijstand_codes)
    detention_spells = "GEDETINEERDENTAB" in {name.upper() for name in config["sources"]["cbs"]}
    tally = ClientYears()
    try:
        # The ledger goes to disk chunk by chunk (nationally it is over a hundred million rows),
        # each chunk written on the second core while the next is priced.
        with TableWriter(out / "ledger", background=True) as ledger:
            def sink(part):
                # Client-years are counted from each part as it passes (parts hold whole persons).
                tally.add(part)
                ledger.write(part)

            priced = price_records(records, prices, index, price_year, fallback=fallback,
                                   bijstand_from=prices_cfg["bijstand_from"], index_hint=str(index_path),
                                   bijstand_codes=bijstand_codes, detention_spells=detention_spells,
                                   progress=ctx.progress("records priced", len(records)), ledger_sink=sink)
    except MissingPrices as missing:
        table_path(out / "ledger").unlink(missing_ok=True)
        missing.missing.to_csv(out / "missing_prices.csv", index=False, encoding="utf-8")
        raise
    write_table(pd.DataFrame({"cost": priced.record_cost}), out / "record_cost")
    priced.report.to_csv(out / "pricing.csv", index=False, encoding="utf-8")
    priced.fallback_uses.to_csv(out / "fallback_uses.csv", index=False, encoding="utf-8")
    series = index.for_rows(prices)
    # Empty (NaN) where the series lacks the row's price year: such a row priced nothing in this run.
    factor = index.factor(series, prices["price_year"].to_numpy(), price_year, missing="nan")
    used = prices.assign(index_series=series, index_factor=factor,
                         **{f"price_in_{price_year}": prices["price"].to_numpy(float) * factor})
    used.to_csv(out / "prices_used.csv", index=False, encoding="utf-8")

    total = float(priced.ledger_cost_by_domain.sum())
    if abs(total - float(priced.record_cost.sum())) > 0.01:
        raise AssertionError("ledger and record costs differ (a bug, please report)")
    # The price check compares with the main price tables (a fallback price is reported apart).
    check = price_check(tally.table(), prices, load_national_figures(NATIONAL_FIGURES), index, price_year,
                        index_hint=str(index_path))
    check.to_csv(out / "price_check.csv", index=False, encoding="utf-8")
    result = StepResult(outputs=["ledger", "record_cost", "pricing.csv", "prices_used.csv", "fallback_uses.csv",
                                 "price_check.csv"])
    result.counts = {"records": len(records), "records priced": int((priced.record_cost != 0).sum()),
                     "ledger rows (person, month, domain, source)": priced.ledger_rows}
    result.notes.append(f"total cost EUR {total:,.2f} in euros of {price_year}")
    result.notes += [f"  {domain:<22} EUR {cost:>18,.2f}" for domain, cost in priced.ledger_cost_by_domain.items()]
    for what, count in priced.excluded.items():
        result.notes.append(f"not priced: {count:,} {what}")
    result.notes += priced.notes + priced.warnings
    lines, warnings = check_lines(check, price_year, BAND)
    result.notes += lines + warnings
    for scenario, tables in scenario_tables_configured(config).items():
        # The same records under the low or the high prices (lib.price_sensitivity).
        scenario_prices = regulation_price_rows(combine_price_tables([base_prices] + load_price_tables(config, tables, index)),
                                                bijstand_codes)
        try:
            with TableWriter(out / f"ledger_{scenario}", background=True) as ledger:
                priced_scenario = price_records(records, scenario_prices, index, price_year, fallback=fallback,
                                                bijstand_from=prices_cfg["bijstand_from"], index_hint=str(index_path),
                                                bijstand_codes=bijstand_codes, detention_spells=detention_spells,
                                                ledger_sink=ledger.write)
        except MissingPrices as missing:
            table_path(out / f"ledger_{scenario}").unlink(missing_ok=True)
            raise PricingError(f"[sensitivity] price_tables_{scenario}: with these tables, prices are missing for "
                               + "; ".join(f"{r.source} {r.code} {r.year} ({r.records:,} records)"
                                           for r in missing.missing.itertuples())) from None
        scenario_total = float(priced_scenario.record_cost.sum())
        result.outputs.append(f"ledger_{scenario}")
        result.notes.append(f"price sensitivity ({scenario}): total cost EUR {scenario_total:,.2f} "
                            f"({scenario_total / total:.1%} of the run's prices)" if total else
                            f"price sensitivity ({scenario}): total cost EUR {scenario_total:,.2f}")
    if len(priced.fallback_uses):
        result.notes.append(f"FALLBACK prices used for {int(priced.fallback_uses['records'].sum()):,} record(s), "
                            f"EUR {priced.fallback_uses['cost'].sum():,.2f}; see fallback_uses.csv")
    if registers_only(config):
        # Nothing was priced: a total of EUR 0 or a price check would read as a measurement.
        result.notes = [f"{REGISTERS_ONLY_LOG}: nothing to price, the ledger is empty"]
    return result


STEP = Step(
    name="price",
    title="price every record into the person-month cost ledger (one price year)",
    run=price_ledger,
    reads=("02_read_sources/records", "price tables and price index of [prices]"),
    writes=("ledger", "record_cost", "pricing.csv", "prices_used.csv", "fallback_uses.csv", "price_check.csv",
            "missing_prices.csv", "ledger_laag, ledger_hoog (with [sensitivity])"),
)
