"""Domains as the method counts them: one classification for every count of domains.

The price tables and appendix-2 files put each cost in a *fine* domain (``politie``,
``om_rechtspraak``, ``detentie``, ...). Costs are broken down by fine domain, but every
*count* of domains -- reach per domain, the number of domains of a household, selection by
``min_domains`` and ``combinations``, the combinations of the most expensive households,
the correlation of costs between domains, the coherence analyses and the monitoring
covariate -- counts the method's domains (``[domains] counting_groups``). The default
groups follow the method:

* ``justitie``: the justice chain (police, prosecution and court, sanctions, detention,
  Halt, youth probation) is the method's one *veiligheidsdomein* ("politie en justitie",
  paragraph 1.1). Counted as six domains, one offender became a "three-domain household"
  (police -> prosecution -> sanction follow mechanically from one case), which inflated
  the households with costs in 3+ domains by about half and made selection by
  ``min_domains`` favour justice-only households.
* ``jeugd``: youth care and youth protection, the main group *Jeugd* of appendix 2.
* ``werk_en_inkomen``: bijstand and the other benefits the municipality pays (IOAW,
  special assistance), the main group *Werk & Inkomen* of appendix 2.

A fine domain in no group counts as a domain of its own (``wmo``, ``overige_zorg``,
``schuldhulp``).

Examples
--------
>>> counting = DomainCounting.from_groups({"justitie": ["politie", "detentie"]},
...                                       ["bijstand", "detentie", "politie"])
>>> counting.names
['bijstand', 'justitie']
>>> counting.group_of("detentie")
'justitie'
>>> import numpy as np
>>> counting.count_present(np.array([[10.0, 5.0, 2.0], [0.0, 0.0, 3.0]]), ["bijstand", "detentie", "politie"]).tolist()
[2, 1]
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lib.errors import UserFacingError

DEFAULT_COUNTING_GROUPS: dict[str, list[str]] = {
    "jeugd": ["jeugdhulp", "jeugdbescherming"],
    "justitie": ["politie", "om_rechtspraak", "sancties", "detentie", "halt", "jeugdreclassering"],
    "werk_en_inkomen": ["bijstand", "overige_uitkering"],
}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
# lib/reference_data (lib.config names it too, but imports this module).
_REFERENCE_DATA = Path(__file__).resolve().parent / "reference_data"


def bundle_domains() -> set[str]:
    """Every fine domain the bundle knows: the default price table and the appendix-2 domain labels."""
    prices = pd.read_csv(_REFERENCE_DATA / "prices_default.csv", usecols=["domain"], dtype=str, encoding="utf-8")
    labels = pd.read_csv(_REFERENCE_DATA / "domain_labels.csv", usecols=["domain"], dtype=str, encoding="utf-8")
    return set(prices["domain"].dropna()) | set(labels["domain"].dropna())


class DomainGroupError(UserFacingError):
    """A domain grouping of the config is unusable; the message says which setting and why."""


def resolve_groups(run_domains: Sequence[str], configured: Mapping[str, Sequence[str]],
                   known_domains: set[str], setting: str, exclude: Sequence[str] = (),
                   name_reason: Callable[[str], str | None] | None = None
                   ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """The groups of a run, validated: ``{group: (fine domain, ...)}`` in name order, and notes.

    ``run_domains`` are the fine domains the run measures, with costs or without (an empty
    domain stays in: leaving it out would tell that it is empty). A configured domain must be
    known (``known_domains`` or the run's); a domain may be in one group only; domains of the
    run in no group and not excluded form a group of their own, named after the domain;
    groups none of whose domains occur in the run are left out (with a note). ``setting``
    names the config setting in messages (``[domains] counting_groups``); ``name_reason``, when
    given, says why a group name cannot be used (None when it can).

    Raises
    ------
    DomainGroupError
        For unknown domains, a domain in two groups, or an unusable group name; the message
        lists every problem."""
    known = set(known_domains) | set(run_domains)
    section = setting.split("]")[0] + "]"
    problems: list[str] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    for group, domains in configured.items():
        if not isinstance(domains, (list, tuple)) or not domains or not all(isinstance(d, str) for d in domains):
            problems.append(f"{setting}.{group} must be a non-empty list of domain names")
            continue
        for domain in domains:
            if domain not in known:
                problems.append(f"{setting}.{group}: unknown domain {domain!r} (known domains: "
                                f"{', '.join(sorted(known))})")
            elif domain in seen:
                problems.append(f"{section} domain {domain!r} is in two groups: {seen[domain]!r} and {group!r}")
            else:
                seen[domain] = group
    for domain in exclude:
        if domain not in known:
            problems.append(f"{section} exclude_domains: unknown domain {domain!r} (known domains: "
                            f"{', '.join(sorted(known))})")
        elif domain in seen:
            problems.append(f"{section} domain {domain!r} is both excluded and in group {seen[domain]!r}")
    groups: dict[str, tuple[str, ...]] = {}
    for group, domains in configured.items():
        present = tuple(d for d in domains if d in run_domains) if isinstance(domains, (list, tuple)) else ()
        if present:
            groups[group] = present
        elif isinstance(domains, (list, tuple)):
            notes.append(f"domain group {group!r} left out: none of its domains ({', '.join(domains)}) is "
                         "in this run")
    for domain in run_domains:
        if domain not in seen and domain not in exclude:
            if domain in groups:
                problems.append(f"{section} group name {domain!r} is also a domain that is in no group; "
                                "rename the group or put the domain in a group")
            groups[domain] = (domain,)
    for group in groups:
        # Group names become column names of exported tables (pct_<group>, kosten_<group>).
        why = None if _NAME.match(group) else \
            "must be lower-case letters, digits and '_' (at most 41 characters), starting with a letter"
        why = why or (name_reason(group) if name_reason else None)
        if why:
            problems.append(f"{section} domain group name {group!r}: {why}")
    if problems:
        raise DomainGroupError(f"the settings {setting} have problem(s):\n  - " + "\n  - ".join(problems))
    if exclude:
        notes.append(f"domains left out: {', '.join(sorted(exclude))}")
    return dict(sorted(groups.items())), notes


@dataclass(frozen=True)
class DomainCounting:
    """The method's domains of one run: each a group of fine domains.

    Attributes
    ----------
    groups : dict
        Counting domain -> its fine domains in this run (name order).
    notes : list of str
        Groups left out because none of their domains is in the run.
    """
    groups: dict[str, tuple[str, ...]]
    notes: tuple[str, ...] = ()

    @classmethod
    def from_groups(cls, configured: Mapping[str, Sequence[str]], run_domains: Sequence[str],
                    known_domains: set[str] | None = None) -> "DomainCounting":
        known = set(known_domains) if known_domains is not None else bundle_domains()
        groups, notes = resolve_groups(sorted(set(run_domains)), configured, known, "[domains] counting_groups")
        return cls(groups, tuple(notes))

    @property
    def names(self) -> list[str]:
        return list(self.groups)

    def group_of(self, domain: str) -> str:
        """The counting domain of a fine domain (a fine domain outside the run counts as itself)."""
        for group, members in self.groups.items():
            if domain in members:
                return group
        return domain

    def group_index(self, fine_domains: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The counting domains of ``fine_domains`` (name order, with those the run has) and,
        for each fine domain, the position of its counting domain in that list."""
        names = sorted(set(self.groups) | {self.group_of(d) for d in fine_domains})
        position = {g: k for k, g in enumerate(names)}
        return names, np.array([position[self.group_of(d)] for d in fine_domains], dtype=np.int64)

    def group_costs(self, per_fine: np.ndarray, fine_domains: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Costs per counting domain from costs per fine domain (columns in ``fine_domains`` order)."""
        names, index = self.group_index(fine_domains)
        per_fine = np.asarray(per_fine, dtype=float)
        if per_fine.ndim != 2:
            # (numpy before 2.0 cannot infer the rows of an empty array without columns: no reshape then)
            per_fine = per_fine.reshape(-1, len(fine_domains)) if len(fine_domains) else np.zeros((0, 0))
        out = np.zeros((per_fine.shape[0], len(names)))
        for j, k in enumerate(index):
            out[:, k] += per_fine[:, j]
        return out, names

    def count_present(self, per_fine: np.ndarray, fine_domains: Sequence[str]) -> np.ndarray:
        """Number of counting domains with costs (a positive sum) per row."""
        costs, _ = self.group_costs(per_fine, fine_domains)
        return (costs > 0).sum(axis=1).astype(np.int16)

    def merged(self) -> list[tuple[str, tuple[str, ...]]]:
        """The groups of more than one fine domain (what differs from counting fine domains)."""
        return [(g, members) for g, members in self.groups.items() if len(members) > 1 or members != (g,)]

    def note(self) -> str:
        """What every table says about how its domains are counted (Dutch)."""
        merged = self.merged()
        text = ("domeinen geteld zoals de methode ze telt (bereik, aantal domeinen, selectie, combinaties, "
                "samenhang): ")
        if merged:
            text += "; ".join(f"{g} = {' + '.join(m)}" for g, m in merged)
            text += " telt elk als een domein; de overige domeinen elk als een eigen domein"
        else:
            text += "elk domein als een eigen domein"
        return text + ". Kosten per domein naar de fijne domeinen."
