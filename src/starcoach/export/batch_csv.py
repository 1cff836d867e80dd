"""The CSV summary of a batch (``analyse --csv FILE``): one row per input, for a spreadsheet.

Written whole or not at all (``files.write_atomic``), so an interrupted run
never leaves half a table; the file gets the usual permissions, as before.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from starcoach.files import write_atomic
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
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    w.writeheader()
    for a in analyses:
        w.writerow(csv_row(a))
    write_atomic(path, buf.getvalue(), mode=None, newline="")
