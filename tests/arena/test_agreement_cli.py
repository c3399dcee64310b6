"""`kazarena agreement --labels-a --labels-b` through Typer's CliRunner."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from app.cli.agreement import register
from arena.agreement import pair_agreement

runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def _other() -> None:  # a second command keeps Typer in multi-command mode, as in main.py
        pass

    return app


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    # Wikipedia's 20/5/10/15 table with yes -> A, no -> B, plus ties and unmatched ids.
    a_labels = ["A"] * 25 + ["B"] * 25
    b_labels = ["A"] * 20 + ["B"] * 5 + ["A"] * 10 + ["B"] * 15
    a_rows = [{"id": i, "label": x} for i, x in enumerate(a_labels)]
    b_rows = [{"id": str(i), "label": x} for i, x in enumerate(b_labels)]
    a_rows += [{"id": "only-a", "label": "tie"}]
    b_rows += [{"id": "only-b-1", "label": "A"}, {"id": "only-b-2", "label": "model_b"}]
    return write_jsonl(tmp_path / "a.jsonl", a_rows), write_jsonl(tmp_path / "b.jsonl", b_rows)


def test_json_report(cli, files):
    a, b = files
    result = runner.invoke(
        cli,
        [
            "agreement",
            "--labels-a",
            str(a),
            "--labels-b",
            str(b),
            "--format",
            "json",
            "--rounds",
            "200",
            "--seed",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["matched"], report["only_in_a"], report["only_in_b"]) == (50, 1, 2)
    assert report["kappa"] == pytest.approx(0.4, abs=1e-12)
    assert report["raw_agreement"] == pytest.approx(0.7)
    assert report["confusion"]["labels"] == ["A", "tie", "B"]
    assert report["confusion"]["matrix"] == [[20, 0, 5], [0, 0, 0], [10, 0, 15]]
    expected = pair_agreement(
        ["A"] * 25 + ["B"] * 25, ["A"] * 20 + ["B"] * 5 + ["A"] * 10 + ["B"] * 15, rounds=200, seed=5
    )
    assert report["ci"]["low"] == pytest.approx(expected.ci.low)
    assert report["ci"]["low"] < 0.4 < report["ci"]["high"]
    assert report["weighted_kappa"]["linear"] == pytest.approx(expected.linear.kappa)


def test_table_report_and_exclude_ties(cli, tmp_path):
    a = write_jsonl(
        tmp_path / "a.jsonl", [{"id": i, "label": x} for i, x in enumerate(["A", "B", "tie", "A", "B"])]
    )
    b = write_jsonl(
        tmp_path / "b.jsonl", [{"id": i, "label": x} for i, x in enumerate(["A", "B", "A", "tie", "A"])]
    )
    result = runner.invoke(
        cli, ["agreement", "--labels-a", str(a), "--labels-b", str(b), "--exclude-ties", "--rounds", "50"]
    )
    assert result.exit_code == 0, result.output
    assert "Cohen's kappa" in result.stdout and "Confusion matrix" in result.stdout
    assert "pairs dropped for a tie" in result.stdout
    as_json = runner.invoke(
        cli,
        [
            "agreement",
            "--labels-a",
            str(a),
            "--labels-b",
            str(b),
            "--exclude-ties",
            "--rounds",
            "50",
            "--format",
            "json",
        ],
    )
    report = json.loads(as_json.stdout)
    assert (report["n"], report["excluded_ties"]) == (3, 2)
    assert report["confusion"]["matrix"] == [[1, 0], [1, 1]]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": 1, "label": "A"}', "", '{"id": 2, "label": "A"'], "b.jsonl:3: not valid JSON"),
        (['{"id": 1, "label": "A"}', '{"id": 2, "label": "C"}'], "b.jsonl:2: Unknown label 'C'"),
        (['{"id": 1, "label": "A"}', '{"id": 1, "label": "B"}'], "b.jsonl:2: duplicate id '1'"),
        (['{"id": 1}'], 'b.jsonl:1: expected an object with "id" and "label"'),
    ],
)
def test_bad_files_exit_nonzero_with_line_number(cli, files, tmp_path, lines, message):
    a, _ = files
    b = write_jsonl(tmp_path / "b.jsonl", lines)
    result = runner.invoke(cli, ["agreement", "--labels-a", str(a), "--labels-b", str(b)])
    assert result.exit_code == 1
    assert message in result.stderr


def test_missing_file_and_missing_options(cli, files, tmp_path):
    a, _ = files
    result = runner.invoke(
        cli, ["agreement", "--labels-a", str(a), "--labels-b", str(tmp_path / "nope.jsonl")]
    )
    assert result.exit_code == 1 and "nope.jsonl: no such file" in result.stderr
    result = runner.invoke(cli, ["agreement", "--labels-a", str(a)])
    assert result.exit_code == 2 and "--labels-b" in result.stderr


def test_no_shared_ids(cli, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "label": "A"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "y", "label": "A"}])
    result = runner.invoke(cli, ["agreement", "--labels-a", str(a), "--labels-b", str(b)])
    assert result.exit_code == 1 and "no id appears in both files" in result.stderr
