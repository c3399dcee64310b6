"""Fine-tune a causal LM on instruction data, the seed paper's way.

Packed rows with per-document causal attention, loss on response tokens only
(the LM head runs only there, in chunks: train/loss.py), AdamW at a constant
learning rate, gradient accumulation to the batch size, clipping; periodic
held-out loss, checkpoints with resume, and at the end a standard Hugging Face
directory (or a LoRA adapter) with run_manifest.json, renamed into place only
once complete (train/checkpoints.py).

Run (one device; CPU uses fp32, a GPU bf16): LoRA on the embedded Gemma 3 270M, into the
adapter directory that configs/models.yaml serves as gemma-3-270m-kk:
    kazarena train --model ~/.cache/kazarena/models/gemma-3-270m --chat-template gemma --lora \
        --data data/ift/train.jsonl --eval-data data/ift/test.jsonl --seq-len 512 --lr 2e-4 \
        --batch-size 2 --max-steps 14 --eval-every 7 --save-every 0 --out data/adapters/gemma-3-270m-kk
Several GPUs with FSDP:
    accelerate launch --config_file configs/accelerate_fsdp.yaml -m app.cli.train --model ... --data ...
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from train.checkpoints import (
    STATE_NAME,
    base_model_fingerprint,
    check_resume,
    discard_staging,
    find_checkpoint,
    publish,
    save_checkpoint,
    staging_dir,
    start_staging,
)
from train.collator import PackedCollator
from train.config import TrainConfig, default_learning_rate
from train.formatting import CHAT_TEMPLATES, IGNORE_INDEX, read_records, tokenize_records
from train.loss import LOSS_CHUNK, count_targets, token_losses
from train.manifest import copy_notices, git_revision, versions
from train.mixture import file_info, load_mixture
from train.packing import PackedRow, pack_examples, packing_efficiency

logger = logging.getLogger(__name__)

MANIFEST_NAME = "run_manifest.json"
__all__ = ["MANIFEST_NAME", "TrainResult", "count_targets", "token_losses", "train"]


@dataclass(frozen=True)
class TrainResult:
    output_dir: Path
    start_step: int  # 0 for a fresh run, the checkpoint's step when resumed
    steps: int
    tokens_seen: int
    train_loss: float | None  # mean token loss of the last step
    eval_losses: list[tuple[int, float]]  # (step, held-out loss per response token)
    model: Any = field(repr=False)  # the trained model, unwrapped (a PeftModel with --lora)


# -----------------------------------------------------------------------------
# helpers: loading, data order, evaluation, checkpoints, provenance


def load_model_and_tokenizer(config: TrainConfig) -> tuple[Any, Any, str | None]:
    """The model in fp32 (bf16 happens in autocast) and its tokenizer; returns a stop token
    when a chat template was supplied, so that generation stops at the end of a turn."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not Path(config.model, "config.json").is_file():
        raise FileNotFoundError(f"model directory {config.model!r} has no config.json")
    tokenizer = AutoTokenizer.from_pretrained(config.model)
    model = AutoModelForCausalLM.from_pretrained(config.model, dtype=torch.float32)
    stop_token = None
    if config.chat_template is not None:
        if config.chat_template in CHAT_TEMPLATES:
            template, stop_token = CHAT_TEMPLATES[config.chat_template]
        elif Path(config.chat_template).is_file():
            template = Path(config.chat_template).read_text(encoding="utf-8")
        else:
            raise ValueError(
                f"chat template {config.chat_template!r} is neither one of "
                f"{sorted(CHAT_TEMPLATES)} nor a file"
            )
        if tokenizer.chat_template:
            logger.warning("replacing the tokenizer's own chat template with %s", config.chat_template)
        tokenizer.chat_template = template
    return model, tokenizer, stop_token


