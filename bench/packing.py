"""Benchmark: packed vs padded batching for fine-tuning, in the same run.

    .venv/bin/python bench/packing.py              # target: >= 98% non-padding tokens packed
    .venv/bin/python bench/packing.py --quick      # fewer, shorter timed steps
    .venv/bin/python bench/packing.py --model models/gemma-3-270m --chat-template gemma

Data: the project's IFT training split (data/ift/train.jsonl) when it exists,
otherwise (or with --data kazqad) Kazakh pairs built from KazQAD reading
comprehension. Model: a random Qwen2 (hidden 256, 4 layers) with a BPE tokenizer
trained on the data, unless --model is given.

Non-padding fraction: real tokens over the slots a batch occupies. Padded: every
example is padded to the longest in its batch (shuffled order). Packed: rows of
--seq-len tokens (best-fit decreasing); a row's unused tail counts as padding.
A small data set cannot fill its last row: min_rows = ceil(tokens / seq_len) is
the fewest rows any packing needs, and bounds the fraction from above.
Throughput: real tokens per second of full training steps (forward, backward,
clipping, AdamW), median over steps, with packed and padded steps interleaved so
that both see the same machine load, and by default the same number of real
tokens per step. The ratio is packed / padded. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train.collator import PackedCollator, PaddedCollator  # noqa: E402
from train.formatting import CHAT_TEMPLATES, load_jsonl, tokenize_records  # noqa: E402
from train.packing import pack_examples, packing_efficiency  # noqa: E402
from train.tiny import build_tiny_model, build_tiny_tokenizer, kazqad_pairs  # noqa: E402
from train.trainer import count_targets, token_losses  # noqa: E402

PROJECT_IFT = Path(__file__).resolve().parents[1] / "data" / "ift" / "train.jsonl"


def load_model(args: argparse.Namespace, records: list[dict[str, Any]]) -> tuple[Any, Any, str]:
    if args.model:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
        if args.chat_template:
            tokenizer.chat_template = CHAT_TEMPLATES[args.chat_template][0]
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
        return model, tokenizer, args.model
    texts = (r.get("instruction", "") + "\n" + r.get("output", "") for r in records)
    tokenizer = build_tiny_tokenizer(texts, vocab_size=4000)
    model = build_tiny_model(tokenizer, seed=0, hidden_size=256, layers=4)
    return model, tokenizer, "random Qwen2 (hidden 256, 4 layers)"


def nonpad_padded(lengths: list[int], batch_size: int) -> float:
    slots = sum(
        max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size])
        for i in range(0, len(lengths), batch_size)
    )
    return sum(lengths) / slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timed steps of each kind instead of 10")
    parser.add_argument("--model", help="HF model directory (default: a random tiny Qwen2)")
    parser.add_argument("--chat-template", choices=sorted(CHAT_TEMPLATES), help="for a base model")
    parser.add_argument(
        "--data", help="IFT JSONL, or 'kazqad' (default: data/ift/train.jsonl if present, else kazqad)"
    )
    parser.add_argument("--seq-len", type=int, default=1024, help="packed row length")
    parser.add_argument("--rows", type=int, default=2, help="packed rows per training step")
    parser.add_argument(
        "--examples",
        type=int,
        help="padded examples per training step (default: as many real tokens as a packed step)",
    )
    parser.add_argument("--steps", type=int, default=10, help="timed steps of each kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.steps = 3

    data_path = PROJECT_IFT if args.data is None else None if args.data == "kazqad" else Path(args.data)
    if data_path is not None and data_path.is_file():
        records, source = load_jsonl(data_path), str(data_path)
    elif args.data in (None, "kazqad"):
        records, source = kazqad_pairs(), "KazQAD reading comprehension (pairs)"
    else:
        parser.error(f"--data: file not found: {args.data}")
    model, tokenizer, model_name = load_model(args, records)
    examples, truncated, _ = tokenize_records(records, tokenizer, args.seq_len)
    random.Random(args.seed).shuffle(examples)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    rows = pack_examples(examples, args.seq_len)
    total_tokens = sum(len(e) for e in examples)
    if args.examples is None:  # same real tokens per step, so per-step costs weigh the same
        args.examples = max(1, round(args.rows * len(examples) / len(rows)))
    packed_batches = [rows[i : i + args.rows] for i in range(0, len(rows), args.rows)]
    padded_batches = [examples[i : i + args.examples] for i in range(0, len(examples), args.examples)]
    packed_collate, padded_collate = PackedCollator(pad_id), PaddedCollator(pad_id)

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), eps=1e-5, weight_decay=0.1)
    rates: dict[str, list[float]] = {"packed": [], "padded": []}  # real tokens/s of each step
    for step in range(args.steps + 1):  # step 0 warms up both paths and is not timed
        for kind in ("packed", "padded"):
            group = packed_batches if kind == "packed" else padded_batches
            items = group[step % len(group)]
            batch = (packed_collate if kind == "packed" else padded_collate)(items)
            start = time.perf_counter()  # one training step, as in train/trainer.py
            loss = token_losses(model, batch).sum() / max(count_targets(batch), 1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step:
                rates[kind].append(sum(len(x) for x in items) / (time.perf_counter() - start))

    # the median step resists the load spikes of a shared machine
    packed_tps, padded_tps = statistics.median(rates["packed"]), statistics.median(rates["padded"])
    packed_nonpad = packing_efficiency(rows, args.seq_len)
    result = {
        "bench": "packing",
        "data": source,
        "examples": len(examples),
        "truncated": truncated,
        "model": model_name,
        "seq_len": args.seq_len,
        "packed_rows_per_step": args.rows,
        "padded_examples_per_step": args.examples,
        "tokens": total_tokens,
        "packed_rows": len(rows),
        "min_rows": math.ceil(total_tokens / args.seq_len),
        "packed_nonpad_fraction": round(packed_nonpad, 4),
        "packed_nonpad_upper_bound": round(
            total_tokens / (math.ceil(total_tokens / args.seq_len) * args.seq_len), 4
        ),
        "padded_nonpad_fraction": round(nonpad_padded([len(e) for e in examples], args.examples), 4),
        "packed_tokens_per_s": round(packed_tps, 1),
        "padded_tokens_per_s": round(padded_tps, 1),
        "speedup_packed_vs_padded": round(packed_tps / padded_tps, 3),
        "target_nonpad": 0.98,
        "meets_target": packed_nonpad >= 0.98,
        "at_min_rows": len(rows) == math.ceil(total_tokens / args.seq_len),
        "timed_steps_each": args.steps,
        "device": "cpu",  # attention runs the masked math kernel here, O(length^2) per row
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
