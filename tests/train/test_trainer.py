"""Real short training runs of the tiny model: loss falls, saves, reloads, resumes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from train.config import TrainConfig, default_learning_rate
from train.formatting import GEMMA_CHAT_TEMPLATE, load_jsonl, save_jsonl
from train.tiny import build_tiny_model, build_tiny_tokenizer
from train.trainer import MANIFEST_NAME, train


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory, pairs: list[dict[str, str]]) -> tuple[Path, Path]:
    # passages cut short so that a step takes a fraction of a second on a busy 2-core machine
    short = [{"instruction": p["instruction"][-250:], "output": p["output"][:150]} for p in pairs]
    root = tmp_path_factory.mktemp("data")
    return save_jsonl(root / "train.jsonl", short[:240]), save_jsonl(root / "test.jsonl", short[700:716])


def make_config(model_dir: Path, data_files: tuple[Path, Path], out: Path, **overrides: Any) -> TrainConfig:
    settings: dict[str, Any] = dict(
        model=str(model_dir), data=str(data_files[0]), eval_data=str(data_files[1]), output_dir=str(out),
        learning_rate=3e-3, batch_size=4, max_seq_length=512, max_steps=6, eval_every=3, save_every=0,
    )  # fmt: skip
    settings.update(overrides)
    return TrainConfig(**settings)


def logits(model: Any, tokenizer: Any) -> torch.Tensor:
    ids = tokenizer("Қазақстанның астанасы — Астана.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model.eval()(input_ids=ids).logits


@pytest.fixture(scope="module")
def full_run(
    tiny_model_dir: Path, data_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    return train(make_config(tiny_model_dir, data_files, tmp_path_factory.mktemp("full")))


def test_training_lowers_held_out_loss(full_run: Any) -> None:
    steps = [step for step, _ in full_run.eval_losses]
    assert steps == [0, 3, 6]
    losses = [loss for _, loss in full_run.eval_losses]
    assert losses == sorted(losses, reverse=True), losses
    assert losses[-1] < losses[0] - 0.3, losses  # a random model starts near ln(vocab) = 7.6


def test_saved_directory_reloads_with_the_same_logits(full_run: Any, tokenizer: Any) -> None:
    out = full_run.output_dir
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(out)
    assert torch.allclose(logits(reloaded, tokenizer), logits(full_run.model, tokenizer), atol=1e-6)
    assert AutoTokenizer.from_pretrained(out).chat_template == tokenizer.chat_template  # unchanged


def test_every_parameter_changed(full_run: Any, tiny_model_dir: Path) -> None:
    before = dict(AutoModelForCausalLM.from_pretrained(tiny_model_dir).named_parameters())
    after = dict(full_run.model.named_parameters())
    assert before.keys() == after.keys()
    unchanged = [name for name, p in after.items() if torch.equal(p.detach(), before[name])]
    assert unchanged == []


def test_manifest_records_data_config_and_progress(full_run: Any, data_files: tuple[Path, Path]) -> None:
    manifest = json.loads((full_run.output_dir / MANIFEST_NAME).read_text())
    assert manifest["data"]["train"]["sha256"] == hashlib.sha256(data_files[0].read_bytes()).hexdigest()
    assert manifest["data"]["train"]["examples"] == 240
    assert manifest["config"]["learning_rate"] == 3e-3 and manifest["config"]["adam_beta2"] == 0.95
    assert manifest["steps"] == 6 and manifest["start_step"] == 0
    assert manifest["tokens_seen"] == full_run.tokens_seen > 6 * 4 * 50
    assert manifest["eval_losses"] == [list(x) for x in full_run.eval_losses]
    assert set(manifest["git"]) == {"revision", "dirty"}
    assert manifest["mixed_precision"] == "no"  # fp32 on CPU


def test_resume_continues_where_it_stopped(
    tiny_model_dir: Path, data_files: tuple[Path, Path], tmp_path: Path
) -> None:
    def run(out: str, **overrides: Any) -> Any:
        return train(
            make_config(tiny_model_dir, data_files, tmp_path / out, batch_size=2, eval_every=0, **overrides)
        )

    straight = run("a", max_steps=4)
    first = run("b", max_steps=2, save_every=2)
    assert [p.name for p in (tmp_path / "b" / "checkpoints").iterdir()] == ["step-0000002"]
    resumed = run("b", max_steps=4, save_every=2, resume_from="latest")
    assert (first.steps, resumed.start_step, resumed.steps) == (2, 2, 4)
    assert resumed.tokens_seen == straight.tokens_seen
    for (name, p), q in zip(straight.model.named_parameters(), resumed.model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name
    # equal weights also show the optimizer state came back: fresh Adam moments would move them elsewhere
    assert [p.name for p in (tmp_path / "b" / "checkpoints").iterdir()] == ["step-0000004"]  # newest only
    other = save_jsonl(tmp_path / "other.jsonl", load_jsonl(data_files[0])[:40])
    with pytest.raises(ValueError, match="trained on other data"):
        train(make_config(tiny_model_dir, (other, data_files[1]), tmp_path / "b", resume_from="latest"))


def test_lora_trains_only_the_adapter(
    tiny_model_dir: Path, data_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from accelerate.utils import set_seed
    from peft import LoraConfig, PeftModel, get_peft_model

    result = train(
        make_config(tiny_model_dir, data_files, tmp_path, lora=True, lora_dropout=0.0, max_steps=2)
    )
    base = dict(AutoModelForCausalLM.from_pretrained(tiny_model_dir).named_parameters())
    trainable = {n: p for n, p in result.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # the adapter as initialised: same seed, same order of random draws as in train()
    set_seed(0)
    initial = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    initial_params = dict(initial.named_parameters())
    for name, p in result.model.named_parameters():
        if p.requires_grad:
            assert not torch.equal(p, initial_params[name]), name
        else:
            original = name.removeprefix("base_model.model.").replace(".base_layer", "")
            assert torch.equal(p, base[original]), name
    assert (tmp_path / "adapter_config.json").is_file() and (tmp_path / "adapter_model.safetensors").is_file()
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert torch.allclose(logits(reloaded, tokenizer), logits(result.model, tokenizer), atol=1e-6)


def test_supplied_chat_template_is_saved_and_ends_generation(
    pairs: list[dict[str, str]], data_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """A base model without a template (like Gemma 3 270M) trained with --chat-template gemma."""
    tokenizer = build_tiny_tokenizer((p["instruction"] for p in pairs[:100]), vocab_size=600, style="gemma")
    model_dir = tmp_path / "base"
    build_tiny_model(tokenizer).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    (model_dir / "NOTICE.md").write_text("Gemma is provided under the Gemma Terms of Use.")
    out = tmp_path / "out"
    result = train(
        make_config(model_dir, data_files, out, chat_template="gemma", learning_rate=None, max_steps=1)
    )
    assert json.loads((out / "tokenizer_config.json").read_text())["chat_template"] == GEMMA_CHAT_TEMPLATE
    assert AutoTokenizer.from_pretrained(out).chat_template == GEMMA_CHAT_TEMPLATE
    eos = json.loads((out / "generation_config.json").read_text())["eos_token_id"]
    assert sorted(eos) == sorted([tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")])
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["config"]["learning_rate"] == 1e-5  # the tiny model is a Qwen2
    assert result.steps == 1
    assert (out / "NOTICE.md").read_text() == "Gemma is provided under the Gemma Terms of Use."


def test_block_mask_attention_trains_like_position_ids(
    tiny_model_dir: Path, data_files: tuple[Path, Path], tmp_path: Path
) -> None:
    runs = [
        train(make_config(tiny_model_dir, data_files, tmp_path / a, attention=a, max_steps=1, eval_every=0))
        for a in ("position_ids", "block_mask")
    ]
    assert runs[0].eval_losses[-1][1] == pytest.approx(runs[1].eval_losses[-1][1], abs=1e-5)
    for p, q in zip(runs[0].model.parameters(), runs[1].model.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)


def test_default_learning_rate_by_family() -> None:
    assert default_learning_rate("qwen2") == 1e-5
    assert default_learning_rate("gemma3_text") == 1e-6
    assert default_learning_rate("falcon") == 1e-6
    with pytest.raises(ValueError, match="pass one explicitly"):
        default_learning_rate("llama")


def test_bad_inputs_fail_clearly(tiny_model_dir: Path, data_files: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no config.json"):
        train(make_config(tmp_path / "nowhere", data_files, tmp_path / "o"))
    with pytest.raises(FileNotFoundError, match="not found"):
        train(make_config(tiny_model_dir, (tmp_path / "missing.jsonl", data_files[1]), tmp_path / "o"))
    empty = save_jsonl(tmp_path / "empty.jsonl", [])
    with pytest.raises(ValueError, match="no usable examples"):
        train(make_config(tiny_model_dir, (empty, data_files[1]), tmp_path / "o"))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(make_config(tiny_model_dir, data_files, tmp_path / "o", resume_from="latest"))
    with pytest.raises(ValueError, match="multiple of micro_batch_size"):
        make_config(tiny_model_dir, data_files, tmp_path / "o", batch_size=6, micro_batch_size=4)
