"""The README's promises stay true: its config reference and its test command."""
from pathlib import Path

from lib.config import config_reference
from lib.pipeline import all_steps

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_config_reference_in_readme_is_the_schema():
    block = README.split("<!-- config-reference:start -->")[1].split("<!-- config-reference:end -->")[0]
    assert block.strip() == config_reference().strip()


def test_ci_runs_exactly_the_readme_test_command():
    quick_start = README.split("## Quick start")[1].split("##")[0]
    assert "python scripts/run_all.py --demo\npython -m pytest\n" in quick_start
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == "python -m pytest"


def test_every_step_is_documented():
    steps = README.split("### Steps")[1].split("###")[0]
    for step in all_steps():
        assert f"`{step.name}`" in steps
