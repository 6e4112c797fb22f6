"""Progress lines and run estimates (lib/progress.py), driven by a fake clock: the remaining times are
computed by hand from the times and counts given, and lines are throttled."""
from __future__ import annotations

import pandas as pd
import pytest

from lib.errors import UserFacingError
from lib.progress import (
    Progress,
    RunClock,
    StepRate,
    about,
    estimate_steps,
    format_duration,
    load_step_rates,
    main_format,
    source_rows,
)


class FakeClock:
    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_durations_are_rounded_as_an_estimate():
    assert [format_duration(s) for s in (0, 44.6, 89.4, 100, 3_000, 5_399, 7_500)] == [
        "0 s", "45 s", "89 s", "2 min", "50 min", "1 h 30 min", "2 h 05 min"]
    assert [about(s) for s in (0.0, 0.99, 1.0, 44.6)] == ["under 1 s", "under 1 s", "about 1 s", "about 45 s"]


def test_a_loop_reports_at_most_every_10_seconds_and_10_percent_with_the_time_left():
    clock, lines = FakeClock(), []
    progress = Progress("records priced", 1_000, clock=clock, log=lines.append)
    calls = [(5, 500), (12, 550), (23, 600), (30, 700), (95, 720), (96, 1_000)]
    logged = []
    for now, done in calls:
        clock.now = now
        logged.append(progress(done))
    # 5 s: too soon; 12 s: a line; 23 s: 11 s later but only 5% more; 30 s: 15% more; 95 s: 65 s of silence;
    # done: the step's own end line says so.
    assert logged == [False, True, False, True, True, False]
    assert lines == [
        # 12 s for 550: 450 more at the same rate take 12 / 550 * 450 = 9.8 s.
        "    records priced: 550 of 1,000 (55%); 12 s elapsed, about 10 s left in this step",
        # 30 / 700 * 300 = 12.9 s.
        "    records priced: 700 of 1,000 (70%); 30 s elapsed, about 13 s left in this step",
        # 95 / 720 * 280 = 36.9 s.
        "    records priced: 720 of 1,000 (72%); 2 min elapsed, about 37 s left in this step",
    ]


def test_the_run_clock_estimates_each_step_and_the_run_and_scales_by_the_steps_measured():
    clock, lines = FakeClock(), []
    run = RunClock(["read_sources", "price", "households", "export"], clock=clock, log=lines.append)
    run.set_estimates({"read_sources": 20, "price": 10, "households": 40, "export": 30}, rows=3_000_000)
    assert lines[-1].startswith("estimate: about 2 min for this run (3,000,000 source rows; read_sources 20 s, "
                                "price 10 s, households 40 s, export 30 s), at the reference rates of step_rates.csv")
    run.start_step("read_sources")
    assert lines[-1] == "    estimate: about 20 s for this step; run 0 s elapsed, about 2 min left"   # 20 + 80 s
    clock.now = 40
    run.finish_step("read_sources")
    # Reading at twice the reference time does not scale the computing steps (the drive and the format decide it).
    assert run.factor() == 1.0 and lines[-1] == "    run: 40 s elapsed, about 80 s left"
    run.start_step("price")
    assert lines[-1] == "    estimate: about 10 s for this step; run 40 s elapsed, about 80 s left"
    loop = run.progress("records priced", 100)
    clock.now = 52
    assert loop(40)
    # 12 s for 40 of 100: 60 more take 18 s; then households 40 s and export 30 s: 88 s left in the run.
    assert lines[-1] == ("    records priced: 40 of 100 (40%); 12 s elapsed, about 18 s left in this step, "
                         "about 88 s left in the run")
    clock.now = 60
    run.finish_step("price")
    # price took 20 s against 10 estimated: the steps to come are taken at twice their estimate, 2 x 70 s.
    assert run.factor() == 2.0
    assert lines[-1] == "    run: 60 s elapsed, about 2 min left (the steps so far ran at 2.0 x the reference time)"
    assert run.later_seconds() == 140.0
    run.start_step("households")
    assert lines[-1] == "    estimate: about 80 s for this step; run 60 s elapsed, about 2 min left"   # 80 + 60 s
    parts = run.progress("households", 1.0)
    clock.now = 70
    assert not parts(0.0)                 # nothing done yet, 10 s: no line before 60 s of silence
    clock.now = 75
    assert parts.part("registers read", 0.6)
    # 15 s for 60%: 40% more take 10 s; export at twice 30 s: 70 s in the run.
    assert lines[-1] == ("    households: registers read (60% of the step); 15 s elapsed, about 10 s left in this "
                         "step, about 70 s left in the run")
    silent = run.progress("households", 1.0)   # before anything is done: the step's estimate minus its time
    clock.now = 136
    assert silent(0.0)                         # 61 s after its last line (its start, at 75 s)
    # 76 s of the 80 s estimated have passed in the step (started at 60): 4 s left; 4 + 60 = 64 s in the run.
    assert lines[-1] == ("    households: 0 of 1 (0%); 76 s elapsed, about 4 s left in this step, about 64 s left "
                         "in the run")
    clock.now = 140
    run.finish_step("households")
    clock.now = 200
    run.start_step("export")
    # Export at twice its 30 s (price and households took 100 s against 50 s); nothing after it.
    assert lines[-1] == "    estimate: about 60 s for this step; run 3 min elapsed, about 60 s left"
    run.finish_step("export")
    assert lines[-1] == "    estimate: about 60 s for this step; run 3 min elapsed, about 60 s left"  # no run line


