"""`kazarena train` on a local Typer app: help, clear errors, and a real one-step run."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from pathlib import Path

import typer
from typer.testing import CliRunner

from app.cli.train import register
from train.config import TrainConfig
from train.formatting import save_jsonl
from train.general import FLORES_DEV

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


def test_every_config_field_has_one_flag_and_its_help() -> None:
    text = " ".join(invoke("--help").output.replace("│", " ").split())
    for f in fields(TrainConfig):
        assert f"--{f.name.replace('_', '-')}" in text, f.name
        assert " ".join(f.metadata["help"].split()) in text, f.name
    for alias in ("--out", "--lr", "--seq-len", "--resume"):
        assert f",{alias} " in text


def test_bad_mix_and_bad_columns_exit_non_zero(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = save_jsonl(tmp_path / "train.jsonl", [{"instruction": "Сәлем", "output": "Сәлем!"}])
    result = invoke("--model", str(tiny_model_dir), "--data", str(data), "--mix", "ours=0.5,alpaca=0.5")
    assert result.exit_code == 2 and "unknown component 'alpaca' (known: ours, general)" in result.output
    bad = save_jsonl(tmp_path / "bad.jsonl", [{"instruction": "Сәлем", "answer": "Сәлем!"}])
    out = tmp_path / "o"
    result = invoke("--model", str(tiny_model_dir), "--data", str(bad), "--out", str(out))
    assert result.exit_code == 2 and "bad.jsonl:1: column 'output' missing" in result.output
    assert not out.exists()


def test_a_lora_run_on_a_mixture_writes_an_adapter_and_its_manifest(
    tiny_model_dir: Path, pairs: list[dict[str, str]], tmp_path: Path
) -> None:
    data = save_jsonl(
        tmp_path / "train.jsonl",
        [{"instruction": p["instruction"][-200:], "output": p["output"]} for p in pairs[:16]],
    )
    held_out = save_jsonl(tmp_path / "test.jsonl", [{"instruction": "Сәлем", "output": "Сәлем!"}])
    out = tmp_path / "adapter"
    result = invoke(
        "--model", str(tiny_model_dir), "--data", str(data), "--eval-data", str(held_out), "--out", str(out),
        "--lora", "--mix", "ours=0.8,general=0.2", "--max-steps", "2", "--batch-size", "2", "--seq-len", "256",
        "--save-every", "0", "--lr", "1e-3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "tokenizer_config.json",
            "run_manifest.json"} <= names  # fmt: skip
    assert "model.safetensors" not in names
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["config"]["lora"] is True and manifest["config"]["mix"] == "ours=0.8,general=0.2"
    assert manifest["config"]["learning_rate"] == 1e-3 and manifest["seed"] == 0
    assert isinstance(manifest["command"], list) and manifest["command"]
    digests = manifest["data_files"]
    assert digests[str(data)] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert digests[str(FLORES_DEV)] == hashlib.sha256(FLORES_DEV.read_bytes()).hexdigest()
    assert digests[str(held_out)] == hashlib.sha256(held_out.read_bytes()).hexdigest()
    assert manifest["data"]["train"]["mixture"]["counts"] == {"ours": 16, "general": 4}
    assert [(p["step"], p["tokens"] > 0) for p in manifest["loss_curve"]] == [(1, True), (2, True)]
    assert [s for s, _ in manifest["eval_losses"]] == [0, 2]
    assert {"torch", "transformers", "peft"} <= set(manifest["versions"])
    assert set(manifest["git"]) == {"revision", "dirty"} and manifest["wall_seconds"] > 0
