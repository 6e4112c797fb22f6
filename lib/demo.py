"""The built-in demo: synthetic data generated on first use in a git-ignored folder."""
from __future__ import annotations

from pathlib import Path

from lib.config import BUNDLE_ROOT
from lib.synthetic.generate import generate
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


def prepare_demo(demo_dir: Path = DEMO_DIR, households: int = DEMO_HOUSEHOLDS, seed: int = DEMO_SEED,
                 progress=print) -> Path:
    """The demo's config file, generating the demo data first when it is not there yet."""
    config = demo_dir / "config.toml"
    if not config.is_file():
        progress(f"generating demo data: {households:,} households in {demo_dir} (only the first time)")
        generate(demo_dir, GeneratorSpec(households=households, seed=seed, formats=available_formats()),
                 progress=progress)
        if "[monitoring]" not in config.read_text(encoding="utf-8"):
            staged = config.with_suffix(".toml.tmp")
            staged.write_text(config.read_text(encoding="utf-8") + DEMO_MONITORING, encoding="utf-8")
            staged.replace(config)
    return config
