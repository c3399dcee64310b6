"""Benchmark: packed vs padded batching for fine-tuning, in the same run.

    .venv/bin/python bench/packing.py              # target: >= 98% non-padding tokens packed
    .venv/bin/python bench/packing.py --quick      # fewer timed steps
    .venv/bin/python bench/packing.py --model models/gemma-3-270m --chat-template gemma

Data: the project's IFT training split (data/ift/train.jsonl) when it exists,
otherwise (or with --data kazqad) Kazakh pairs built from KazQAD reading
comprehension. Model: a random Qwen2 (hidden 256, 4 layers) with a BPE tokenizer
trained on the data, unless --model is given. --seq-len defaults to 512, the row
length of the README's fine-tuning demonstration (TrainConfig's default is 1024).

Non-padding fraction, two ways (the JSON's "definitions" says which is which):
- rows x seq_len: real tokens over packed rows x --seq-len, as if every row were
  padded to the full length (what fixed-shape training would feed). A small data
  set cannot fill its last row: min_rows = ceil(tokens / seq_len) bounds it.
- tensor slots: real tokens over the elements of the input tensors the timed
  loop really feeds the model, over one pass through the data. PackedCollator
  pads a micro-batch only to its longest row, and the packed rows are grouped
  by length (longest first) into micro-batches of --rows, so a short last row is
  not stacked with full ones. The padded baseline pads each micro-batch of
  examples (random order) to its longest example.
Rows come from best fit decreasing plus a repair that reaches min_rows where it
can (train/packing.py, "bfd+repair"); the row count of plain BFD is reported too,
as is the time to pack 100,000 IFT-like random lengths both ways.
Throughput: real tokens per second of full training steps (forward, backward,
clipping, AdamW), median over steps, with packed and padded steps interleaved so
that both see the same machine load, and by default the same number of real
tokens per step; the packed micro-batches are timed in a seeded random order.
The ratio is packed / padded, on wall-clock and on CPU time (steadier when other
jobs share the machine). Prints one JSON line.
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

from db.paths import IFT_TRAIN  # noqa: E402
from train.collator import PackedCollator, PaddedCollator  # noqa: E402
from train.formatting import CHAT_TEMPLATES, load_jsonl, tokenize_records  # noqa: E402
from train.packing import STRATEGIES, pack_examples, packing_efficiency  # noqa: E402
from train.tiny import build_tiny_model, build_tiny_tokenizer, kazqad_pairs  # noqa: E402
from train.trainer import count_targets, token_losses  # noqa: E402

PROJECT_IFT = IFT_TRAIN


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


def tensor_nonpad(batches: list[list[int]]) -> float:
    """Real tokens over tensor elements when each batch (a list of lengths) is padded to its longest."""
    return sum(map(sum, batches)) / sum(max(b) * len(b) for b in batches)


def time_packing_100k(seq_len: int, seed: int) -> dict[str, Any]:
    """Seconds (best of 3) to pack 100,000 IFT-like lengths (log-normal, median 150), each strategy."""
    rng = random.Random(seed)
    lengths = [min(seq_len, max(8, round(rng.lognormvariate(math.log(150), 0.8)))) for _ in range(100_000)]
    figures: dict[str, Any] = {"min_rows": math.ceil(sum(lengths) / seq_len)}
    for name, pack in STRATEGIES.items():
        seconds = []
        for _ in range(3):  # the fastest of three: other jobs share this machine
            start = time.perf_counter()
            rows = len(pack(lengths, seq_len))
            seconds.append(time.perf_counter() - start)
        figures[name] = {"seconds": round(min(seconds), 3), "rows": rows}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timed steps of each kind instead of 10")
    parser.add_argument("--model", help="HF model directory (default: a random tiny Qwen2)")
    parser.add_argument("--chat-template", choices=sorted(CHAT_TEMPLATES), help="for a base model")
    parser.add_argument(
        "--data", help="IFT JSONL, or 'kazqad' (default: data/ift/train.jsonl if present, else kazqad)"
    )
    parser.add_argument(
        "--seq-len", type=int, default=512, help="packed row length (default: the README demo's 512)"
    )
    parser.add_argument(
        "--strategy",
        choices=sorted(STRATEGIES),
        default="bfd+repair",
        help="bin packing of examples into rows",
    )
    parser.add_argument("--rows", type=int, default=2, help="packed rows per training step (one micro-batch)")
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

    rows = pack_examples(examples, args.seq_len, strategy=args.strategy)
    rows_bfd = rows if args.strategy == "bfd" else pack_examples(examples, args.seq_len, strategy="bfd")
    total_tokens = sum(len(e) for e in examples)
    min_rows = math.ceil(total_tokens / args.seq_len)
    if args.examples is None:  # same real tokens per step, so per-step costs weigh the same
        args.examples = max(1, round(args.rows * len(examples) / len(rows)))
    by_length = sorted(rows, key=len, reverse=True)  # a short row is stacked with other short ones
    packed_batches = [by_length[i : i + args.rows] for i in range(0, len(rows), args.rows)]
    padded_batches = [examples[i : i + args.examples] for i in range(0, len(examples), args.examples)]
    packed_slots = tensor_nonpad([[len(r) for r in b] for b in packed_batches])
    padded_slots = tensor_nonpad([[len(e) for e in b] for b in padded_batches])
    lengths_sorted = sorted((len(e) for e in examples), reverse=True)
    padded_grouped = tensor_nonpad(
        [lengths_sorted[i : i + args.examples] for i in range(0, len(examples), args.examples)]
    )
    timing_order = list(range(len(packed_batches)))  # not the fullest rows first
    random.Random(args.seed).shuffle(timing_order)
    packed_batches = [packed_batches[i] for i in timing_order]
    packed_collate, padded_collate = PackedCollator(pad_id), PaddedCollator(pad_id)

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), eps=1e-5, weight_decay=0.1)
    rates: dict[str, list[float]] = {"packed": [], "padded": []}  # real tokens/s of each step
    cpu_rates: dict[str, list[float]] = {"packed": [], "padded": []}  # per CPU-second of this process
    for step in range(args.steps + 1):  # step 0 warms up both paths and is not timed
        for kind in ("packed", "padded"):
            group = packed_batches if kind == "packed" else padded_batches
            items = group[step % len(group)]
            batch = (packed_collate if kind == "packed" else padded_collate)(items)
            start, cpu_start = time.perf_counter(), time.process_time()  # one step, as in train/trainer.py
            loss = token_losses(model, batch).sum() / max(count_targets(batch), 1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step:
                tokens = sum(len(x) for x in items)
                rates[kind].append(tokens / (time.perf_counter() - start))
                cpu_rates[kind].append(tokens / (time.process_time() - cpu_start))

    # the median step resists the load spikes of a shared machine
    packed_tps, padded_tps = statistics.median(rates["packed"]), statistics.median(rates["padded"])
    packed_fill = packing_efficiency(rows, args.seq_len)
    result = {
        "bench": "packing",
        "data": source,
        "examples": len(examples),
        "truncated": truncated,
        "model": model_name,
        "seq_len": args.seq_len,
        "strategy": args.strategy,
        "packed_rows_per_step": args.rows,
        "padded_examples_per_step": args.examples,
        "tokens": total_tokens,
        "packed_rows": len(rows),
        "packed_rows_bfd": len(rows_bfd),
        "min_rows": min_rows,
        "at_min_rows": len(rows) == min_rows,
        "packed_nonpad_rows_x_seq_len": round(packed_fill, 4),
        "packed_nonpad_rows_x_seq_len_bfd": round(packing_efficiency(rows_bfd, args.seq_len), 4),
        "packed_nonpad_rows_x_seq_len_upper_bound": round(total_tokens / (min_rows * args.seq_len), 4),
        "packed_nonpad_tensor_slots": round(packed_slots, 4),
        "padded_nonpad_tensor_slots": round(padded_slots, 4),
        "padded_nonpad_tensor_slots_if_grouped_by_length": round(padded_grouped, 4),
        "packed_tokens_per_s": round(packed_tps, 1),
        "padded_tokens_per_s": round(padded_tps, 1),
        "speedup_packed_vs_padded": round(packed_tps / padded_tps, 3),
        "speedup_packed_vs_padded_cpu_time": round(
            statistics.median(cpu_rates["packed"]) / statistics.median(cpu_rates["padded"]), 3
        ),
        "target_nonpad": 0.98,
        "meets_target_rows_x_seq_len": packed_fill >= 0.98,
        "meets_target_tensor_slots": packed_slots >= 0.98,
        "pack_100k_lengths": time_packing_100k(args.seq_len, args.seed),
        "timed_steps_each": args.steps,
        "device": "cpu",  # attention runs the masked math kernel here, O(length^2) per row
        "torch_threads": torch.get_num_threads(),
        "definitions": {
            "packed_nonpad_rows_x_seq_len": "real tokens / (packed_rows * seq_len): every row counted "
            "at full length; at most packed_nonpad_rows_x_seq_len_upper_bound (min_rows rows)",
            "packed_nonpad_tensor_slots": "real tokens / elements of the packed input tensors fed to the "
            "model over one pass: rows sorted by length, packed_rows_per_step rows per micro-batch, "
            "each micro-batch padded to its longest row (PackedCollator)",
            "padded_nonpad_tensor_slots": "the same for the baseline: padded_examples_per_step examples "
            "in random order per micro-batch, padded to the longest (PaddedCollator)",
            "padded_nonpad_tensor_slots_if_grouped_by_length": "the baseline if examples were sorted "
            "by length before batching (not timed)",
            "speedup_packed_vs_padded": "median real tokens/s of a packed training step over that of a "
            "padded one, interleaved in this run (wall clock)",
            "speedup_packed_vs_padded_cpu_time": "the same per CPU-second used by this process, which "
            "other jobs on a shared machine disturb less than wall clock",
            "pack_100k_lengths": "seconds (best of 3) and rows to pack 100,000 log-normal lengths (median 150, "
            "clipped to [8, seq_len]) with each strategy; min_rows = ceil(sum / seq_len)",
        },
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
