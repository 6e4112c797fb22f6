"""The report's figures, drawn from published tables only (never from unit data); each names the table
it shows. Suppressed cells are left out of a figure, and a figure whose cells are all suppressed is
not drawn.

Every legend is placed where matplotlib finds the least data (``loc="best"``) and then checked: when
it still covers a bar or a point (:func:`legend_covers_data`), it moves outside the axes, to the
right. The count of covered data after that is kept with the figure, so a test can assert it is zero.

Without matplotlib there are no figures (lib.report says so where they would have been).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib import optional_packages
from lib.dutch_numbers import current_style, number
from lib.report_labels import Labels
from lib.report_tables import ExportedTable, find, published_number


@dataclass
class Figure:
    key: str
    """What it shows (the ``figure.<key>`` label), e.g. 'concentration'."""
    title: str
    table: str
    """The exported table it is drawn from."""
    png: bytes
    covered: int = 0
    """Bars and points under a legend after placing it (0: no legend covers data)."""

    def __iter__(self):   # (title, table, png), as the report's figures were before they had a key
        return iter((self.title, self.table, self.png))


def legend_covers_data(fig) -> int:
    """How many bars and line points of ``fig`` lie (partly) under a legend of the same axes, measured
    in display coordinates after drawing."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    covered = 0
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        for patch in ax.patches:
            extent = patch.get_window_extent(renderer)
            if extent.width > 0 and extent.height > 0 and box.overlaps(extent):
                covered += 1
        for line in ax.get_lines():
            if line.get_label().startswith("_"):    # reference lines (the diagonal, zero) are not data
                continue
            points = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
            inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                      & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
            covered += int(inside.sum())
    return covered


def _place_legend(fig, ax, *entries, loc: str = "best", **options) -> int:
    """A legend at ``loc`` inside the axes; outside to the right when that still covers data.
    ``entries``: (handles, labels) when not every line is in the legend."""
    ax.legend(*entries, loc=loc, **options)
    if legend_covers_data(fig):
        ax.legend(*entries, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **options)
    return legend_covers_data(fig)


def _dutch_ticks(*axes) -> None:
    """Numeric tick labels in the report's number format (Dutch 1.000; 0,5 or English 1,000; 0.5), as
    the report's text (the style of the block the figure is drawn in: lib.dutch_numbers.number_style)."""
    from matplotlib.ticker import FuncFormatter
    decimal = "," if current_style() == "nl" else "."
    formatter = FuncFormatter(lambda value, _: number(value, 2).rstrip("0").rstrip(decimal))
    for axis in axes:
        axis.set_major_formatter(formatter)


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _rows(t: ExportedTable, value_column: str, *, drop: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """The table's rows without totals (and without the ``drop`` categories), with the published
    ``value_column`` as ``value`` (suppressed cells left out)."""
    body = t.table.copy()
    labels = [c for c in t.manifest.get("label_columns", []) if c in body] or [body.columns[0]]
    for column in labels:
        body = body[body[column].astype(str) != "Totaal"]
    for column, values in (drop or {}).items():
        body = body[~body[column].astype(str).isin(values)]
    body["value"] = [published_number(v, t.symbol) for v in body[value_column]]
    return body.dropna(subset=["value"])


def _published(tables, name: str, value_column: str, *, drop: dict[str, tuple[str, ...]] | None = None,
               needs: tuple[str, ...] = ()) -> tuple[ExportedTable, pd.DataFrame] | None:
    """(table, ``_rows``) of the published table ``name``; None when it is not in the export, lacks
    ``value_column`` or a column of ``needs``, or has no published row to draw."""
    t = find(tables, name)
    if t is None or not {value_column, *needs} <= set(t.table.columns):
        return None
    body = _rows(t, value_column, drop=drop)
    return None if body.empty else (t, body)


def _barh(plt, labels: Labels, key: str, t: ExportedTable, names, values, xlabel_key: str, title: str = ""):
    """Horizontal bars, the largest on top; ``title`` or the label ``figure.<key>``."""
    title = title or labels.text(f"figure.{key}")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(values) + 1.4))
    ax.barh(list(names), list(values), color="#154273")
    ax.invert_yaxis()
    ax.set_xlabel(labels.text(xlabel_key))
    _dutch_ticks(ax.xaxis)
    ax.set_title(title, fontsize=10)
    return Figure(key, title, t.name, _png(fig, plt))


