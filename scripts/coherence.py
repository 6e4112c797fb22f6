"""Step 7 of a run: coherence (samenhang): co-occurrence of domains, association rules, cost-weighted combinations and typologies of households.

    python scripts/coherence.py --config config.toml
"""
import _bundle  # noqa: F401  (makes lib importable)

from lib.cli import run_cli, step_main

if __name__ == "__main__":
    run_cli(step_main("coherence", __doc__.splitlines()[0]))
