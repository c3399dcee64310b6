"""Per-document attention: a packed row behaves exactly like its documents run one by one."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from train.collator import PackedCollator
from train.formatting import IGNORE_INDEX, Example, to_messages, tokenize_messages
from train.packing import PackedRow
from train.tiny import build_tiny_model
from train.trainer import token_losses

MODES = [("sdpa", "position_ids"), ("eager", "position_ids"), ("sdpa", "block_mask"), ("eager", "block_mask")]


@pytest.fixture(scope="module")
def documents(tokenizer: Any, pairs: list[dict[str, str]]) -> list[Example]:
    short = [{"instruction": p["instruction"][-300:], "output": p["output"]} for p in pairs[:3]]
    return [tokenize_messages(to_messages(r), tokenizer) for r in short]


def model_with(tokenizer: Any, attn_implementation: str) -> Any:
    model = build_tiny_model(tokenizer, seed=1)
    model.set_attn_implementation(attn_implementation)
    return model.eval()


def packed_batch(documents: list[Example], pad_token_id: int) -> dict[str, torch.Tensor]:
    row = PackedRow(
        input_ids=[t for d in documents for t in d.input_ids],
        labels=[t for d in documents for t in [IGNORE_INDEX, *d.labels[1:]]],
        position_ids=[p for d in documents for p in range(len(d))],
        seq_lens=[len(d) for d in documents],
    )
    return PackedCollator(pad_token_id, pad_to_multiple_of=64)([row])  # with padding at the end


def alone(document: Example) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.tensor([document.input_ids]),
        "labels": torch.tensor([document.labels]),
        "position_ids": torch.arange(len(document))[None],
    }


@pytest.mark.parametrize("attn_implementation, attention", MODES)
def test_packed_loss_equals_loss_of_each_document_alone(
    tokenizer: Any, documents: list[Example], attn_implementation: str, attention: str
) -> None:
    model = model_with(tokenizer, attn_implementation)
    batch = packed_batch(documents, tokenizer.pad_token_id)
    assert batch["input_ids"].shape[1] > sum(len(d) for d in documents)  # padding present
    with torch.no_grad():
        packed = token_losses(model, batch, attention)[0]
        start = 0
        for document in documents:
            single = token_losses(model, alone(document), attention)[0]
            # loss at position t predicts token t + 1; both sides cover the same targets
            span = packed[start : start + len(document) - 1]
            assert torch.allclose(span, single, atol=1e-5, rtol=0)
            assert (single > 0).sum() == sum(label != IGNORE_INDEX for label in document.labels[1:])
            start += len(document)
            # the last token of a document never learns the next document's first token
            assert packed[start - 1] == 0
        assert torch.all(packed[start - 1 :] == 0)  # nor the padding


def test_without_restarting_positions_documents_would_leak(tokenizer: Any, documents: list[Example]) -> None:
    """Control for the test above: with plain causal attention the second document changes."""
    model = model_with(tokenizer, "sdpa")
    batch = packed_batch(documents, tokenizer.pad_token_id)
    leaky = dict(batch, position_ids=torch.arange(batch["input_ids"].shape[1])[None])
    with torch.no_grad():
        packed = token_losses(model, leaky)[0]
        single = token_losses(model, alone(documents[1]))[0]
    first = len(documents[0])
    assert (packed[first : first + len(documents[1]) - 1] - single).abs().max() > 1e-3


@pytest.mark.parametrize("attn_implementation, attention", MODES)
def test_loss_of_one_document_has_zero_gradient_on_another(
    tokenizer: Any, documents: list[Example], attn_implementation: str, attention: str
) -> None:
    model = model_with(tokenizer, attn_implementation)
    b, a = documents[0], documents[1]  # document A comes after B, so causal attention alone would leak
    batch = packed_batch([b, a], tokenizer.pad_token_id)
    embeds = model.get_input_embeddings()(batch.pop("input_ids")).detach().requires_grad_(True)
    losses = token_losses(model, {**batch, "inputs_embeds": embeds}, attention)[0]
    losses[len(b) : len(b) + len(a) - 1].sum().backward()  # loss of document A only
    assert embeds.grad is not None
    assert torch.count_nonzero(embeds.grad[0, : len(b)]) == 0  # exactly zero on B
    assert torch.count_nonzero(embeds.grad[0, len(b) : len(b) + len(a)]) > 0

    # control: with plain causal attention the same loss does reach B
    embeds.grad = None
    leaky = {**batch, "inputs_embeds": embeds, "position_ids": torch.arange(embeds.shape[1])[None]}
    token_losses(model, leaky, "position_ids")[0][len(b) : len(b) + len(a) - 1].sum().backward()
    assert torch.count_nonzero(embeds.grad[0, : len(b)]) > 0