def concentration_figure(tables, plt, labels: Labels) -> Figure | None:
    t = find(tables, "concentratie_lorenz")
    if t is None:
        return None
    bands = t.table[t.table["segment"] != "all"]
    shares = [published_number(v, t.symbol) for v in bands["share_of_kosten_pct"]]
    if not len(bands) or any(s is None for s in shares):
        return None
    upper = [float(seg.split("-")[1].rstrip("%")) for seg in bands["segment"]]
    x = np.concatenate([[0], upper])
    y = np.concatenate([[0], np.cumsum(shares)])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    curve, = ax.plot(x, y, marker="o")
    # The diagonal is a reference, not data: its label starts with "_" so the legend check skips it.
    diagonal, = ax.plot([0, 100], [0, 100], linestyle="--", color="grey", label="_equal")
    ax.set_xlabel(labels.text("figure.concentration_x"))
    ax.set_ylabel(labels.text("figure.concentration_y"))
    ax.set_title(labels.text("figure.concentration"), fontsize=10)
    _dutch_ticks(ax.xaxis, ax.yaxis)
    covered = _place_legend(fig, ax, [curve, diagonal], [labels.text("figure.cumulative"),
                                                         labels.text("figure.equal")], loc="lower right")
    return Figure("concentration", labels.text("figure.concentration"), t.name, _png(fig, plt), covered)


def _mean_costs_figure(tables, plt, labels: Labels, table: str, column: str, key: str) -> Figure | None:
    """Bars of the mean costs per category of one published table (suppressed cells left out)."""
    if (published := _published(tables, table, "mean_kosten")) is None:
        return None
    t, body = published
    return _barh(plt, labels, key, t, [labels.category(c) for c in body[column]], body["value"], "figure.mean_costs")


def top_groups_figure(tables, plt, labels: Labels) -> Figure | None:
    return _mean_costs_figure(tables, plt, labels, "kosten_topgroepen", "groep", "top_groups")


def reach_figure(tables, plt, labels: Labels) -> Figure | None:
    if (published := _published(tables, "bereik_per_domein", "n_households")) is None:
        return None
    t, body = published
    body = body.sort_values("value", ascending=False)
    return _barh(plt, labels, "reach", t, [labels.domain(d) for d in body["domein"]], body["value"],
                 "figure.households_with_costs")


def _households_by_figure(tables, plt, labels: Labels, table: str, column: str, key: str) -> Figure | None:
    """Bars of the households per category of one published table (suppressed cells left out)."""
    if (published := _published(tables, table, "n_households")) is None:
        return None
    t, body = published
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.bar(body[column].astype(str), body["value"], color="#154273")
    ax.set_xlabel(labels.column(column))
    ax.set_ylabel(labels.text("figure.households"))
    _dutch_ticks(ax.yaxis)
    ax.set_title(labels.text(f"figure.{key}"), fontsize=10)
    return Figure(key, labels.text(f"figure.{key}"), t.name, _png(fig, plt))


def domains_count_figure(tables, plt, labels: Labels) -> Figure | None:
    return _households_by_figure(tables, plt, labels, "bereik_aantal_domeinen", "aantal_domeinen", "domains_count")


def domain_year_figure(tables, plt, labels: Labels) -> Figure | None:
    t = find(tables, "kosten_domein_jaar")
    if t is None:
        return None
    body = t.table[(t.table["domein"] != "Totaal") & (t.table["jaar"] != "Totaal")].copy()
    body["value"] = [published_number(v, t.symbol) for v in body["sum_kosten"]]
    if body["value"].isna().all():
        return None
    wide = body.pivot(index="jaar", columns="domein", values="value")
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    bottom = np.zeros(len(wide))
    colours = plt.get_cmap("tab20").colors
    for i, domain in enumerate(wide.columns):
        values = np.nan_to_num(wide[domain].to_numpy(dtype=float)) / 1e6
        ax.bar(wide.index.astype(str), values, bottom=bottom, label=labels.domain(domain),
               color=colours[i % len(colours)])
        bottom += values
    ax.set_ylabel(labels.text("figure.million"))
    _dutch_ticks(ax.yaxis)
    ax.set_title(f"{labels.text('figure.domain_years')} ({labels.text('figure.suppressed_left_out')})", fontsize=10)
    # A stacked bar fills its axes: the legend goes beside them, never over the bars.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    covered = legend_covers_data(fig)
    return Figure("domain_years", labels.text("figure.domain_years"), t.name, _png(fig, plt), covered)


def structural_figure(tables, plt, labels: Labels) -> Figure | None:
    return _households_by_figure(tables, plt, labels, "kosten_structureel", "jaren_met_kosten", "structural")


def combinations_figure(tables, plt, labels: Labels) -> Figure | None:
    published = _published(tables, "combinaties_duurste", "n_households", drop={"combinatie": ("overige combinaties",)})
    if published is None:
        return None
    t, body = published
    body = body.sort_values("value", ascending=False).head(12)
    return _barh(plt, labels, "combinations", t, [labels.category(c) for c in body["combinatie"]], body["value"],
                 "figure.households")


