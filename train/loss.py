"""Cross-entropy on response tokens only, without ever building the full logits.

A packed row of 512 tokens over Gemma 3's 262k vocabulary is 0.5 GiB of fp32
logits, most of them at prompt positions whose loss is masked anyway. Here the
model body runs once for the final hidden states; the LM head (with any final
logit soft-capping) and the cross-entropy then run only on the positions whose
next-token label is a target, ``LOSS_CHUNK`` rows at a time. The peak is one
chunk's logits, whatever the batch and length:
- a head that takes no gradient (LoRA): each chunk's gradient with respect to
  its rows is formed in the forward, right after its loss, so the logits are
  built once (two head matmuls per target row, none recomputed);
- a head that is trained (full fine-tuning, tied embeddings): each chunk is
  checkpointed, its logits freed after the forward and recomputed in the backward.

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

LOSS_CHUNK = 512  # target rows per head chunk: 512 x 262k fp32 logits = 0.5 GiB at most


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
    frozen = type(head) is torch.nn.Linear and not any(p.requires_grad for p in head.parameters())
    if frozen and torch.is_grad_enabled() and len(rows):
        per_row = _FrozenHeadCrossEntropy.apply(rows, labels, head.weight, head.bias, softcap, chunk_size)
    else:
        pieces = []
        for start in range(0, len(rows), chunk_size):
            args = (rows[start : start + chunk_size], labels[start : start + chunk_size], head, softcap)
            if torch.is_grad_enabled():
                pieces.append(checkpoint(_head_cross_entropy, *args, use_reentrant=False))
            else:
                pieces.append(_head_cross_entropy(*args))
        per_row = torch.cat(pieces) if pieces else rows.new_zeros(0, dtype=torch.float32)
    # masked_scatter keeps the graph connected even when no position is a target
    return torch.zeros(targets.shape, dtype=torch.float32, device=hidden.device).masked_scatter(
        selected, per_row
    )


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


class _FrozenHeadCrossEntropy(torch.autograd.Function):
    """Per-row cross-entropy through a fixed head, its row gradients formed in the forward.

    The gradient of row i's loss with respect to row i is ``(softmax(z_i) - onehot(y_i)) @ W``
    (times the soft-cap's derivative), whatever weight the caller later gives that loss; the
    backward only scales it by that weight. Shapes: rows (n, hidden), labels (n,) -> (n,).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        rows: torch.Tensor,
        labels: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        softcap: float | None,
        chunk_size: int,
    ) -> torch.Tensor:
        losses, grads = [], []
        for start in range(0, len(rows), chunk_size):
            x, y = rows[start : start + chunk_size], labels[start : start + chunk_size]
            logits = F.linear(x, weight, bias)
            if softcap is not None:
                capped = torch.tanh(logits / softcap)
                logits = capped * softcap
            logits = logits.float()
            log_z = torch.logsumexp(logits, dim=-1)
            losses.append(log_z - logits.gather(1, y[:, None]).squeeze(1))
            grad_logits = logits.sub_(log_z[:, None]).exp_()  # softmax, in place of the logits
            grad_logits[torch.arange(len(y), device=y.device), y] -= 1.0
            if softcap is not None:
                grad_logits.mul_(1 - capped.float().square())
            grads.append(torch.matmul(grad_logits.to(weight.dtype), weight).to(rows.dtype))
        ctx.save_for_backward(torch.cat(grads))
        return torch.cat(losses)

    @staticmethod
    def backward(ctx: Any, grad_losses: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        (grad_rows,) = ctx.saved_tensors
        return grad_losses[:, None].to(grad_rows.dtype) * grad_rows, None, None, None, None, None


def _unwrap(model: Any) -> Any:
    """The module under a DDP wrapper (a PeftModel or a transformers model)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device
