"""The built-in demo: synthetic data generated on first use in a git-ignored folder.

The demo runs the combined route: CBS registers, and the municipality's and its providers'
appendix-2 files linked by CBS to RINPERSOON, with the overlap rules of ``config_gecombineerd.toml``."""
from __future__ import annotations

from pathlib import Path

from lib.config import BUNDLE_ROOT
from lib.synthetic.generate import generate
from lib.synthetic.municipal_files import RIN_FOLDER
from lib.synthetic.spec import GeneratorSpec
from lib.synthetic.writers import available_formats

DEMO_DIR = BUNDLE_ROOT / "demo"
DEMO_HOUSEHOLDS = 40_000
DEMO_SEED = 20261128
# The demo runs every analysis of the method, monitoring too: the households selected on their costs
# before 2022 followed against a matched comparison group.
DEMO_MONITORING = """
[monitoring]
enabled = true
cohort_start = 2022-01-01
caliper = 2.0
"""


# And the price sensitivity: every price of the default table at 75% and at 125%, an illustration
# only (the bundle ships no documented range; a real run gives its own low and high tables).
DEMO_SENSITIVITY = """
[sensitivity]
price_tables_laag = ["prices_laag.csv"]
price_tables_hoog = ["prices_hoog.csv"]
"""
DEMO_PRICE_FACTORS = {"laag": 0.75, "hoog": 1.25}


def write_demo_price_tables(demo_dir: Path) -> None:
    """The demo's low and high price tables: the default table with every price scaled."""
    import pandas as pd
    from lib.config import REFERENCE_DATA
    prices = pd.read_csv(REFERENCE_DATA / "prices_default.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    for scenario, factor in DEMO_PRICE_FACTORS.items():
        table = prices.assign(price=(prices["price"].astype(float) * factor).map("{:.2f}".format),
                              note=f"DEMO: the default price x {factor} (an illustration, not a documented range)")
        table.to_csv(demo_dir / f"prices_{scenario}.csv", index=False, encoding="utf-8")


def combined_config_text(demo_dir: Path) -> str:
    """The demo runs the combined route: the CBS registers with the appendix-2 files CBS linked to
    RINPERSOON ([sources.cbs] cost_files, [sources] overlap; the generator's config_gecombineerd.toml),
    in the demo's work and export folders."""
    text = (demo_dir / "config_gecombineerd.toml").read_text(encoding="utf-8")
    return (text.replace('work_dir = "work_gecombineerd"', 'work_dir = "work"')
            .replace('export_dir = "export_gecombineerd"', 'export_dir = "export"'))


def prepare_demo(demo_dir: Path = DEMO_DIR, households: int = DEMO_HOUSEHOLDS, seed: int = DEMO_SEED,
                 progress=print) -> Path:
    """The demo's config file, generating the demo data first when it is not there yet (or was
    generated before the generator wrote the linked appendix-2 files of the combined route)."""
    config = demo_dir / "config.toml"
    if not config.is_file() or not (demo_dir / RIN_FOLDER).is_dir():
        progress(f"generating demo data: {households:,} households in {demo_dir} (only the first time)")
        generate(demo_dir, GeneratorSpec(households=households, seed=seed, formats=available_formats()),
                 progress=progress)
        write_demo_price_tables(demo_dir)
        text = combined_config_text(demo_dir)
        extra = "".join(part for section, part in (("[monitoring]", DEMO_MONITORING),
                                                    ("[sensitivity]", DEMO_SENSITIVITY)) if section not in text)
        staged = config.with_suffix(".toml.tmp")
        staged.write_text(text + extra, encoding="utf-8")
        staged.replace(config)
    return config