def types_figure(tables, plt, labels: Labels) -> Figure | None:
    for name, column in (("samenhang_clusters", "cluster"), ("samenhang_klassen", "klasse")):
        if (published := _published(tables, name, "n_households", needs=(column,))) is not None:
            t, body = published
            return _barh(plt, labels, "types", t, [labels.category(c) for c in body[column]], body["value"],
                         "figure.households")
    return None


def household_type_figure(tables, plt, labels: Labels) -> Figure | None:
    return _mean_costs_figure(tables, plt, labels, "kosten_huishoudtype", "huishoudtype", "household_type")


def areas_figure(tables, plt, labels: Labels) -> Figure | None:
    """Mean costs per household per area (costs / households of the area, as lib.report_areas shows them),
    at the finest level the export has; areas with a suppressed cell are left out."""
    for level in ("buurt", "wijk", "gemeente"):
        t = find(tables, f"{level}_kosten")
        if t is None or not {"sum_kosten", "n_households"} <= set(t.table.columns):
            continue
        body = _rows(t, "sum_kosten")
        body["n"] = [published_number(v, t.symbol) for v in body["n_households"]]
        body = body.dropna(subset=["n"])
        body = body[body["n"] > 0]
        if body.empty:
            continue
        body["mean"] = body["value"] / body["n"]
        body = body.sort_values("mean", ascending=False).head(25)
        return _barh(plt, labels, "areas", t, [labels.category(a) for a in body[level].astype(str)], body["mean"],
                     "figure.mean_costs", labels.text("figure.areas", level=labels.column(level)))
    return None


def monitoring_figure(tables, plt, labels: Labels) -> Figure | None:
    """The cohort and the comparison group per period, and beside it each published estimate of the
    change with its 95% interval (monitoring_effect), so that the reader sees how uncertain it is."""
    t = find(tables, "monitoring_trend")
    if t is None:
        return None
    body = _rows(t, "mean_kosten")
    body = body[body["periode"].astype(str) != "Totaal"]
    if body.empty:
        return None
    effect = find(tables, "monitoring_effect")
    estimates = []
    if effect is not None and {"schatting", "verschil_per_huishouden_per_periode", "ondergrens_95",
                               "bovengrens_95"} <= set(effect.table.columns):
        for row in effect.table.itertuples():
            values = [published_number(getattr(row, c), effect.symbol)
                      for c in ("verschil_per_huishouden_per_periode", "ondergrens_95", "bovengrens_95")]
            if all(v is not None for v in values):
                estimates.append((labels.category(str(row.schatting)).split(" (")[0], *values))
    fig, axes = plt.subplots(1, 2 if estimates else 1, figsize=(10 if estimates else 6.5, 4.2), squeeze=False)
    ax = axes[0][0]
    for group, rows in body.groupby("groep", sort=False):
        ax.plot(rows["periode"].astype(str), rows["value"], marker="o", label=labels.category(group))
    ax.set_ylabel(labels.text("figure.mean_costs"))
    _dutch_ticks(ax.yaxis)
    ax.set_title(labels.text("figure.monitoring"), fontsize=10)
    covered = _place_legend(fig, ax)
    if estimates:
        right = axes[0][1]
        names = [e[0] for e in estimates]
        centre = np.array([e[1] for e in estimates])
        low, high = np.array([e[2] for e in estimates]), np.array([e[3] for e in estimates])
        errors = np.vstack([centre - low, high - centre])
        right.errorbar(centre, range(len(names)), xerr=errors, fmt="o", capsize=5, color="#154273")
        right.axvline(0, color="grey", linestyle="--")
        right.set_yticks(range(len(names)))
        right.set_yticklabels(names, fontsize=8)
        right.set_ylim(-0.8, len(names) - 0.2)
        right.set_xlabel(labels.text("figure.per_period"))
        _dutch_ticks(right.xaxis)
        right.set_title(labels.text("figure.monitoring_effect"), fontsize=10)
    fig.tight_layout()
    return Figure("monitoring", labels.text("figure.monitoring"), t.name, _png(fig, plt), covered)


MAKERS = (concentration_figure, top_groups_figure, reach_figure, domains_count_figure, domain_year_figure,
          structural_figure, combinations_figure, types_figure, household_type_figure, areas_figure,
          monitoring_figure)
"""The figures in the order of the report's first part: concentration, reach, domains over the years,
combinations, types, composition, where households live, monitoring."""


def figures(tables: list[ExportedTable], labels: Labels | None = None) -> list[Figure]:
    """Every figure the export allows; empty when matplotlib is not installed (or does not import)."""
    if not optional_packages.available("matplotlib"):
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = labels or Labels()
    made = (maker(tables, plt, labels) for maker in MAKERS)
    return [f for f in made if f is not None]