def test_estimates_skip_the_steps_a_run_skips():
    rates = {"price": StepRate("price", 1.0, 2.0, "always"), "cube": StepRate("cube", 0.0, 10.0, "costs"),
             "monitoring": StepRate("monitoring", 0.5, 5.0, "monitoring")}
    plan = ["inventory", "price", "cube", "monitoring"]
    assert estimate_steps(rates, plan, 3_000_000) == {"price": 7.0, "cube": 30.0, "monitoring": 15.5}
    assert estimate_steps(rates, plan, 3_000_000, monitoring=False) == {"price": 7.0, "cube": 30.0, "monitoring": 0.0}
    assert estimate_steps(rates, plan, 3_000_000, costs=False) == {"price": 7.0, "cube": 0.0, "monitoring": 0.0}
    # Price sensitivity prices and attributes every record at the low and at the high prices again.
    assert estimate_steps(rates, plan, 3_000_000, price_scenarios=2) == {"price": 21.0, "cube": 90.0,
                                                                        "monitoring": 15.5}


def test_the_reference_rates_give_back_the_national_benchmark():
    rates = load_step_rates()
    steps = ["inventory", "read_sources", "price", "households", "cube", "baseline", "coherence", "selection",
             "monitoring", "export", "report"]
    assert sorted(rates) == sorted(steps + ["read_sources.sav"])
    national = estimate_steps(rates, steps, 97_591_268)     # source rows of the synthetic country
    # docs/performance.md: read_sources 45, price 27, households 57, cube 22, baseline 11, coherence 5,
    # selection 2, monitoring 49, export 70, report 2 seconds (290 s of the 292 s run).
    readme = {"read_sources": 45, "price": 27, "households": 57, "cube": 22, "baseline": 11, "coherence": 5,
              "selection": 2, "monitoring": 49, "export": 70, "report": 2}
    for step, seconds in readme.items():
        assert national[step] == pytest.approx(seconds, abs=0.6), step
    assert sum(national.values()) == pytest.approx(290, rel=0.01)


