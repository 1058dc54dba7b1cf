"""The drift report: a self-contained HTML page with a table and per-feature share plots per sample.

Written by the drift stage for incoming batches and by the retrain decision (ops.retrain) for
served traffic.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from jinja2 import Template
from matplotlib.figure import Figure

from housing.drift import DriftThresholds

REPORT = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 70rem; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { padding: .25rem .75rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } tr.drifted { background: #fde2e1; font-weight: 600; }
img { max-width: 100%; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ intro }} Thresholds: PSI &ge; {{ thresholds.psi_threshold }}, or p &lt; {{ thresholds.p_value }} with an effect
&ge; {{ thresholds.min_effect }}; features with fewer than {{ thresholds.min_rows }} rows are never flagged.</p>
{% for name, section in sections.items() %}
<h2>{{ name }}: {{ section.rows }} rows, {{ section.drifted_count }} drifted
{%- if section.drifted %} ({{ section.drifted | join(", ") }}){% endif %}</h2>
<table><tr><th>feature</th><th>PSI</th><th>test</th><th>effect</th><th>p-value</th><th>drifted</th></tr>
{% for feature, result in section.features.items() %}
<tr{% if result.drifted %} class="drifted"{% endif %}><td>{{ feature }}</td><td>{{ result.psi }}</td>
<td>{{ result.test }}</td><td>{{ result.effect }}</td><td>{{ result.p_value }}</td><td>{{ result.drifted }}</td></tr>
{% endfor %}</table>
<img alt="{{ name }}: shares of rows per reference bin" src="data:image/png;base64,{{ figures[name] }}">
{% else %}<p>Nothing to compare.</p>{% endfor %}
</body></html>
"""
)


def render_report(title: str, intro: str, sections: dict[str, dict], thresholds: DriftThresholds) -> str:
    """A self-contained HTML page: a table and per-feature share plots for each compared sample."""
    figures = {name: _figure(section) for name, section in sections.items()}
    return REPORT.render(title=title, intro=intro, sections=sections, figures=figures, thresholds=thresholds)


def _figure(section: dict[str, Any]) -> str:
    """Bars of the reference's and the sample's share of rows in each reference bin, as base64 PNG."""
    figure = Figure(figsize=(13, 9), layout="constrained")
    axes = figure.subplots(3, 3)
    for axis, (name, result) in zip(axes.flat, section["features"].items(), strict=True):
        positions = np.arange(len(result["plot"]["labels"]))
        axis.bar(positions - 0.2, result["plot"]["reference"], width=0.4, label="reference")
        axis.bar(positions + 0.2, result["plot"]["current"], width=0.4, label="this sample")
        axis.set_xticks(positions, result["plot"]["labels"], rotation=60, fontsize=7)
        axis.set_title(f"{name} (PSI {result['psi']})", fontsize=9)
    axes.flat[0].legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    return base64.b64encode(buffer.getvalue()).decode()
