"""Print the noise tables (``skintrack/data/noise.json`` or ``$SKINTRACK_NOISE_TABLE``) as Markdown.

The README's "Repeatability" section is this script's output: real repeat shots and the simulated
study side by side, and the bands a comparison is judged with.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skintrack.comparison.noise import RELATIVE_FLOOR, Conditions, band, shipped_table  # noqa: E402
from skintrack.measure.metrics import METRICS  # noqa: E402

REFERENCE_WORDS = {"chart": "chart", "grey_card": "grey card", "backdrop": "backdrop", "none": "none"}


def _pct(value):
    return "–" if value is None else f"{100 * value:.0f} %"


def _num(value, digits=3):
    return "–" if value is None else f"{value:.{digits}g}"


def side_by_side(table) -> str:
    real = table["real"]
    sim = table["simulated"]["by_reference"]
    lines = [
        "| measure | real, as shot: good / fair alignment (within-pair SD or CV) | real, light matched (good / fair) "
        "| simulated SD: chart / grey card / backdrop / none |",
        "| --- | --- | --- | --- |",
    ]
    for metric, info in METRICS.items():
        cells = []
        for kind in ("as_shot", "light_matched"):
            parts = []
            for name in ("good", "fair"):
                row = real[kind][name]["metrics"][metric]
                value = row.get("cv", row.get("sd"))
                parts.append(_pct(value) if "cv" in row else f"{_num(value)} {info.unit}")
            cells.append(" / ".join(parts))
        simulated = " / ".join(_num(sim[ref]["metrics"][metric]["within_sd"]) for ref in ("chart", "grey_card", "backdrop", "none"))
        lines.append(f"| `{metric}` | {cells[0]} | {cells[1]} | {simulated} {info.unit} |")
    return "\n".join(lines)


def bands() -> str:
    lines = ["| measure (at level) | chart, good | grey card, good | backdrop, good | none, good | none, fair |", "| --- | --- | --- | --- | --- | --- |"]
    for metric, info in METRICS.items():
        level = RELATIVE_FLOOR.get(metric)
        where = f" at {level:g}" if level else ""
        cells = []
        for ref, quality in (("chart", 0.95), ("grey_card", 0.95), ("backdrop", 0.95), ("none", 0.95), ("none", 0.6)):
            noise = band(metric, Conditions(ref, quality))
            cells.append(f"{_num(noise.mdc95(level))} ({_num(noise.limit(level))})")
        lines.append(f"| `{metric}`{where} {info.unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    table = shipped_table()
    real = table["real"]
    print(f"Real pairs: {real['accepted']} of {real['pairs']} comparable; engine {table['engine_version']}, "
          f"settings {table['settings_hash']}.\n")  # fmt: skip
    print(side_by_side(table))
    print()
    print(bands())


if __name__ == "__main__":
    main()
