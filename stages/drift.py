"""drift: how far each incoming batch has moved from the data before it, as DVC metrics and a report.

    python -m stages.drift --raw data/raw/housing.csv --incoming data/incoming \
        --metrics metrics/drift.json --report reports/drift.html

Each batch is compared with every row ingested before it (the source and earlier batches), so the
report says what each batch brought; stages.distribution has the statistics and the thresholds'
meaning. The HTML report is self-contained: a table and per-feature plots for each batch.
"""

from __future__ import annotations

import argparse
import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Template
from matplotlib.figure import Figure

from stages.atomic import write_json, write_text
from stages.distribution import compare, profile
from stages.errors import StageError, exits_cleanly
from stages.params import DriftParams, load_params
from stages.schema import FEATURES, read_raw_csv

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
<p>{{ intro }} Thresholds: PSI &ge; {{ params.psi_threshold }}, or p &lt; {{ params.p_value }} with an effect
&ge; {{ params.min_effect }}; features with fewer than {{ params.min_rows }} rows are never flagged.</p>
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


def render_report(title: str, intro: str, sections: dict[str, dict], params: DriftParams) -> str:
    """A self-contained HTML page: a table and per-feature share plots for each compared sample."""
    figures = {name: _figure(section) for name, section in sections.items()}
    return REPORT.render(title=title, intro=intro, sections=sections, figures=figures, params=params)


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


def metrics_only(sections: dict[str, dict]) -> dict[str, dict]:
    """The sections without the plotted shares, which belong in the report, not in DVC metrics."""
    return {
        name: {
            **section,
            "features": {
                feature: {key: value for key, value in result.items() if key != "plot"}
                for feature, result in section["features"].items()
            },
        }
        for name, section in sections.items()
    }


def batch_sections(raw: pd.DataFrame, batches: list[Path], params: DriftParams) -> dict[str, dict]:
    """Each batch against the rows ingested before it; ingest appends batches last, in file-name order."""
    sizes = [len(read_raw_csv(path, str(path))) for path in batches]
    start = len(raw) - sum(sizes)
    if start <= 0:
        raise StageError(f"the raw data holds {len(raw)} rows, too few for its {sum(sizes)} batch rows: rerun ingest")
    sections = {}
    for path, size in zip(batches, sizes, strict=True):
        reference = profile(raw.iloc[:start][FEATURES])
        sections[path.name] = {"first_row": start, **compare(reference, raw.iloc[start : start + size], params)}
        start += size
    return sections


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--incoming", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    params: DriftParams = load_params("drift")

    raw = read_raw_csv(args.raw, str(args.raw))
    sections = batch_sections(raw, sorted(args.incoming.glob("*.csv")), params)
    intro = "Each incoming batch against every row ingested before it."
    html = render_report("Drift of incoming batches", intro, sections, params)
    write_text(args.report, html)
    write_json(args.metrics, metrics_only(sections))
    for name, section in sections.items():
        print(f"drift: {name}: {section['rows']} rows, drifted: {', '.join(section['drifted']) or 'none'}")


if __name__ == "__main__":
    main()