def prepare_rows(
    records: list[dict[str, Any]], tokenizer: Any, seq_length: int, label: str
) -> tuple[list[PackedRow], dict[str, Any]]:
    """Tokenize and pack records (already checked); returns the rows and their statistics."""
    examples, truncated, dropped = tokenize_records(records, tokenizer, seq_length)
    if not examples:
        raise ValueError(f"no usable examples in {label!r} ({len(records)} records)")
    rows = pack_examples(examples, seq_length)
    info = {
        "records": len(records),
        "examples": len(examples),
        "truncated": truncated,
        "dropped": dropped,
        "tokens": sum(len(e) for e in examples),
        "target_tokens": sum(sum(label != IGNORE_INDEX for label in r.labels) for r in rows),
        "rows": len(rows),
        "packing_efficiency": packing_efficiency(rows, seq_length),
    }
    return rows, info


def step_rows(rows: list[PackedRow], step: int, batch_size: int, seed: int) -> list[PackedRow]:
    """The ``batch_size`` rows of optimizer step ``step`` (0-based).

    The rows form an endless stream, each epoch a fresh permutation seeded by
    ``seed + epoch``, so a resumed run sees exactly the rows it would have seen.
    """
    n = len(rows)
    chosen, permutations = [], {}
    for i in range(step * batch_size, (step + 1) * batch_size):
        epoch = i // n
        if epoch not in permutations:
            generator = torch.Generator().manual_seed(seed + epoch)
            permutations[epoch] = torch.randperm(n, generator=generator).tolist()
        chosen.append(rows[permutations[epoch][i % n]])
    return chosen


@torch.no_grad()
def evaluate(
    model: Any,
    rows: list[PackedRow],
    collator: PackedCollator,
    accelerator: Any,
    config: TrainConfig,
    chunk: int | None,
) -> float:
    """Held-out loss per response token, over all processes."""
    model.eval()
    world, mb = accelerator.num_processes, config.micro_batch_size
    local = rows[accelerator.process_index :: world]
    # every process must run the same number of forwards (FSDP gathers weights in each)
    n_batches = math.ceil(len(rows) / (world * mb))
    empty = PackedRow([collator.pad_token_id], [IGNORE_INDEX], [0], [1])
    local += [empty] * (n_batches * mb - len(local))
    total = torch.zeros(2, device=accelerator.device)  # loss sum, target count
    for i in range(0, len(local), mb):
        batch = {k: v.to(accelerator.device) for k, v in collator(local[i : i + mb]).items()}
        with accelerator.autocast():
            total[0] += token_losses(model, batch, config.attention, chunk).sum()
        total[1] += count_targets(batch)
    total = accelerator.reduce(total, reduction="sum")
    model.train()
    return float(total[0] / total[1])


def save_final(
    accelerator: Any, model: Any, tokenizer: Any, config: TrainConfig, stop_token: str | None, out: Path
) -> None:
    """A standard HF directory in ``out``: safetensors weights (or the LoRA adapter) and the tokenizer."""
    state_dict = accelerator.get_state_dict(model)  # gathers FSDP shards; every process must call it
    if not accelerator.is_main_process:
        return
    unwrapped = accelerator.unwrap_model(model)
    if stop_token is not None and not config.lora:
        # a base model's generation config stops only at EOS; the chat format ends turns earlier
        stop_id = tokenizer.convert_tokens_to_ids(stop_token)
        eos = unwrapped.generation_config.eos_token_id
        eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
        unwrapped.generation_config.eos_token_id = sorted({*eos, stop_id})
    unwrapped.save_pretrained(out, state_dict=state_dict)
    # a supplied template goes into tokenizer_config.json, where every reader looks for it
    tokenizer.save_pretrained(out, save_jinja_files=config.chat_template is None)
    copy_notices(Path(config.model), out)


# -----------------------------------------------------------------------------
# the training run


