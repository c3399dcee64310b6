"""The chunked response-only loss equals the full-logits loss, values and gradients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

from train.collator import PackedCollator
from train.formatting import IGNORE_INDEX, to_messages, tokenize_messages
from train.loss import token_losses
from train.packing import pack_examples


def full_logits_losses(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The old path, kept as the reference: logits at every position, then masked cross-entropy."""
    logits = model(
        input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
    ).logits.float()
    return F.cross_entropy(
        logits[:, :-1].transpose(1, 2), batch["labels"][:, 1:], ignore_index=IGNORE_INDEX, reduction="none"
    )


@pytest.fixture(scope="module")
def batch(tokenizer: Any, pairs: list[dict[str, str]]) -> dict[str, torch.Tensor]:
    examples = [
        tokenize_messages(
            to_messages({"instruction": p["instruction"][-200:], "output": p["output"]}), tokenizer
        )
        for p in pairs[:12]
    ]
    rows = pack_examples(examples, 256)[:2]
    return PackedCollator(pad_token_id=tokenizer.pad_token_id)(rows)


def gradients(model: Any, losses: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gradients of the mean target loss as the trainer forms it, with uneven weights per position."""
    model.zero_grad(set_to_none=True)
    weights = torch.linspace(0.5, 1.5, losses.numel()).view_as(losses)
    n_targets = int((losses != 0).sum())
    ((losses * weights).sum() / n_targets).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("chunk_size", [1024, 7])
@pytest.mark.parametrize("softcap", [None, 2.0])
@pytest.mark.parametrize("frozen_head", [False, True], ids=["trained-head", "frozen-head"])
def test_chunked_loss_matches_full_logits(
    tiny_model_dir: Path,
    batch: dict[str, torch.Tensor],
    chunk_size: int,
    softcap: float | None,
    frozen_head: bool,
) -> None:
    """Both head paths: checkpointed chunks (the head trains) and row gradients formed in the forward (LoRA)."""
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.lm_head.weight.requires_grad_(not frozen_head)  # tied: the input embeddings freeze with it
    # Qwen2's own forward ignores the cap (Gemma 2's applies it); the reference below applies it by hand
    model.config.final_logit_softcapping = softcap
    reference = (
        full_logits_losses(model, batch) if softcap is None else softcapped_losses(model, batch, softcap)
    )
    chunked = token_losses(model, batch, chunk_size=chunk_size)
    assert chunked.shape == reference.shape == batch["labels"][:, 1:].shape
    targets = batch["labels"][:, 1:] != IGNORE_INDEX
    assert 0 < int(targets.sum()) < targets.numel()  # both prompt and response positions present
    assert torch.allclose(chunked, reference, atol=1e-5, rtol=0)
    assert torch.equal(chunked[~targets], torch.zeros_like(chunked[~targets]))
    expected, got = gradients(model, reference), gradients(model, chunked)
    assert expected.keys() == got.keys()
    assert len(got) == len(list(model.parameters())) - frozen_head
    for name, grad in expected.items():
        assert torch.allclose(got[name], grad, atol=1e-5, rtol=0), name


def softcapped_losses(model: Any, batch: dict[str, torch.Tensor], cap: float) -> torch.Tensor:
    """The reference with Gemma-style final logit soft-capping applied to the full logits."""
    hidden = model.model(
        input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
    ).last_hidden_state
    logits = torch.tanh(model.lm_head(hidden) / cap) * cap
    return F.cross_entropy(
        logits[:, :-1].transpose(1, 2).float(),
        batch["labels"][:, 1:],
        ignore_index=IGNORE_INDEX,
        reduction="none",
    )


def test_no_gradient_mode_and_lora_gradients(tiny_model_dir: Path, batch: dict[str, torch.Tensor]) -> None:
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    with torch.no_grad():
        reference = full_logits_losses(model, batch)
        assert torch.allclose(token_losses(model, batch, chunk_size=64), reference, atol=1e-5, rtol=0)
    assert torch.allclose(token_losses(model, batch, chunk_size=None), reference, atol=1e-6, rtol=0)
    # with grad: the LoRA head is frozen, so the row gradients are formed in the forward
    expected, got = (
        gradients(model, full_logits_losses(model, batch)),
        gradients(model, token_losses(model, batch)),
    )
    assert got.keys() == expected.keys() and got and all("lora_" in name for name in got)
    for name, grad in expected.items():
        assert torch.allclose(got[name], grad, atol=1e-5, rtol=0), name
