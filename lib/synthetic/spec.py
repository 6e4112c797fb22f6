"""What a synthetic data set looks like: period, geography and calibration targets.

Every figure the generator is calibrated to sits here, with where it comes from, so
that a test can assert it and a reader can check it against the published source.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from lib.dates import day_number


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    weight: float
    merged_into: str | None = None
    """Code of the municipality this one merges into, from ``merger_year`` on."""
    merger_year: int | None = None


# A synthetic country: the four big cities and two regional centres, plus two
# municipalities that merge in 2021 (Appingedam and Delfzijl became Eemsdelta, 1979),
# so that municipality codes change between years as they do in VSLGWBTAB.
DEFAULT_MUNICIPALITIES = (
    Municipality("0363", "Amsterdam", 0.27),
    Municipality("0599", "Rotterdam", 0.20),
    Municipality("0518", "'s-Gravenhage", 0.17),
    Municipality("0344", "Utrecht", 0.12),
    Municipality("0772", "Eindhoven", 0.08),
    Municipality("0014", "Groningen", 0.07),
    Municipality("0003", "Appingedam", 0.045, merged_into="1979", merger_year=2021),
    Municipality("0010", "Delfzijl", 0.045, merged_into="1979", merger_year=2021),
)
MUNICIPALITY_NAMES = {m.code: m.name for m in DEFAULT_MUNICIPALITIES} | {"1979": "Eemsdelta"}


@dataclass(frozen=True)
class GeneratorSpec:
    households: int
    seed: int = 1
    first_year: int = 2019
    n_years: int = 5
    municipalities: tuple[Municipality, ...] = DEFAULT_MUNICIPALITIES
    municipal_route_code: str = "0344"
    """Municipality whose own files (BRP extract, appendix-2 cost files) are written."""
    chunk_households: int = 50_000
    formats: tuple[str, ...] = ("csv",)
    justice_form: str = "yearly"
    """Form of VERDTAB, GEDETINEERDENTAB and HALTTAB: "yearly" (a person in a year, as CBS documents
    them: lib/reference_data/layouts.toml) or "dated" (one dated row per registration, spell or
    referral: lib/reference_data/layouts_justice_dated.toml, named in the written configs)."""
    cycle_years: int = 0
    """Two cycles of the method over the one population (repeated measurements, ``lib.synthetic.cycles``):
    the years of each cycle's baseline, the first cycle the first years of the data and the second the
    last (n_years = 7, cycle_years = 5: 2019-2023 and 2021-2025), with config_cyclus1.toml and
    config_cyclus2.toml. 0: one cycle. The draws do not depend on it."""
    extra: dict = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.first_year + self.n_years))

    @property
    def last_year(self) -> int:
        return self.first_year + self.n_years - 1

    @property
    def period_start(self) -> int:
        return day_number(_dt.date(self.first_year, 1, 1))

    @property
    def period_end(self) -> int:
        """Last day of the study period, also the end date of the newest file versions."""
        return day_number(_dt.date(self.last_year, 12, 31))

    @property
    def peildatum(self) -> _dt.date:
        return _dt.date(self.last_year, 12, 31)


# --- Published Dutch figures the generator is calibrated to --------------------------
# Shares of households by type (TYPHH), CBS StatLine 71486NED / 37975, around 2023:
# 8.1 million households, 39% one-person, 28% couples without and 26% with children,
# 6.5% one-parent; "other" and institutional households are small.
TYPHH_SHARES = {1: 0.390, 2: 0.085, 3: 0.197, 4: 0.058, 5: 0.199, 6: 0.064, 7: 0.0055, 8: 0.0015}

# Shares of persons by position in the household (PLHH), same sources, around 2023:
# 17.9 million persons; about 5.2 million children living at home, 3.1 million living
# alone, 8.4 million partners, 0.5 million single parents.
PLHH_PERSON_SHARES = {
    "1": 0.290, "2": 0.176, "3": 0.078, "4": 0.181, "5": 0.054, "6": 0.183,
    "7": 0.030, "8": 0.003, "9": 0.004, "10": 0.010,
}

PERSONS_PER_HOUSEHOLD = (2.15, 2.20)          # 17.9 M persons / 8.2 M households
REACH_FIVE_YEARS = 0.20                        # households with any social or safety cost
YEARLY_RATES = {                               # share per year, CBS StatLine around 2019-2023
    "jeugdhulp_under23": 0.10,                 # youth care, share of persons under 23
    "wmo_persons": 0.07,                       # Wmo arrangements, share of persons
    "bijstand_persons": 0.023,                 # persons in a bijstand benefit
    "suspects_persons": 0.0085,                # registered suspects (about 150,000)
    "detainees_persons": 0.0017,               # persons detained in the year (about 30,000)
}
CONCENTRATION = {                              # field's figures: share of all costs
    "top5_share_at_least": 0.45,               # about half of costs on under 5% of households
    "top1to2_share": (0.25, 0.33),             # a quarter to a third on the top 1-2%
}