def train(config: TrainConfig) -> TrainResult:
    from accelerate import Accelerator
    from accelerate.utils import DistributedType, set_seed
    from tqdm.auto import tqdm

    started = time.time()
    use_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    accelerator = Accelerator(mixed_precision="bf16" if use_bf16 else "no")
    world = accelerator.num_processes
    if config.batch_size % (config.micro_batch_size * world):
        raise ValueError(
            f"batch_size {config.batch_size} must be a multiple of micro_batch_size x processes "
            f"({config.micro_batch_size} x {world})"
        )
    set_seed(config.seed)
    # FSDP shards the head's weights outside the forward, so there the loss takes the full logits
    chunk = None if accelerator.distributed_type == DistributedType.FSDP else LOSS_CHUNK

    # model, tokenizer, optional LoRA ----------------------------------------
    model, tokenizer, stop_token = load_model_and_tokenizer(config)
    lr = config.learning_rate or default_learning_rate(model.config.model_type)
    config = replace(config, learning_rate=lr)  # checkpoints and the manifest record what was used
    base_model = base_model_fingerprint(config.model) if config.lora else None
    if config.lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)

    # data: every record checked before anything is tokenized or written --------
    records, mixture = load_mixture(config.data, config.mix, config.seed)
    train_rows, stats = prepare_rows(records, tokenizer, config.max_seq_length, config.data)
    ours = mixture["sources"]["ours"]
    train_info = {"path": ours["path"], "sha256": ours["sha256"], **stats, "mixture": mixture}
    eval_rows, eval_info = [], None
    if config.eval_data:
        if not Path(config.eval_data).is_file():
            raise FileNotFoundError(f"eval data file {config.eval_data!r} not found")
        eval_records = read_records(config.eval_data)
        eval_rows, stats = prepare_rows(eval_records, tokenizer, config.max_seq_length, config.eval_data)
        eval_info = {**file_info(config.eval_data, len(eval_records)), **stats}
    data_files = {s["path"]: s["sha256"] for s in [*mixture["sources"].values(), eval_info] if s}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    collator = PackedCollator(pad_token_id=pad_id)
    total_steps = config.max_steps or math.ceil(config.epochs * len(train_rows) / config.batch_size)

    # resume: refused unless it continues the checkpoint's own run -------------
    checkpoint, state = None, {}
    if config.resume_from:
        checkpoint = find_checkpoint(config)
        state = json.loads(Path(checkpoint, STATE_NAME).read_text())
        check_resume(checkpoint, state, config, train_info["sha256"])
    logger.info(
        "%d training rows (%.1f%% full), %d steps of %d rows, lr %g",
        len(train_rows),
        100 * train_info["packing_efficiency"],
        total_steps,
        config.batch_size,
        lr,
    )

    # optimizer: weight decay on matrices only, as is usual for transformers --
    model = accelerator.prepare(model)  # before the optimizer, as FSDP requires
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(
        groups, lr=lr, betas=(config.adam_beta1, config.adam_beta2), eps=config.adam_eps
    )
    optimizer = accelerator.prepare(optimizer)

    step, tokens_seen, train_loss = state.get("step", 0), state.get("tokens_seen", 0), state.get("train_loss")
    eval_losses = [tuple(x) for x in state.get("eval_losses", [])]
    loss_curve: list[dict[str, Any]] = state.get("loss_curve", [])
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        logger.info("resumed from %s at step %d", checkpoint, step)
    start_step, start_tokens, earlier_wall = step, tokens_seen, state.get("wall_seconds", 0.0)

    # the loop, writing into the staging directory -----------------------------
    output_dir, staging = Path(config.output_dir), staging_dir(config.output_dir)
    with _staged(accelerator, staging, checkpoint):
        if eval_rows and step == 0:
            eval_losses.append((0, evaluate(model, eval_rows, collator, accelerator, config, chunk)))
        model.train()
        progress = tqdm(
            total=total_steps,
            initial=step,
            desc="train",
            unit="step",
            disable=not accelerator.is_main_process,
        )
        loop_started = time.time()
        while step < total_steps:
            t0, cpu0 = time.time(), time.process_time()
            rows = step_rows(train_rows, step, config.batch_size, config.seed)[
                accelerator.process_index :: world
            ]
            micro = [
                collator(rows[i : i + config.micro_batch_size])
                for i in range(0, len(rows), config.micro_batch_size)
            ]
            # normalise by the response tokens of the whole step, so every token weighs the same
            # however the rows fall into micro-batches and processes
            counts = torch.tensor(
                [sum(count_targets(b) for b in micro), sum(len(r) for r in rows)], device=accelerator.device
            )
            n_targets, n_tokens = accelerator.reduce(counts, reduction="sum").tolist()
            loss_sum = 0.0
            for i, batch in enumerate(micro):
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                last = i == len(micro) - 1
                with contextlib.nullcontext() if last else accelerator.no_sync(model), accelerator.autocast():
                    loss = token_losses(model, batch, config.attention, chunk).sum()
                    accelerator.backward(loss * world / max(n_targets, 1))  # DDP/FSDP average over processes
                loss_sum += loss.item()  # note: a CPU-GPU sync point, once per micro-batch
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens_seen += int(n_tokens)
            loss_total = accelerator.reduce(torch.tensor([loss_sum], device=accelerator.device))
            train_loss = float(loss_total) / max(n_targets, 1)
            # the step itself (no eval, no checkpoint), in wall-clock and in CPU seconds of all threads
            timing = {
                "seconds": round(time.time() - t0, 3),
                "cpu_seconds": round(time.process_time() - cpu0, 3),
            }
            loss_curve.append({"step": step, "loss": train_loss, "tokens": tokens_seen, **timing})
            postfix = {
                "loss": f"{train_loss:.4f}",
                "grad": f"{float(grad_norm):.2f}",
                "tok/s": f"{(tokens_seen - start_tokens) / (time.time() - loop_started):.0f}",
            }
            if eval_rows and ((config.eval_every and step % config.eval_every == 0) or step == total_steps):
                eval_losses.append((step, evaluate(model, eval_rows, collator, accelerator, config, chunk)))
                postfix["eval"] = f"{eval_losses[-1][1]:.4f}"
            progress.set_postfix(postfix)
            progress.update(1)
            if config.save_every and (step % config.save_every == 0 or step == total_steps):
                state = {
                    "step": step,
                    "tokens_seen": tokens_seen,
                    "data_sha256": train_info["sha256"],
                    "train_loss": train_loss,
                    "eval_losses": eval_losses,
                    "loss_curve": loss_curve,
                    "wall_seconds": earlier_wall + time.time() - started,
                    "config": config.to_dict(),
                    "base_model": base_model,
                }
                save_checkpoint(accelerator, staging, state)
        progress.close()

        # the final directory: weights or adapter, tokenizer, manifest ------------
        save_final(accelerator, model, tokenizer, config, stop_token, staging)
        if accelerator.is_main_process:
            wall = time.time() - started
            manifest = {
                "command": sys.argv,
                "config": config.to_dict(),
                "seed": config.seed,
                "data": {"train": train_info, "eval": eval_info},
                "data_files": data_files,  # path -> sha256 of every file the run read
                "base_model": base_model,
                "git": git_revision(),
                "versions": versions(),
                "device": str(accelerator.device),
                "processes": world,
                "mixed_precision": accelerator.mixed_precision,
                "loss_chunk": chunk,
                "start_step": start_step,
                "steps": step,
                "tokens_seen": tokens_seen,
                "train_loss": train_loss,
                "loss_curve": loss_curve,
                "eval_losses": eval_losses,
                "wall_seconds": round(wall, 1),  # this run; with the resumed ones before it:
                "wall_seconds_total": round(earlier_wall + wall, 1),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            Path(staging, MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            publish(staging, output_dir)
        accelerator.wait_for_everyone()
    return TrainResult(
        output_dir,
        start_step,
        step,
        tokens_seen,
        train_loss,
        eval_losses,
        accelerator.unwrap_model(model),
    )


@contextlib.contextmanager
def _staged(accelerator: Any, staging: Path, checkpoint: Path | None) -> Any:
    """Write into ``staging``; on failure keep it only if it holds a checkpoint to resume from."""
    if accelerator.is_main_process:
        start_staging(staging, checkpoint)
    accelerator.wait_for_everyone()
    try:
        yield
    except BaseException:
        if accelerator.is_main_process:
            discard_staging(staging)
        raise
