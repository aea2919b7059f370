"""Plotly figures and HTML fragments for the reports, as functions of summary frames.

Figures are plotly figure dicts (``{"data": [...], "layout": {...}}``; ``go.Figure(fig)``
validates one, as the tests do): building graph objects costs a kernel about 0.8 s of
validator loading, more than the rest of a report. Every label that comes from data
(customer names, addresses, partner ids) passes through :func:`html.escape`: plotly renders a
subset of HTML in ticks, legends and hover text. Figures are displayed as a mime bundle with
plotly's JSON (JupyterLab draws it) and a ``text/html`` div (what nbconvert's HTML export
keeps: it drops the plotly mimetype, plotly.py #5365). The div loads no plotly.js: the report
page supplies it once, from a local file.
"""
from __future__ import annotations

import html
import json
from functools import cache
from typing import Iterable

import pandas as pd
import plotly.io as pio
from jinja2 import Environment, PackageLoader

Figure = dict
PLOTLY_MIME = "application/vnd.plotly.v1+json"
CONFIG = {"displaylogo": False, "responsive": True}
PALETTE = ("#c0392b", "#e67e22", "#2e86c1", "#7d3c98", "#17a589", "#839192", "#b7950b", "#2c3e50")
ROW_HEIGHT = 26
# Latin first, then CJK families (Noto / Source Han on Linux, PingFang on macOS, YaHei on Windows):
# Simplified Chinese subjects and names render wherever one of them is installed (README: fonts-noto-cjk).
FONT_STACK = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", '
              '"PingFang SC", "Microsoft YaHei", sans-serif')
_AXIS = {"gridcolor": "#e5e8e8", "zerolinecolor": "#d5d8dc", "automargin": True}


def esc(values: Iterable) -> list[str]:
    """Data labels made safe for plotly's HTML-subset rendering."""
    return [html.escape(str(v)) for v in values]


def _figure(traces: list[dict], title: str, x_title: str, y_title: str, height: int = 380, **layout) -> Figure:
    return {
        "data": traces,
        "layout": {
            "title": {"text": html.escape(title), "x": 0, "xanchor": "left"},
            "height": height, "font": {"size": 13, "family": FONT_STACK}, "paper_bgcolor": "white", "plot_bgcolor": "white",
            "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
            "xaxis": {**_AXIS, "title": {"text": x_title}}, "yaxis": {**_AXIS, "title": {"text": y_title}},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
            "hoverlabel": {"namelength": -1},
            **layout,
        },
    }


def _labels(index: pd.Index) -> list:
    """Period starts as ``YYYY-MM`` (months) or ``YYYY-MM-DD``, anything else escaped."""
    if not isinstance(index, pd.DatetimeIndex):
        return esc(index)
    return list(index.strftime("%Y-%m" if index.is_month_start.all() else "%Y-%m-%d"))


