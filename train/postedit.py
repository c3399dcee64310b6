"""The paper's human post-editing round trip for generated IFT pairs.

Export pairs to a sheet (XLSX or CSV) with the paper's columns - ID, Category,
Instruction, Output, Updated Instruction, Updated Output, Comment, Error type -
followed by Set, Topic and Doc ID so the edited sheet can be imported without the
original file. Editors fill the "Updated" cells only where they change something and
pick an error type. Import applies the edits (a filled updated field wins) and
validates every row; the report counts error types per set, as in the paper's table.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAPER_COLUMNS = ("ID", "Category", "Instruction", "Output", "Updated Instruction", "Updated Output", "Comment",
                 "Error type")
EXTRA_COLUMNS = ("Set", "Topic", "Doc ID")
COLUMNS = PAPER_COLUMNS + EXTRA_COLUMNS
ERROR_TYPES = ("No error", "Wrong language", "Structural", "Grammatical", "Lexical")


class SheetError(ValueError):
    """An edited sheet that cannot be imported; the message names the file and row."""


def export_sheet(pairs: Iterable[Mapping[str, Any]], path: Path | str) -> int:
    """Write pairs to `path` (.xlsx or .csv) for editing; returns the row count."""
    path = Path(path)
    rows = [[str(p.get("id", "")), str(p.get("category", "")), str(p["instruction"]), str(p["output"]),
             "", "", "", "", str(p.get("set", "")), str(p.get("topic", "")), str(p.get("doc_id", ""))]
            for p in pairs]
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:  # the BOM lets Excel read UTF-8
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    elif path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.worksheet.datavalidation import DataValidation

        book = Workbook()
        sheet = book.active
        sheet.title = "pairs"
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append(row)
        # A drop-down of the allowed error types on the "Error type" column.
        choice = DataValidation(type="list", formula1='"' + ",".join(ERROR_TYPES) + '"', allow_blank=True)
        sheet.add_data_validation(choice)
        choice.add(f"H2:H{max(len(rows), 1) + 1}")
        for letter, width in zip("ABCDEFGH", (18, 12, 60, 60, 60, 60, 30, 16), strict=True):
            sheet.column_dimensions[letter].width = width
        book.save(path)
    else:
        raise ValueError(f"{path}: the sheet must be .xlsx or .csv")
    return len(rows)


def _read_sheet(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise SheetError(f"{path}: no such sheet")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            table = [list(r) for r in csv.reader(f)]
    elif path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        table = [["" if v is None else str(v) for v in r] for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        raise SheetError(f"{path}: the sheet must be .xlsx or .csv")
    if not table:
        raise SheetError(f"{path}: empty sheet")
    header = [h.strip() for h in table[0]]
    missing = [c for c in PAPER_COLUMNS if c not in header]
    if missing:
        raise SheetError(f"{path}: missing column(s) {', '.join(missing)}")
    return [{h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(header)}
            for r in table[1:] if any(str(c).strip() for c in r)]


def _error_type(value: str, where: str) -> str:
    if not value:
        return ""
    for allowed in ERROR_TYPES:
        if value.casefold() == allowed.casefold():
            return allowed
    raise SheetError(f"{where}: unknown error type {value!r} (allowed: {', '.join(ERROR_TYPES)})")


def import_sheet(path: Path | str) -> list[dict[str, Any]]:
    """The edited pairs: updated fields win when filled; `error_type` "" means not reviewed."""
    path = Path(path)
    out, seen = [], {}
    for rowno, raw in enumerate(_read_sheet(path), start=2):  # row 1 is the header
        where = f"{path} row {rowno}"
        pair_id = raw.get("ID", "")
        if not pair_id:
            raise SheetError(f"{where}: empty ID")
        if pair_id in seen:
            raise SheetError(f"{where}: duplicate ID {pair_id!r} (first in row {seen[pair_id]})")
        seen[pair_id] = rowno
        instruction = raw.get("Updated Instruction") or raw.get("Instruction", "")
        output = raw.get("Updated Output") or raw.get("Output", "")
        if not instruction or not output:
            raise SheetError(f"{where}: instruction and output must not both be empty ({pair_id})")
        out.append({"id": pair_id, "doc_id": raw.get("Doc ID", ""), "set": raw.get("Set", ""),
                    "topic": raw.get("Topic", ""), "category": raw.get("Category", ""),
                    "instruction": instruction, "output": output,
                    "edited": bool(raw.get("Updated Instruction") or raw.get("Updated Output")),
                    "comment": raw.get("Comment", ""), "error_type": _error_type(raw.get("Error type", ""), where)})
    return out


@dataclass(frozen=True)
class ErrorReport:
    """Error-type counts per set, over reviewed rows (those with an error type)."""

    counts: dict[str, dict[str, int]]  # set -> error type -> count (every type present, zeros included)
    unreviewed: dict[str, int]  # set -> rows without an error type

    def total(self, set_name: str) -> int:
        return sum(self.counts[set_name].values())

    def percent(self, set_name: str, error_type: str) -> float:
        total = self.total(set_name)
        return 100.0 * self.counts[set_name][error_type] / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {s: {"reviewed": self.total(s), "unreviewed": self.unreviewed.get(s, 0),
                    "errors": {t: {"count": self.counts[s][t], "percent": round(self.percent(s, t), 2)}
                               for t in ERROR_TYPES}} for s in self.counts}


def error_report(rows: Sequence[Mapping[str, Any]]) -> ErrorReport:
    """Count error types per set; rows without a set count as "unknown"."""
    counts: dict[str, Counter[str]] = {}
    unreviewed: Counter[str] = Counter()
    for row in rows:
        set_name = str(row.get("set") or "unknown")
        counts.setdefault(set_name, Counter())
        if row.get("error_type"):
            counts[set_name][str(row["error_type"])] += 1
        else:
            unreviewed[set_name] += 1
    return ErrorReport(counts={s: {t: c[t] for t in ERROR_TYPES} for s, c in sorted(counts.items())},
                       unreviewed=dict(unreviewed))
