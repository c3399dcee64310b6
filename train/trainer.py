"""Fine-tune a causal LM on instruction data, the seed paper's way.

Packed rows with per-document causal attention, loss on response tokens only,
AdamW at a constant learning rate, gradient accumulation to the batch size,
clipping; periodic held-out loss, checkpoints with resume, and a standard
Hugging Face directory at the end that vLLM serves as is.

Run (one device; CPU uses fp32, a GPU bf16):
    kazarena train --model models/gemma-3-270m --chat-template gemma \
        --data data/ift/train.jsonl --eval-data data/ift/test.jsonl --seq-len 512 --out runs/gemma-ift
Several GPUs with FSDP:
    accelerate launch --config_file configs/accelerate_fsdp.yaml -m app.cli.train --model ... --data ...
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from train.collator import PackedCollator
from train.config import TrainConfig, default_learning_rate
from train.formatting import CHAT_TEMPLATES, IGNORE_INDEX, load_jsonl, tokenize_records
from train.manifest import copy_notices, git_revision, versions
from train.packing import PackedRow, block_causal_mask, pack_examples, packing_efficiency

logger = logging.getLogger(__name__)

MANIFEST_NAME = "run_manifest.json"
STATE_NAME = "trainer_state.json"


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
# the loss, shared by training, evaluation, the tests and the benchmark


def token_losses(model: Any, batch: dict[str, torch.Tensor], attention: str = "position_ids") -> torch.Tensor:
    """Per-token cross-entropy, shape (batch, length - 1); 0 where the label is -100.

    ``batch`` holds ``input_ids`` (or ``inputs_embeds``), ``labels``, and either
    restarting ``position_ids`` (packed) or an ``attention_mask`` (padded).
    """
    inputs = {k: batch[k] for k in ("input_ids", "inputs_embeds") if k in batch}
    if "attention_mask" in batch:
        inputs["attention_mask"] = batch["attention_mask"]
    else:
        position_ids = batch["position_ids"]
        inputs["position_ids"] = position_ids
        if attention == "block_mask":  # the weights' dtype; sdpa and eager also take it under autocast
            inputs["attention_mask"] = block_causal_mask(position_ids, next(model.parameters()).dtype)
    # use_cache=False matters: with a cache transformers ignores the packed position ids
    logits = model(**inputs, use_cache=False).logits.float()
    return F.cross_entropy(
        logits[:, :-1].transpose(1, 2), batch["labels"][:, 1:], ignore_index=IGNORE_INDEX, reduction="none"
    )


def count_targets(batch: dict[str, torch.Tensor]) -> int:
    return int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())


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


def prepare_rows(path: str, tokenizer: Any, seq_length: int) -> tuple[list[PackedRow], dict[str, Any]]:
    """Read, tokenize and pack one JSONL file; returns the rows and their provenance."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"data file {path!r} not found")
    records = load_jsonl(path)
    examples, truncated, dropped = tokenize_records(records, tokenizer, seq_length)
    if not examples:
        raise ValueError(f"no usable examples in {path!r} ({len(records)} records)")
    rows = pack_examples(examples, seq_length)
    info = {
        "path": str(path),
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
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
    model: Any, rows: list[PackedRow], collator: PackedCollator, accelerator: Any, config: TrainConfig
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
        total[0] += token_losses(model, batch, config.attention).sum()
        total[1] += count_targets(batch)
    total = accelerator.reduce(total, reduction="sum")
    model.train()
    return float(total[0] / total[1])


def find_checkpoint(config: TrainConfig) -> Path:
    if config.resume_from != "latest":
        path = Path(str(config.resume_from))
    else:
        found = sorted(Path(config.output_dir, "checkpoints").glob("step-*"))
        if not found:
            raise FileNotFoundError(f"no checkpoint under {config.output_dir}/checkpoints")
        path = found[-1]
    if not Path(path, STATE_NAME).is_file():
        raise FileNotFoundError(f"{path} is not a checkpoint (no {STATE_NAME})")
    return path


def save_checkpoint(accelerator: Any, config: TrainConfig, state: dict[str, Any]) -> None:
    """Model, optimizer and RNG states (accelerate), plus our counters; only the newest is kept."""
    root = Path(config.output_dir, "checkpoints")
    path = root / f"step-{state['step']:07d}"
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        Path(path, STATE_NAME).write_text(json.dumps(state, indent=2))
        for old in root.glob("step-*"):
            if old != path:
                shutil.rmtree(old)
    accelerator.wait_for_everyone()


def save_final(
    accelerator: Any, model: Any, tokenizer: Any, config: TrainConfig, stop_token: str | None
) -> None:
    """A standard HF directory: safetensors weights (or the LoRA adapter) and the tokenizer."""
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
    unwrapped.save_pretrained(config.output_dir, state_dict=state_dict)
    # a supplied template goes into tokenizer_config.json, where every reader looks for it
    tokenizer.save_pretrained(config.output_dir, save_jinja_files=config.chat_template is None)
    copy_notices(Path(config.model), Path(config.output_dir))


# -----------------------------------------------------------------------------
# the training run


def train(config: TrainConfig) -> TrainResult:
    from accelerate import Accelerator
    from accelerate.utils import set_seed
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

    # model, tokenizer, optional LoRA ----------------------------------------
    model, tokenizer, stop_token = load_model_and_tokenizer(config)
    lr = config.learning_rate or default_learning_rate(model.config.model_type)
    config = replace(config, learning_rate=lr)  # the manifest records what was used
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

    # data -------------------------------------------------------------------
    train_rows, train_info = prepare_rows(config.data, tokenizer, config.max_seq_length)
    eval_rows, eval_info = (
        prepare_rows(config.eval_data, tokenizer, config.max_seq_length) if config.eval_data else ([], None)
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    collator = PackedCollator(pad_token_id=pad_id)
    total_steps = config.max_steps or math.ceil(config.epochs * len(train_rows) / config.batch_size)
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

    # resume -------------------------------------------------------------------
    step, tokens_seen, eval_losses, train_loss = 0, 0, [], None
    if config.resume_from:
        checkpoint = find_checkpoint(config)
        accelerator.load_state(str(checkpoint))
        state = json.loads(Path(checkpoint, STATE_NAME).read_text())
        if state["data_sha256"] != train_info["sha256"]:  # a different data order would follow
            raise ValueError(f"{checkpoint} was trained on other data than {config.data}")
        step, tokens_seen = state["step"], state["tokens_seen"]
        eval_losses = [tuple(x) for x in state["eval_losses"]]
        logger.info("resumed from %s at step %d", checkpoint, step)
    start_step = step
    if eval_rows and step == 0:
        eval_losses.append((0, evaluate(model, eval_rows, collator, accelerator, config)))

    # the loop ---------------------------------------------------------------
    model.train()
    progress = tqdm(total=total_steps, initial=step, desc="train", disable=not accelerator.is_main_process)
    while step < total_steps:
        t0 = time.time()
        rows = step_rows(train_rows, step, config.batch_size, config.seed)[accelerator.process_index :: world]
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
            with contextlib.nullcontext() if last else accelerator.no_sync(model):
                loss = token_losses(model, batch, config.attention).sum()
                accelerator.backward(loss * world / max(n_targets, 1))  # DDP/FSDP average over processes
            loss_sum += loss.item()  # note: a CPU-GPU sync point, once per micro-batch
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += int(n_tokens)
        loss_total = accelerator.reduce(torch.tensor([loss_sum], device=accelerator.device))
        train_loss = float(loss_total) / max(n_targets, 1)
        postfix = {
            "loss": f"{train_loss:.4f}",
            "grad": f"{float(grad_norm):.2f}",
            "tok/s": f"{n_tokens / (time.time() - t0):.0f}",
        }
        if eval_rows and ((config.eval_every and step % config.eval_every == 0) or step == total_steps):
            eval_losses.append((step, evaluate(model, eval_rows, collator, accelerator, config)))
            postfix["eval"] = f"{eval_losses[-1][1]:.4f}"
        progress.set_postfix(postfix)
        progress.update(1)
        if config.save_every and (step % config.save_every == 0 or step == total_steps):
            save_checkpoint(
                accelerator,
                config,
                {
                    "step": step,
                    "tokens_seen": tokens_seen,
                    "data_sha256": train_info["sha256"],
                    "eval_losses": eval_losses,
                    "train_loss": train_loss,
                },
            )
    progress.close()

    # save -------------------------------------------------------------------
    save_final(accelerator, model, tokenizer, config, stop_token)
    if accelerator.is_main_process:
        manifest = {
            "config": config.to_dict(),
            "data": {"train": train_info, "eval": eval_info},
            "git": git_revision(),
            "versions": versions(),
            "device": str(accelerator.device),
            "processes": world,
            "mixed_precision": accelerator.mixed_precision,
            "start_step": start_step,
            "steps": step,
            "tokens_seen": tokens_seen,
            "train_loss": train_loss,
            "eval_losses": eval_losses,
            "wall_seconds": round(time.time() - started, 1),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        Path(config.output_dir, MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    accelerator.wait_for_everyone()
    return TrainResult(
        Path(config.output_dir),
        start_step,
        step,
        tokens_seen,
        train_loss,
        eval_losses,
        accelerator.unwrap_model(model),
    )
