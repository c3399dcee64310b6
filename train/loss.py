"""Cross-entropy on response tokens only, without ever building the full logits.

A packed row of 512 tokens over Gemma 3's 262k vocabulary is 0.5 GiB of fp32
logits, most of them at prompt positions whose loss is masked anyway. Here the
model body runs once for the final hidden states; the LM head (with any final
logit soft-capping) and the cross-entropy then run only on the positions whose
next-token label is a target, ``LOSS_CHUNK`` rows at a time, each chunk
checkpointed so that its logits are freed after the forward and recomputed in
the backward. The peak is one chunk's logits, whatever the batch and length.

The body runs inside the model's own forward (the head applied to no position,
``logits_to_keep`` empty) and a forward hook on the decoder picks up its
output: a DDP wrapper thus sees the call and synchronises gradients as usual.
Under FSDP the head's weights are sharded outside the forward, so the trainer
asks for the full-logits path there (``chunk_size=None``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from train.formatting import IGNORE_INDEX
from train.packing import block_causal_mask

LOSS_CHUNK = 1024  # target rows per head chunk: 1024 x 262k fp32 logits = 1 GiB at most


def token_losses(
    model: Any,
    batch: dict[str, torch.Tensor],
    attention: str = "position_ids",
    chunk_size: int | None = LOSS_CHUNK,
) -> torch.Tensor:
    """Per-token cross-entropy, shape (batch, length - 1); 0 where the label is -100.

    ``batch`` holds ``input_ids`` (or ``inputs_embeds``), ``labels``, and either
    restarting ``position_ids`` (packed) or an ``attention_mask`` (padded).
    ``chunk_size`` None computes the full logits (the plain path, for FSDP).
    """
    inputs = model_inputs(model, batch, attention)
    targets = batch["labels"][:, 1:]
    if chunk_size is None:
        logits = model(**inputs).logits.float()
        return F.cross_entropy(
            logits[:, :-1].transpose(1, 2), targets, ignore_index=IGNORE_INDEX, reduction="none"
        )
    hidden = final_hidden_states(model, inputs)[:, :-1]  # (batch, length - 1, hidden)
    selected = targets != IGNORE_INDEX
    head = _unwrap(model).get_output_embeddings()
    softcap = getattr(_unwrap(model).config.get_text_config(), "final_logit_softcapping", None)
    rows, labels = hidden[selected], targets[selected]  # (n_targets, hidden), (n_targets,)
    pieces = []
    for start in range(0, len(rows), chunk_size):
        args = (rows[start : start + chunk_size], labels[start : start + chunk_size], head, softcap)
        if torch.is_grad_enabled():
            pieces.append(checkpoint(_head_cross_entropy, *args, use_reentrant=False))
        else:
            pieces.append(_head_cross_entropy(*args))
    losses = torch.zeros(targets.shape, dtype=torch.float32, device=hidden.device)
    if pieces:
        losses = losses.masked_scatter(selected, torch.cat(pieces))
    return losses


def count_targets(batch: dict[str, torch.Tensor]) -> int:
    return int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())


def model_inputs(model: Any, batch: dict[str, torch.Tensor], attention: str) -> dict[str, Any]:
    """The forward's keyword arguments for a packed or padded batch (labels left out)."""
    inputs: dict[str, Any] = {k: batch[k] for k in ("input_ids", "inputs_embeds") if k in batch}
    if "attention_mask" in batch:
        inputs["attention_mask"] = batch["attention_mask"]
    else:
        position_ids = batch["position_ids"]
        inputs["position_ids"] = position_ids
        if attention == "block_mask":  # the weights' dtype; sdpa and eager also take it under autocast
            inputs["attention_mask"] = block_causal_mask(position_ids, next(model.parameters()).dtype)
    # use_cache=False matters: with a cache transformers ignores the packed position ids
    inputs["use_cache"] = False
    return inputs


def final_hidden_states(model: Any, inputs: dict[str, Any]) -> torch.Tensor:
    """The decoder's output after its final norm, shape (batch, length, hidden)."""
    captured: list[torch.Tensor] = []

    def keep(module: Any, args: Any, output: Any) -> None:
        captured.append(output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0])

    handle = _unwrap(model).get_decoder().register_forward_hook(keep)
    try:
        no_position = torch.empty(0, dtype=torch.long, device=_device(model))
        model(**inputs, logits_to_keep=no_position)
    finally:
        handle.remove()
    if len(captured) != 1:
        raise RuntimeError(f"expected one decoder call, saw {len(captured)}")
    return captured[0]


def _head_cross_entropy(
    rows: torch.Tensor, labels: torch.Tensor, head: torch.nn.Module, softcap: float | None
) -> torch.Tensor:
    logits = head(rows)
    if softcap is not None:  # as the model's own forward does (Gemma 2)
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits.float(), labels, reduction="none")


def _unwrap(model: Any) -> Any:
    """The module under a DDP wrapper (a PeftModel or a transformers model)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device
