"""The CSV summary of a batch (``analyse --csv FILE``): one row per input, for a spreadsheet.

Written to a temporary file beside the target and renamed over it, so an
interrupted run never leaves half a table.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from starcoach.model import Analysis

CSV_FIELDS = ["input", "question", "company", "score", "repeat", "situation", "task", "action", "result",
              "link_back", "link_back_values", "duration_s", "wpm", "fillers_per_minute", "longest_pause_s",
              "word_count", "error"]


def csv_row(a: Analysis) -> dict[str, object]:
    row: dict[str, object] = {"input": a.input, "question": a.question or "", "company": a.company or ""}
    if a.error:
        row["error"] = a.error.message
        return row
    row["score"] = a.score
    for c in ("repeat", "situation", "task", "action", "result", "link_back"):
        row[c] = int(a.structure[c].present)
    row["link_back_values"] = "; ".join(a.structure["link_back"].values)
    row["duration_s"] = round(a.duration_s, 2) if a.duration_s is not None else ""
    if a.delivery:
        row["wpm"] = round(a.delivery.wpm, 1)
        row["fillers_per_minute"] = round(a.delivery.fillers_per_minute, 2)
        row["longest_pause_s"] = round(a.delivery.longest_pause_s, 2)
    row["word_count"] = a.checks.word_count if a.checks else ""
    row["error"] = ""
    return row


def write_csv(path: Path, analyses: list[Analysis]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for a in analyses:
            w.writerow(csv_row(a))
    os.replace(tmp, path)
