"""Resume checks (config in every checkpoint, differing settings refused, LoRA base model) and the
atomic output directory, on real short runs of the tiny model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import train.trainer as trainer
from train.checkpoints import STATE_NAME, staging_dir
from train.config import TrainConfig, config_differences
from train.formatting import save_jsonl
from train.tiny import build_tiny_model


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, pairs: list[dict[str, str]]) -> Path:
    short = [{"instruction": p["instruction"][-200:], "output": p["output"][:120]} for p in pairs[:40]]
    return save_jsonl(tmp_path_factory.mktemp("data") / "train.jsonl", short)


def config(model_dir: Path, data: Path, out: Path, **overrides: Any) -> TrainConfig:
    settings: dict[str, Any] = dict(
        model=str(model_dir), data=str(data), output_dir=str(out), learning_rate=1e-3, batch_size=2,
        max_seq_length=256, max_steps=2, save_every=1, eval_every=0,
    )  # fmt: skip
    settings.update(overrides)
    return TrainConfig(**settings)


def test_every_checkpoint_holds_the_resolved_config(tiny_model_dir: Path, data: Path, tmp_path: Path) -> None:
    cfg = config(tiny_model_dir, data, tmp_path / "out", learning_rate=None, max_steps=1)
    trainer.train(cfg)
    state = json.loads((tmp_path / "out" / "checkpoints" / "step-0000001" / STATE_NAME).read_text())
    saved = state["config"]
    assert set(saved) == {f for f in TrainConfig.__dataclass_fields__}
    assert saved["learning_rate"] == 1e-5  # the family default, filled in
    assert saved == json.loads((tmp_path / "out" / trainer.MANIFEST_NAME).read_text())["config"]


def test_resume_with_other_settings_is_refused_unless_forced(
    tiny_model_dir: Path, data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    trainer.train(config(tiny_model_dir, data, out))
    with pytest.raises(
        ValueError, match=r"other settings: learning_rate: 0\.001 -> 0\.002; batch_size: 2 -> 4\. .*--force"
    ):
        trainer.train(
            config(
                tiny_model_dir, data, out, resume_from="latest", max_steps=3, batch_size=4, learning_rate=2e-3
            )
        )
    # fields that only say where to write and how far to go may change
    resumed = trainer.train(
        config(tiny_model_dir, data, out, resume_from="latest", max_steps=3, save_every=3, eval_every=1)
    )
    assert (resumed.start_step, resumed.steps) == (2, 3)
    forced = trainer.train(
        config(tiny_model_dir, data, out, resume_from="latest", max_steps=4, batch_size=4, force=True)
    )
    assert (forced.start_step, forced.steps) == (3, 4)


def test_config_differences_ignore_run_only_fields(tiny_model_dir: Path, data: Path, tmp_path: Path) -> None:
    base = config(tiny_model_dir, data, tmp_path)
    saved = base.to_dict()
    moved = config(tiny_model_dir, data, tmp_path / "x", max_steps=9, save_every=7, eval_every=3, force=True)
    assert config_differences(saved, moved) == []
    assert config_differences(saved, config(tiny_model_dir, data, tmp_path, seed=1, lora=True)) == [
        "lora: False -> True",
        "seed: 0 -> 1",
    ]
    assert config_differences({}, base)[0] == "model: '(not saved)' -> " + repr(str(tiny_model_dir))


def test_lora_adapter_is_not_resumed_on_another_base_model(
    tiny_model_dir: Path, tokenizer: Any, data: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-base"
    build_tiny_model(tokenizer, hidden_size=32).save_pretrained(other)
    tokenizer.save_pretrained(other)
    out = tmp_path / "out"
    trainer.train(config(tiny_model_dir, data, out, lora=True, max_steps=1))
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(tiny_model_dir)
    with pytest.raises(ValueError, match="LoRA adapter of base model .* differs from --model"):
        trainer.train(config(other, data, out, lora=True, max_steps=2, resume_from="latest", force=True))


def test_bad_columns_are_refused_before_anything_is_written(
    tiny_model_dir: Path, data: Path, tmp_path: Path
) -> None:
    bad = save_jsonl(
        tmp_path / "bad.jsonl", [{"instruction": "Сәлем", "output": "Сәлем!"}, {"instruction": "Иә"}]
    )
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: column 'output' missing"):
        trainer.train(config(tiny_model_dir, bad, out))
    save_jsonl(bad, [{"instruction": "Сәлем", "output": ["a", "list"]}])
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: column 'output' must be a string, got list"):
        trainer.train(config(tiny_model_dir, bad, out))
    save_jsonl(bad, [{"messages": [{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]}])
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: column 'messages\[1\]\.role' must be one of"):
        trainer.train(config(tiny_model_dir, bad, out))
    assert not out.exists() and not staging_dir(out).exists()


def test_a_failed_run_leaves_the_output_untouched_and_resumes_from_its_staging(
    tiny_model_dir: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("an earlier, finished output")

    def crash(*args: Any) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(trainer, "save_final", crash)  # the run dies after its last checkpoint
        with pytest.raises(RuntimeError, match="disk full"):
            trainer.train(config(tiny_model_dir, data, out))
    assert [p.name for p in out.iterdir()] == ["earlier.txt"]
    assert [p.name for p in (staging_dir(out) / "checkpoints").iterdir()] == ["step-0000002"]
    resumed = trainer.train(config(tiny_model_dir, data, out, resume_from="latest", max_steps=3))
    assert (resumed.start_step, resumed.steps) == (2, 3)
    assert not staging_dir(out).exists() and not (out / "earlier.txt").exists()
    assert (out / "model.safetensors").is_file() and (out / trainer.MANIFEST_NAME).is_file()
    # a run that fails before its first checkpoint leaves no staging directory behind
    other = tmp_path / "o2"
    with monkeypatch.context() as patch:
        patch.setattr(trainer, "save_checkpoint", crash)
        with pytest.raises(RuntimeError, match="disk full"):
            trainer.train(config(tiny_model_dir, data, other))
    assert not other.exists() and not staging_dir(other).exists()
