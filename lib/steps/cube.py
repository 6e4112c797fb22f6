"""Step 5: the household cost cube (household x domain x year), with composition and residence.

Writes to ``<work>/05_cube/``: ``household_cube`` (household, domain, year, cost),
``person_cube`` (person, household, domain, year, cost) and ``households`` (one row per
household of the study population: composition, type, municipality, wijk and buurt (``lib.areas``),
still resident, five-year cost,
number of domains as the method counts them (``[domains] counting_groups``), number of years
with costs, cost per fine domain), all in euros of the
run's price year and attributed as ``[households] attribution`` says; with ``[sensitivity]``
also ``households_laag`` and ``households_hoog`` (household, five-year cost, cost per domain
under the low and the high prices, ``lib.price_sensitivity``).
"""
from __future__ import annotations

from lib.cube import build_cube
from lib.parallel import map_in_order
from lib.pipeline import RunContext, Step, StepResult
from lib.price_sensitivity import scenario_tables_configured
from lib.steps.households import domain_counting
from lib.steps.read_sources import registers_only, skipped_without_costs
from lib.workfiles import read_table, write_table


def household_cube(ctx: RunContext) -> StepResult:
    config = ctx.config
    if registers_only(config):
        return skipped_without_costs()
    attribution = config["households"]["attribution"]
    hh_dir = ctx.earlier_step_dir("households")
    ledger = read_table(ctx.earlier_step_dir("price") / "ledger", columns=["person", "month", "domain", "cost"])
    extra = {}
    if attribution == "monthly":
        extra = {name: read_table(hh_dir / name) for name in ("membership_spells", "area_spells", "household_spells")}
    counting = domain_counting(config, ledger["domain"].astype("category").cat.categories)
    households, members = read_table(hh_dir / "households"), read_table(hh_dir / "members")
    cube = build_cube(ledger, households, members, attribution, counting=counting, **extra)
    out = ctx.step_dir
    result_notes: list[str] = []
    # The three tables are written side by side (parquet writing leaves the interpreter free).
    tables = {"household_cube": cube.household_cube, "person_cube": cube.person_cube, "households": cube.households}
    for _ in map_in_order(lambda name: write_table(tables[name], out / name), tables, threads=3):
        pass
    # With price sensitivity the cube is built again at the low and at the high prices, each about as long.
    progress = ctx.progress("cube", 1 + len(scenario_tables_configured(config)))
    progress.part("cube built and written", 1)
    for number, scenario in enumerate(scenario_tables_configured(config), start=2):
        # The households' costs under the low or the high prices, attributed the same way.
        priced = read_table(ctx.earlier_step_dir("price") / f"ledger_{scenario}",
                            columns=["person", "month", "domain", "cost"])
        other = build_cube(priced, households, members, attribution, counting=counting, **extra).households
        columns = ["household", "cost_total"] + [f"cost_{d}" for d in cube.domains]
        other = other.reindex(columns=columns, fill_value=0.0)
        if not other["household"].equals(cube.households["household"]):
            raise AssertionError(f"the households under the {scenario} prices differ (a bug, please report)")
        write_table(other, out / f"households_{scenario}")
        result_notes.append(f"price sensitivity ({scenario}): EUR {other['cost_total'].sum():,.2f} to households "
                            "of the study population")
        progress.part(f"households at the {scenario} prices", number)
    attributed = float(cube.household_cube["cost"].sum())
    total = float(ledger["cost"].sum())
    result = StepResult(outputs=["household_cube", "person_cube", "households"])
    result.counts = {"households in the study population": len(cube.households),
                     "households with costs": int((cube.households["cost_total"] > 0).sum()),
                     "persons with attributed costs": int(cube.person_cube["person"].nunique())}
    result.notes.append(f"attribution: {attribution}; EUR {attributed:,.2f} of the ledger's EUR {total:,.2f} "
                        f"({attributed / total:.1%}) goes to households of the study population")
    result.notes += result_notes
    result.outputs += [f"households_{s}" for s in scenario_tables_configured(config)]
    return result


STEP = Step(
    name="cube",
    title="household cost cube: household x domain x year, with composition and residence",
    run=household_cube,
    reads=("03_price/ledger", "04_households/households, members (and spells for monthly attribution)"),
    writes=("household_cube", "person_cube", "households", "households_laag, households_hoog (with [sensitivity])"),
)
