"""drift: how far each incoming batch has moved from the data before it, as JSON and an HTML report.

    python -m stages.drift --raw data/raw/housing.csv --incoming data/incoming \
        --figures reports/drift.json --report reports/drift.html

Each batch is compared with every row ingested before it (the source and earlier batches), so the
report says what each batch brought; housing.drift has the statistics and the thresholds' meaning.
The HTML report is self-contained: a table and per-feature plots for each batch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from housing.drift import DriftThresholds, compare, profile
from housing.schema import RAW_COLUMNS
from stages.atomic import write_json, write_text
from stages.drift_report import render_report
from stages.errors import StageError, exits_cleanly
from stages.params import load_params
from stages.raw import originals, read_ingested_csv, read_raw_csv


def without_plots(sections: dict[str, dict]) -> dict[str, dict]:
    """The sections without the plotted shares, which belong in the HTML report only."""
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


def batch_sections(raw: pd.DataFrame, batches: list[Path], thresholds: DriftThresholds) -> dict[str, dict]:
    """Each batch against the rows ingested before it; ingest appends batches last, in file-name order."""
    sizes = [len(read_raw_csv(path, str(path))) for path in batches]
    start = len(raw) - sum(sizes)
    if start <= 0:
        raise StageError(f"the raw data holds {len(raw)} rows, too few for its {sum(sizes)} batch rows: rerun ingest")
    sections = {}
    for path, size in zip(batches, sizes, strict=True):
        reference = profile(raw.iloc[:start][RAW_COLUMNS])
        sections[path.name] = {"first_row": start, **compare(reference, raw.iloc[start : start + size], thresholds)}
        start += size
    return sections


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--incoming", type=Path, required=True)
    parser.add_argument("--figures", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    thresholds = load_params("drift", DriftThresholds)

    raw = originals(read_ingested_csv(args.raw))
    sections = batch_sections(raw, sorted(args.incoming.glob("*.csv")), thresholds)
    intro = "Each incoming batch against every row ingested before it."
    html = render_report("Drift of incoming batches", intro, sections, thresholds)
    write_text(args.report, html)
    write_json(args.figures, without_plots(sections))
    for name, section in sections.items():
        print(f"drift: {name}: {section['rows']} rows, drifted: {', '.join(section['drifted']) or 'none'}")


if __name__ == "__main__":
    main()
