"""`kazarena train` on a local Typer app: help, clear errors, and a real one-step run."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from app.cli.train import register
from train.formatting import save_jsonl

app = typer.Typer()
register(app)


@app.callback()
def _root() -> None:
    """Keep `train` a sub-command, as in the real `kazarena` app."""


def invoke(*args: str) -> typer.testing.Result:
    return CliRunner().invoke(app, ["train", *args], terminal_width=200, env={"COLUMNS": "200"})


def test_help_comes_from_the_config() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for text in ("Constant learning rate, no warm-up", "--chat-template", "--lora", "--max-steps"):
        assert text in result.output


def test_missing_inputs_exit_non_zero_with_a_message(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = save_jsonl(tmp_path / "train.jsonl", [{"instruction": "Сәлем", "output": "Сәлем!"}])
    result = invoke("--model", str(tiny_model_dir), "--data", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2 and "--data: file not found" in result.output
    result = invoke("--model", str(tmp_path / "no-model"), "--data", str(data))
    assert result.exit_code == 2 and "is not a model directory" in result.output
    empty = save_jsonl(tmp_path / "empty.jsonl", [])
    result = invoke("--model", str(tiny_model_dir), "--data", str(empty), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "no usable examples" in result.output
    result = invoke("--model", str(tiny_model_dir), "--data", str(data), "--attention", "flash")
    assert result.exit_code == 2 and "Unknown attention" in result.output


def test_a_one_step_run_writes_a_model(
    tiny_model_dir: Path, pairs: list[dict[str, str]], tmp_path: Path
) -> None:
    data = save_jsonl(
        tmp_path / "train.jsonl",
        [{"instruction": p["instruction"][-200:], "output": p["output"]} for p in pairs[:8]],
    )
    out = tmp_path / "out"
    result = invoke(
        "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out),
        "--max-steps", "1", "--batch-size", "2", "--seq-len", "256", "--save-every", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 1 and summary["tokens_seen"] > 0
    assert (out / "config.json").is_file() and (out / "run_manifest.json").is_file()
