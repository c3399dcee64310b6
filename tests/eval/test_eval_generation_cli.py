"""`kazarena eval generation --pairs/--tokenizer`: help, refusals, and a run against a hand-written responder."""

import json

import typer
from typer.testing import CliRunner

from app.cli import eval as eval_cli
from tests.eval.test_comparison import ITEMS, Server

runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    eval_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "eval" a sub-command
    return app


def test_help_explains_the_new_flags():
    result = runner.invoke(cli(), ["eval", "generation", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--pairs" in result.output and "FT:VANILLA" in result.output and "--tokenizer" in result.output
    assert "paired bootstrap" in result.output and "loss per response token" in result.output


def test_bad_pairs_are_refused_before_anything_runs():
    cases = [("tuned:base", "base in 'tuned:base' is not among --models (tuned, vanilla)"), ("tuned", "is not FT:VANILLA"),
             ("tuned:", "is not FT:VANILLA"), ("tuned:tuned", "with itself"),
             ("tuned:vanilla,tuned:vanilla", "given twice")]
    for pairs, message in cases:
        result = runner.invoke(cli(), ["eval", "generation", "-m", "tuned,vanilla", "--pairs", pairs, "--no-db"],
                               env={"COLUMNS": "400"})
        assert result.exit_code == 2, pairs
        assert message in " ".join(result.output.split()), (pairs, result.output)
    missing = runner.invoke(cli(), ["eval", "generation", "-m", "tuned", "--tokenizer", "/no/such/dir"])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_a_paired_run_writes_the_report_and_items(tmp_path, monkeypatch):
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps({"id": i.id, "instruction": i.instruction, "output": i.reference,
                                             "topic": i.topic, "set": i.set_name}, ensure_ascii=False) + "\n"
                                 for i in ITEMS), encoding="utf-8")
    monkeypatch.setattr(eval_cli.Common, "client", lambda self: Server())
    out = tmp_path / "report"
    result = runner.invoke(cli(), ["eval", "generation", "-m", "vanilla,tuned", "--pairs", "tuned:vanilla",
                                   "--test-file", str(test_file), "--no-judge", "--encoder", "none", "--no-db",
                                   "--rounds", "200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Fine-tuned vs vanilla: tuned − vanilla" in report and "set:govset" not in report
    assert "| set | govset | 2 |" in report and "| topic | holidays | 1 |" in report and "|  | all | 4 |" in report
    assert "| ROUGE-L F1 | 1.000 |" in report and "### Sample answers: ift-test" in report
    items = [json.loads(line) for line in (out / "items_generation_ift-test.jsonl").read_text().splitlines()]
    assert items[0]["checks"]["vanilla"]["echo"] is True and items[0]["checks"]["tuned"]["kazakh"] is True