def colour_map(names: Iterable[str]) -> dict[str, str]:
    """A fixed colour per series name, so a rule keeps its colour from chart to chart."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(map(str, names))))}


def stacked_bars(table: pd.DataFrame, title: str, x_title: str, y_title: str = "violations",
                 colours: dict[str, str] | None = None, horizontal: bool = False) -> Figure:
    """One bar per index value, stacked by column (months × rule; partners × cloud, horizontal)."""
    colours = colours or colour_map(table.columns)
    if horizontal:
        table = table.iloc[::-1]
    labels = _labels(table.index)
    traces = [
        {"type": "bar", "name": html.escape(str(column)), "marker": {"color": colours.get(str(column))},
         **({"y": labels, "x": table[column].tolist(), "orientation": "h"} if horizontal else {"x": labels, "y": table[column].tolist()}),
         "hovertemplate": ("%{y}: %{x}" if horizontal else "%{x}: %{y}") + " " + html.escape(str(column)) + "<extra></extra>"}
        for column in table.columns
    ]
    if horizontal:
        return _figure(traces, title, y_title, x_title, height=max(260, 110 + ROW_HEIGHT * len(table)), barmode="stack")
    figure = _figure(traces, title, x_title, y_title, barmode="stack")
    figure["layout"]["xaxis"]["type"] = "category"  # one bar per period, also when there is one (a date axis zooms to milliseconds)
    return figure


def bars(counts: pd.Series, title: str, label: str, value: str = "violations") -> Figure:
    """Horizontal bars, largest on top: counts per topic, product or sender."""
    counts = counts.iloc[::-1]
    trace = {
        "type": "bar", "orientation": "h", "x": counts.tolist(), "y": esc(counts.index), "marker": {"color": PALETTE[2]},
        "text": counts.tolist(), "textposition": "auto", "hovertemplate": "%{y}: %{x}<extra></extra>",
    }
    return _figure([trace], title, value, label, height=max(220, 90 + ROW_HEIGHT * len(counts)))


def heatmap(matrix: pd.DataFrame, title: str, x_title: str, y_title: str, value: str = "violations") -> Figure:
    """A grid of counts (e.g. customers × month), zero cells pale, each cell labelled."""
    x = list(matrix.columns.strftime("%Y-%m")) if isinstance(matrix.columns, pd.DatetimeIndex) else esc(matrix.columns)
    trace = {
        "type": "heatmap", "z": matrix.to_numpy().tolist(), "x": x, "y": esc(matrix.index), "colorscale": "Reds", "zmin": 0,
        "texttemplate": "%{z}", "xgap": 2, "ygap": 2, "colorbar": {"title": {"text": value}},
        "hovertemplate": "%{y}<br>%{x}: %{z} " + value + "<extra></extra>",
    }
    fig = _figure([trace], title, x_title, y_title, height=max(260, 120 + ROW_HEIGHT * len(matrix)))
    fig["layout"]["yaxis"].update(autorange="reversed", type="category")
    fig["layout"]["xaxis"].update(type="category")
    return fig


def ranking(table: pd.DataFrame, top: int = 50) -> Figure:
    """Partners by violations (bars), each labelled with its count and compliance rate."""
    table = table.head(top).iloc[::-1]
    labels = esc(table["partner_name"].fillna(table["partner_id"]) + " (" + table["partner_id"] + ")")
    rate = table["compliance_rate"].map(percent)
    trace = {
        "type": "bar", "orientation": "h", "x": table["violations"].tolist(), "y": labels, "marker": {"color": PALETTE[0]},
        "text": (table["violations"].astype("str") + " · " + rate).tolist(), "textposition": "auto",
        "customdata": rate.tolist(), "hovertemplate": "%{y}<br>violations: %{x}<br>compliance: %{customdata}<extra></extra>",
    }
    return _figure([trace], "Partners ranked by violations (compliance rate after the count)", "violations", "",
                   height=max(260, 100 + ROW_HEIGHT * len(table)))


def trend(points: list[dict], title: str) -> Figure:
    """Open violations per report period (``history.trend``), oldest first: a chain of monthly reports draws a line."""
    labels = [f"{p['start']} to {(pd.Timestamp(p['end']) - pd.Timedelta(days=1)):%Y-%m-%d}" for p in points]
    values = [int(p["open_violations"]) for p in points]
    trace = {
        "type": "scatter", "mode": "lines+markers+text", "x": labels, "y": values, "text": values, "textposition": "top center",
        "line": {"color": PALETTE[0]}, "cliponaxis": False, "hovertemplate": "%{x}: %{y} open violations<extra></extra>",
    }
    fig = _figure([trace], title, "report period", "open violations", height=320)
    fig["layout"]["xaxis"].update(type="category")
    fig["layout"]["yaxis"].update(rangemode="tozero")
    return fig


# ----------------------------------------------------------------------------- report blocks

def percent(rate: float | None) -> str:
    """A compliance rate as shown everywhere (index, pages, charts): rounded once, from the exact value."""
    return "n/a" if rate is None or pd.isna(rate) else f"{rate:.1%}"


def change_text(figures: dict) -> str:
    """Violations against the previous period; without messages then there is nothing to compare."""
    return "n/a (no data)" if figures["change"] is None else f"{figures['change']:+,d}"


def headline_html(partner: pd.Series, figures: dict, period, resellers: pd.DataFrame, sections: dict[str, str]) -> str:
    """Links back, the partner's name, period and headline figures as cards (see :func:`summarise.headline`),
    a plain sentence when the period has no messages, and the table of contents (``sections``: anchor -> title)."""
    return render(
        "headline.html.j2", partner=partner.fillna(""), figures=figures,
        period=period, previous=period.previous(), days=(period.end - period.start).days,
        rate=percent(figures["compliance_rate"]), change=change_text(figures),
        resellers=resellers.fillna("").to_dict("records"), sections=sections,
    )


def history_html(history) -> str:
    """What changed since the previous report (``report_inputs.PartnerInput.history``): the patterns'
    states counted, or a sentence saying why they cannot be told."""
    from .history import counts

    return render("history.html.j2", history=history, counts=counts(history.states) if history.states is not None else {})


def rules_html(policy) -> str:
    """Each rule id with its kind and verbatim clause, once, so codes in charts and tables are explained."""
    return render("rules.html.j2", policy=policy)


def footer_html(policy, digests: dict[str, str], verdict_versions: Iterable[str], started: pd.Timestamp) -> str:
    """Policy version, the inputs' SHA-256 and when and how long the report ran."""
    from importlib.metadata import version

    now = pd.Timestamp.now(tz="UTC")
    return render(
        "footer.html.j2", policy=policy, digests=digests, verdict_versions=sorted(set(map(str, verdict_versions))),
        generated_at=f"{now:%Y-%m-%d %H:%M:%S}", seconds=(now - started).total_seconds(), version=version("auditlib"),
    )