def test_reading_sav_files_takes_the_rate_of_the_national_run_from_sav(tmp_path):
    rates = load_step_rates()
    # docs/performance.md, "From SPSS files": read_sources took 110.3 s for 97,591,268 source rows.
    sav = estimate_steps(rates, ["read_sources", "price"], 97_591_268, source_format="sav")
    parquet = estimate_steps(rates, ["read_sources", "price"], 97_591_268, source_format="parquet")
    assert sav["read_sources"] == pytest.approx(110.3, abs=0.1)
    assert parquet["read_sources"] == pytest.approx(45.0, abs=0.1)
    assert sav["price"] == parquet["price"]                 # no .sav rate: the step's own
    sources = tmp_path / "sources.csv"
    sources.write_text("dataset,format,rows\nA,sav,900\nB,parquet,500\nC,parquet,300\nD,csv,\n", encoding="utf-8")
    assert main_format(sources) == "sav"
    assert main_format(tmp_path / "none.csv") is None


def test_rates_and_inventory_rows_are_read_with_clear_messages(tmp_path):
    bad = tmp_path / "rates.csv"
    bad.write_text("step,fixed_seconds,seconds_per_million_source_rows,runs_when\nprice,1,2,always\ncube,0,1,soms\n",
                   encoding="utf-8")
    with pytest.raises(UserFacingError) as err:
        load_step_rates(bad)
    assert str(err.value) == f"{bad}, row 3, column runs_when: 'soms' must be one of always, costs, monitoring"
    sources = tmp_path / "sources.csv"
    sources.write_text("dataset,rows\nA,1200\nB,34\nC,\n", encoding="utf-8")
    assert source_rows(sources) == 1_234 and source_rows(tmp_path / "none.csv") is None


def test_a_run_logs_its_estimate_from_the_inventory_and_each_steps_time_left(small_dataset, tmp_path):
    from lib.config import load_config
    from lib.config_template import write_config_template
    from lib.pipeline import run_steps
    path = write_config_template("cbs", tmp_path / "run.toml")
    path.write_text(path.read_text(encoding="utf-8").replace('"G:/', f'"{(small_dataset / "cbs").as_posix()}/'),
                    encoding="utf-8")
    run_steps(load_config(path), ["inventory", "read_sources", "price"])
    log = (tmp_path / "work" / "logs" / "run.log").read_text(encoding="utf-8")
    rows = int(pd.read_csv(tmp_path / "work" / "01_inventory" / "sources.csv")["rows"].sum())
    # By hand from step_rates.csv: inventory 0.03 s + 0.0003 s, read_sources 0.4614 s and price 2.97 s + 0.2485 s
    # per million rows.
    inventory, read, price = 0.03 + 0.0003 * rows / 1e6, 0.4614 * rows / 1e6, 2.97 + 0.2485 * rows / 1e6
    assert (f"  estimate: about {format_duration(inventory + read + price)} for this run ({rows:,} source rows; price "
            f"{format_duration(price)}), at the reference rates of step_rates.csv") in log
    assert f"step 3/11 price: " in log
    price_block = log.split("step 3/11 price: ")[1]
    assert f"    estimate: about {format_duration(price)} for this step; run " in price_block.splitlines()[1]
    assert "    run: " in log.split("step 2/11 read_sources: ")[1].split("step 3/11")[0]


def test_the_run_log_holds_the_disclosure_control_packages_progress_lines_once(tmp_path):
    """The export-wide audit logs its progress on the package's own logger (it imports nothing from
    lib): the run's log and console take those lines as well, once, also when logging is set up again."""
    import logging
    import types
    from lib.pipeline import setup_logging
    config = types.SimpleNamespace(work_dir=tmp_path / "work")
    setup_logging(config)
    path = setup_logging(config)
    logging.getLogger("disclosure_control").info("    export-wide audit of households, count: 3 of 9 figures checked")
    logging.getLogger("mph").info("step line")
    for logger in (logging.getLogger("disclosure_control"), logging.getLogger("mph")):
        for handler in logger.handlers:
            handler.close()
        logger.handlers.clear()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == [
        "    export-wide audit of households, count: 3 of 9 figures checked", "step line"]
