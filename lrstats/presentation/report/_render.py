"""Rendering of a report: Markdown and self-contained HTML from figures and tables already made."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lrstats.presentation import tables

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 64rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
figure { margin: 1.2rem 0; } figcaption { font-size: .9rem; color: #444; max-width: 48rem; }
img { max-width: 100%; height: auto; }
table.lrstats-table { border-collapse: collapse; font-size: .85rem; margin: .6rem 0 1.2rem;
       font-variant-numeric: tabular-nums; }
table.lrstats-table caption { caption-side: top; text-align: left; font-weight: 600;
       padding-bottom: .3rem; }
table.lrstats-table th, table.lrstats-table td { padding: .15rem .6rem; }
table.lrstats-table thead tr { border-top: 2px solid #222; border-bottom: 1px solid #222; }
table.lrstats-table tbody tr:last-child { border-bottom: 2px solid #222; }
.scroll { max-height: 28rem; overflow: auto; display: inline-block; }
dl.provenance { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem;
       font-size: .9rem; } dl.provenance dt { font-weight: 600; }
dl.provenance dd { margin: 0; font-family: ui-monospace, monospace; white-space: pre-wrap; }
.note { font-size: .9rem; color: #444; } code { font-size: .9em; }
"""


@dataclass
class Figure:
    """A figure of the report: its name, title, caption and, once drawn, its PNG and files."""

    name: str
    title: str
    caption: str
    png: bytes = b""
    width_in: float = 0.0
    files: list[str] = field(default_factory=list)


@dataclass
class Table:
    """A table of the report: raw values, the columns shown, and its files once written."""

    name: str
    title: str
    caption: str
    frame: pd.DataFrame
    display_columns: list[str]
    files: list[str] = field(default_factory=list)


def plain(value: Any) -> str:
    """A provenance value as short text."""
    if isinstance(value, float) or isinstance(value, np.floating):
        return repr(float(value)) if math.isfinite(float(value)) else str(float(value))
    if isinstance(value, np.generic):
        return str(value.item())
    if isinstance(value, np.ndarray):
        return str(value.tolist())
    return str(value)


def flatten(mapping: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested provenance as ``(dotted.key, text)`` pairs."""
    items: list[tuple[str, str]] = []
    for key, value in mapping.items():
        label = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            items.extend(flatten(value, prefix=f"{label}."))
        else:
            items.append((label, plain(value)))
    return items


def _md_code(text: str) -> str:
    text = text.replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fmt(value: float, digits: int = 3) -> str:
    """A number for prose: 3 significant digits, an em dash for NaN."""
    value = float(value)
    if math.isnan(value):
        return "\u2014"
    if math.isinf(value):
        return "\u2212\u221e" if value < 0 else "\u221e"
    return f"{value:.{digits}g}"


def interval(low: float, high: float) -> str:
    return f"[{fmt(low)}, {fmt(high)}]"


def render_png(fig: Any, dpi: float) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={}, bbox_inches="tight")
    return buffer.getvalue()


def markdown(context: Mapping[str, Any]) -> str:
    out = [f"# {context['title']}", ""]
    out += ["## Results", ""]
    out += [f"- {line}" for line in context["headline"]]
    out += [""]
    for figure in context["figures"]:
        out += [f"## {figure.title}", ""]
        out += [f"![{figure.title}]({figure.files[0]})" if figure.files else "", ""]
        out += [figure.caption, ""]
        if figure.files:
            out += [
                "Files: " + ", ".join(f"[{f.rsplit('.', 1)[1]}]({f})" for f in figure.files),
                "",
            ]
    for table in context["tables"]:
        out += [f"## Table: {table.title}", "", table.caption, ""]
        out += [tables.to_markdown(table.frame, columns=table.display_columns)]
        out += ["Files: " + ", ".join(f"[{f.rsplit('.', 1)[1]}]({f})" for f in table.files), ""]
    out += ["## Settings", ""]
    out += [f"- {key}: {_md_code(value)}" for key, value in context["settings"].items()]
    out += [""]
    if context["n_resamples"] is not None:  # None: nothing was bootstrapped (a diagnosis)
        out += [
            f"Bootstrap intervals and selection frequencies use {context['n_resamples']} "
            "replicate resamples (whole replicates are resampled, keeping the design paired).",
            "",
        ]
    out += ["## Provenance", ""]
    if context["provenance"]:
        out += [f"- {key}: {_md_code(value)}" for key, value in context["provenance"]]
    else:
        out += ["The frame carries no provenance (`frame.attrs` is empty)."]
    out += [""]
    if context["warnings"] or context["unavailable"]:
        out += ["## Warnings", ""]
        out += [f"- Not available: {line}" for line in context["unavailable"]]
        out += [f"- {line}" for line in context["warnings"]]
        out += [""]
    if context["bundle"]:
        out += [
            f"The data bundle (frame, provenance, result tables): `{context['bundle']}`.",
            "",
        ]
    return "\n".join(out)


def to_html_page(context: Mapping[str, Any]) -> str:
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(context['title'])}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(context['title'])}</h1>",
        "<h2>Results</h2>",
        "<ul>",
    ]
    out += [f"<li>{esc(line)}</li>" for line in context["headline"]]
    out += ["</ul>"]
    for figure in context["figures"]:
        encoded = base64.b64encode(figure.png).decode("ascii")
        width = int(round(figure.width_in * 150))
        links = " ".join(
            f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[1])}</a>' for f in figure.files
        )
        out += [
            f'<h2 id="{esc(figure.name)}">{esc(figure.title)}</h2>',
            "<figure>",
            f'<img src="data:image/png;base64,{encoded}" alt="{esc(figure.title)}" '
            f'style="width: {width}px">',
            f"<figcaption>{esc(figure.caption)}"
            + (f" <span class='note'>Files: {links}</span>" if links else "")
            + "</figcaption>",
            "</figure>",
        ]
    for table in context["tables"]:
        links = " ".join(f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[1])}</a>' for f in table.files)
        out += [
            f'<h2 id="table-{esc(table.name)}">Table: {esc(table.title)}</h2>',
            f"<p class='note'>{esc(table.caption)} Files: {links}</p>",
            '<div class="scroll">',
            tables.to_html(table.frame, columns=table.display_columns).rstrip("\n"),
            "</div>",
        ]
    out += ["<h2>Settings</h2>", '<dl class="provenance">']
    for key, value in context["settings"].items():
        out.append(f"<dt>{esc(key)}</dt><dd>{esc(value)}</dd>")
    out += ["</dl>"]
    if context["n_resamples"] is not None:  # None: nothing was bootstrapped (a diagnosis)
        out.append(
            f"<p class='note'>Bootstrap intervals and selection frequencies use "
            f"{context['n_resamples']} replicate resamples (whole replicates are resampled, "
            "keeping the design paired).</p>"
        )
    out += ["<h2>Provenance</h2>"]
    if context["provenance"]:
        out.append('<dl class="provenance">')
        out += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in context["provenance"]]
        out.append("</dl>")
    else:
        out.append("<p>The frame carries no provenance (<code>frame.attrs</code> is empty).</p>")
    if context["warnings"] or context["unavailable"]:
        out += ["<h2>Warnings</h2>", "<ul>"]
        out += [f"<li>Not available: {esc(line)}</li>" for line in context["unavailable"]]
        out += [f"<li>{esc(line)}</li>" for line in context["warnings"]]
        out.append("</ul>")
    if context["bundle"]:
        out.append(
            "<p class='note'>The data bundle (frame, provenance, result tables): "
            f'<a href="{esc(context["bundle"])}">{esc(context["bundle"])}</a>.</p>'
        )
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