# ----------------------------------------------------------------------------- display

def figure_html(fig: Figure) -> str:
    """The figure as a div and the script that draws it, expecting ``Plotly`` on the page."""
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, config=CONFIG, validate=False)


def figure_bundle(fig: Figure) -> dict:
    """Mime bundle: plotly JSON for JupyterLab, HTML for nbconvert (which ignores the JSON)."""
    return {PLOTLY_MIME: json.loads(pio.to_json({**fig, "config": CONFIG}, validate=False)), "text/html": figure_html(fig)}


def show(fig: Figure) -> None:
    from IPython.display import display

    display(figure_bundle(fig), raw=True)


def table_html(frame: pd.DataFrame, table_id: str, interactive: bool = True) -> str:
    """Every row (no truncation), every cell escaped, times as ``YYYY-MM-DD HH:MM`` UTC; an
    ``interactive`` table is paged, sorted, filtered and searched by DataTables on the page."""
    times = frame.select_dtypes(include=["datetimetz"]).columns
    frame = frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%d %H:%M") for c in times}).astype("object").fillna("")
    classes = "auditlib-table auditlib-datatable" if interactive else "auditlib-table"
    return frame.to_html(escape=True, index=False, na_rep="", table_id=table_id, classes=classes,
                         border=0, max_rows=None, max_cols=None)


@cache
def _templates() -> Environment:
    env = Environment(loader=PackageLoader("auditlib", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(percent=percent, change=change_text)
    return env


def render(template: str, **values) -> str:
    """A packaged jinja2 template rendered with autoescape on (data is never trusted)."""
    return _templates().get_template(template).render(**values)


def show_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))


def note(text: str) -> None:
    """A plain sentence in place of a chart or table that would be empty."""
    show_html(render("note.html.j2", text=text))


def show_table(frame: pd.DataFrame, table_id: str, empty: str, interactive: bool = True) -> None:
    """The table, or the sentence ``empty`` when it has no rows."""
    if len(frame):
        show_html(table_html(frame, table_id, interactive))
    else:
        note(empty)
