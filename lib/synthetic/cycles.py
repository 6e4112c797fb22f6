"""Two cycles of the method over one synthetic population (repeated measurements, ``lib.comparison``).

With ``GeneratorSpec.cycle_years`` set, the data cover the whole period (``n_years``) of one synthetic
population, and two configurations are written beside ``config.toml``:

* ``config_cyclus1.toml``: the first ``cycle_years`` years, peildatum the last day of them, households
  flagged as still resident on that day (``[study] residence_date``: the first cycle's run does not
  see what the registers tell later);
* ``config_cyclus2.toml``: the last ``cycle_years`` years, the peildatum the last day of the data, and
  ``[comparison] earlier_work_dir`` naming the first cycle's work folder.

Both price in euros of the last year (a comparison needs one price year). The default spec
(``cycle_years = 0``) writes neither, and draws exactly what it drew before.
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from lib.synthetic.spec import GeneratorSpec

FIRST, SECOND = "config_cyclus1.toml", "config_cyclus2.toml"


def cycle_years(spec: GeneratorSpec) -> tuple[list[int], list[int]]:
    """The study years of the first and of the second cycle."""
    n = spec.cycle_years
    if not 0 < n < spec.n_years:
        raise ValueError(f"cycle_years must lie between 1 and n_years - 1 ({spec.n_years - 1}); got {n}")
    return spec.years[:n], spec.years[-n:]


def write_cycle_configs(out: Path, spec: GeneratorSpec) -> None:
    """``config_cyclus1.toml`` and ``config_cyclus2.toml`` from the CBS route's ``config.toml``."""
    text = (out / "config.toml").read_text(encoding="utf-8")
    first, second = cycle_years(spec)
    for number, years, extra in ((1, first, None), (2, second, "work_cyclus1")):
        peildatum = _dt.date(years[-1], 12, 31).isoformat()
        study = f"peildatum = {peildatum}\nyears = [{', '.join(map(str, years))}]"
        if extra is None:
            study += f"\nresidence_date = {peildatum}"
        cycle = (re.sub(r"peildatum = [0-9-]+\nyears = \[[0-9, ]+\]", study, text)
                 .replace('name = "synthetic CBS route"', f'name = "synthetic CBS route, cycle {number}"')
                 .replace('work_dir = "work"', f'work_dir = "work_cyclus{number}"')
                 .replace('export_dir = "export"', f'export_dir = "export_cyclus{number}"'))
        if extra is not None:
            cycle += f'\n[comparison]\nearlier_work_dir = "{extra}"\n'
        (out / (FIRST if number == 1 else SECOND)).write_text(cycle, encoding="utf-8")
