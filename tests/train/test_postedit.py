"""The post-editing round trip through XLSX and CSV, and the error report on a hand-made sheet."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from train.postedit import COLUMNS, SheetError, error_report, export_sheet, import_sheet

PAIRS = [{"id": f"p{i}", "doc_id": f"d{i // 2}", "set": "govset" if i < 4 else "cultset", "topic": "t",
          "category": "factual", "instruction": f"Сұрақ {i}?", "output": f"Жауап {i}."} for i in range(6)]


def _edit_xlsx(path: Path, edits: dict[int, dict[str, str]]) -> None:
    book = load_workbook(path)
    sheet = book.active
    for row, cells in edits.items():
        for column, value in cells.items():
            sheet.cell(row=row, column=COLUMNS.index(column) + 1, value=value)
    book.save(path)


def test_xlsx_round_trip(tmp_path: Path) -> None:
    sheet = tmp_path / "pairs.xlsx"
    assert export_sheet(PAIRS, sheet) == 6
    header = [c.value for c in next(load_workbook(sheet).active.iter_rows(max_row=1))]
    assert header[:8] == ["ID", "Category", "Instruction", "Output", "Updated Instruction", "Updated Output",
                          "Comment", "Error type"]
    _edit_xlsx(sheet, {2: {"Updated Output": "Түзетілген жауап.", "Error type": "Grammatical", "Comment": "жалғау"},
                       3: {"Error type": "no error"}})
    rows = import_sheet(sheet)
    assert rows[0]["output"] == "Түзетілген жауап." and rows[0]["instruction"] == "Сұрақ 0?"
    assert rows[0]["edited"] and rows[0]["error_type"] == "Grammatical" and rows[0]["comment"] == "жалғау"
    assert not rows[1]["edited"] and rows[1]["error_type"] == "No error"  # case normalised
    assert rows[2]["error_type"] == "" and rows[5]["set"] == "cultset" and rows[5]["doc_id"] == "d2"


def test_csv_round_trip_and_bad_rows(tmp_path: Path) -> None:
    sheet = tmp_path / "pairs.csv"
    export_sheet(PAIRS, sheet)
    with sheet.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    table[1][COLUMNS.index("Updated Instruction")] = "Жаңа сұрақ?"
    table[1][COLUMNS.index("Error type")] = "Lexical"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(table)
    rows = import_sheet(sheet)
    assert rows[0]["instruction"] == "Жаңа сұрақ?" and rows[0]["output"] == "Жауап 0." and rows[0]["edited"]
    table[3][COLUMNS.index("Error type")] = "Typo"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(table)
    with pytest.raises(SheetError, match=r"row 4: unknown error type 'Typo'"):
        import_sheet(sheet)
    (tmp_path / "bad.csv").write_text("ID,Instruction\np1,x\n", encoding="utf-8")
    with pytest.raises(SheetError, match="missing column"):
        import_sheet(tmp_path / "bad.csv")


def test_report_on_hand_made_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "hand.xlsx"
    export_sheet(PAIRS, sheet)
    # govset: 4 reviewed -> No error 2, Lexical 1, Wrong language 1; cultset: 1 reviewed, 1 not.
    _edit_xlsx(sheet, {2: {"Error type": "No error"}, 3: {"Error type": "No error"}, 4: {"Error type": "Lexical"},
                       5: {"Error type": "Wrong language"}, 6: {"Error type": "Structural"}})
    report = error_report(import_sheet(sheet))
    assert report.counts["govset"] == {"No error": 2, "Wrong language": 1, "Structural": 0, "Grammatical": 0,
                                       "Lexical": 1}
    assert report.percent("govset", "No error") == 50.0 and report.percent("govset", "Lexical") == 25.0
    assert report.total("cultset") == 1 and report.percent("cultset", "Structural") == 100.0
    assert report.unreviewed == {"cultset": 1}
    assert report.as_dict()["govset"]["errors"]["Wrong language"] == {"count": 1, "percent": 25.0}


def test_cli_round_trip(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from app.cli import data
    from train.datasets import write_jsonl

    app = typer.Typer()
    data.register(app)
    write_jsonl(PAIRS, tmp_path / "ift.jsonl")
    runner = CliRunner()
    assert runner.invoke(app, ["postedit", "export", str(tmp_path / "ift.jsonl"), str(tmp_path / "s.xlsx")]).exit_code == 0
    _edit_xlsx(tmp_path / "s.xlsx", {2: {"Error type": "Structural"}})
    result = runner.invoke(app, ["postedit", "import", str(tmp_path / "s.xlsx"), "--out", str(tmp_path / "e.jsonl")])
    assert result.exit_code == 0 and (tmp_path / "e.jsonl").read_text(encoding="utf-8").count("\n") == 6
    result = runner.invoke(app, ["postedit", "report", str(tmp_path / "s.xlsx"), "--json"])
    assert result.exit_code == 0 and '"percent": 100.0' in result.stdout
