"""Shared fixtures: synthetic data sets generated once per test session."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.synthetic.generate import generate  # noqa: E402
from lib.synthetic.spec import GeneratorSpec  # noqa: E402
from lib.synthetic.writers import available_formats  # noqa: E402

SMALL_SPEC = GeneratorSpec(households=3_000, seed=11, chunk_households=1_000, formats=available_formats())
CALIBRATION_SPEC = GeneratorSpec(households=100_000, seed=7, formats=tuple(
    f for f in available_formats() if f != "sav"))


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """3,000 households in three chunks, every available format."""
    out = tmp_path_factory.mktemp("small")
    generate(out, SMALL_SPEC, progress=lambda _: None)
    return out


@pytest.fixture(scope="session")
def calibration_dataset(tmp_path_factory) -> Path:
    """100,000 households, the size on which the issue asks the calibration to be asserted."""
    out = tmp_path_factory.mktemp("calibration")
    generate(out, CALIBRATION_SPEC, progress=lambda _: None)
    return out
