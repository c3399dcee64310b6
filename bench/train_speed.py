"""Benchmark: kazarena's training loop against TRL's SFTTrainer, in the same run.

    .venv/bin/python bench/train_speed.py               # Gemma 3 270M (kazarena models prepare), 8 steps
    .venv/bin/python bench/train_speed.py --steps 4
    .venv/bin/python bench/train_speed.py --model tiny  # a tiny random Qwen2, for a quick run

Same model, data (data/ift/train.jsonl), sequence length (512), steps, rows per
step, LoRA (r 16, alpha 32, dropout 0.05, all linear layers), AdamW settings,
constant learning rate, no gradient checkpointing in either (TRL's SFTConfig
turns it on by default; kazarena does not use it), loss on responses only in
both: kazarena packs with train/packing.py and runs train.trainer.train; TRL
packs with packing=True (best-fit decreasing, padding-free) and
completion_only_loss on prompt/completion records rendered with the same chat
template. Install TRL with `pip install -e '.[bench]'` (it is pinned there).

Each side runs in its own subprocess, one after the other, so that each one's
peak RSS is its own (ru_maxrss of the process, model loading included).
Throughput is real (non-padding) training tokens per second of wall-clock time
over the timed optimizer steps (the first --warmup steps are left out):
kazarena's per-step times from run_manifest.json's loss curve, TRL's from the
intervals between its on_step_end callbacks; also per CPU second of the process
(steadier when other jobs share the machine). The sides alternate for --rounds
rounds and each side's fastest round is reported, with every round's figure.

Share of peak: model FLOPs per token = 4 x N (a LoRA step: forward 2N, backward
through the frozen weights 2N; the adapters' own FLOPs and attention scores are
left out), N = the matmul parameters including the LM head. The same count is
used for both sides, although kazarena's head runs only at response positions.
The CPU's peak FLOP/s is estimated, not looked up: the best of several timed
2048 x 2048 fp32 matmuls with torch, on this machine, with the same threads.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.paths import IFT_TRAIN  # noqa: E402
from train.formatting import GEMMA_CHAT_TEMPLATE, load_jsonl, to_messages  # noqa: E402

GEMMA = Path.home() / ".cache" / "kazarena" / "models" / "gemma-3-270m"
LORA = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}
OPTIM = {
    "learning_rate": 1e-4,
    "beta1": 0.9,
    "beta2": 0.95,
    "eps": 1e-5,
    "weight_decay": 0.1,
    "max_grad_norm": 1.0,
}


# -----------------------------------------------------------------------------
# the two sides, each in its own process


def run_kazarena(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from train.config import TrainConfig
    from train.trainer import MANIFEST_NAME, train

    config = TrainConfig(
        model=args.model_dir, data=args.data, output_dir=str(out / "kazarena"),
        chat_template=args.chat_template, lora=True, lora_r=LORA["r"], lora_alpha=LORA["alpha"],
        lora_dropout=LORA["dropout"], learning_rate=OPTIM["learning_rate"], adam_beta1=OPTIM["beta1"],
        adam_beta2=OPTIM["beta2"], adam_eps=OPTIM["eps"], weight_decay=OPTIM["weight_decay"],
        max_grad_norm=OPTIM["max_grad_norm"], batch_size=args.batch_size, micro_batch_size=args.batch_size,
        max_seq_length=args.seq_len, max_steps=args.steps, eval_every=0, save_every=0, seed=0,
    )  # fmt: skip
    train(config)
    curve = json.loads((out / "kazarena" / MANIFEST_NAME).read_text())["loss_curve"]
    timed = curve[args.warmup :]
    tokens = curve[-1]["tokens"] - (curve[args.warmup - 1]["tokens"] if args.warmup else 0)
    return {
        "tokens": tokens,
        "seconds": sum(p["seconds"] for p in timed),
        "cpu_seconds": sum(p["cpu_seconds"] for p in timed),
        "losses": [round(p["loss"], 4) for p in curve],
    }


def run_trl(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    import trl
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    if args.chat_template == "gemma":
        tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
    records = []
    for record in load_jsonl(args.data):
        messages = to_messages(record)
        records.append({"prompt": messages[:-1], "completion": messages[-1:]})
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32)
    step_tokens: list[int] = []
    step_ends: list[tuple[float, float]] = []  # (wall, process CPU) at the end of each step

    class Counted(SFTTrainer):  # counts the real tokens each optimizer step trains on
        def training_step(self, model: Any, inputs: dict[str, Any], *rest: Any, **kwargs: Any) -> Any:
            mask = inputs.get("attention_mask")
            step_tokens.append(int(mask.sum()) if mask is not None else int(inputs["input_ids"].numel()))
            return super().training_step(model, inputs, *rest, **kwargs)

    class Clock(TrainerCallback):
        def on_train_begin(self, *a: Any, **k: Any) -> None:
            step_ends.append((time.perf_counter(), time.process_time()))

        def on_step_end(self, *a: Any, **k: Any) -> None:
            step_ends.append((time.perf_counter(), time.process_time()))

    config = SFTConfig(
        output_dir=str(out / "trl"), max_steps=args.steps, per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=1, packing=True, max_length=args.seq_len, completion_only_loss=True,
        gradient_checkpointing=False, learning_rate=OPTIM["learning_rate"], lr_scheduler_type="constant",
        adam_beta1=OPTIM["beta1"], adam_beta2=OPTIM["beta2"], adam_epsilon=OPTIM["eps"],
        weight_decay=OPTIM["weight_decay"], max_grad_norm=OPTIM["max_grad_norm"], logging_steps=1,
        save_strategy="no", report_to="none", use_cpu=True, bf16=False, seed=0, disable_tqdm=True,
        dataloader_num_workers=0,
    )  # fmt: skip
    lora = LoraConfig(
        r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
        target_modules=LORA["target_modules"], task_type="CAUSAL_LM",
    )  # fmt: skip
    trainer = Counted(
        model=model, args=config, train_dataset=Dataset.from_list(records), processing_class=tokenizer,
        peft_config=lora, callbacks=[Clock()],
    )  # fmt: skip
    trainer.train()
    start = step_ends[args.warmup]  # the end of the last warm-up step (or the start of training)
    losses = [round(x["loss"], 4) for x in trainer.state.log_history if "loss" in x]
    return {
        "tokens": sum(step_tokens[args.warmup :]),
        "seconds": step_ends[-1][0] - start[0],
        "cpu_seconds": step_ends[-1][1] - start[1],
        "losses": losses,
        "trl": trl.__version__,
        "packing_strategy": config.packing_strategy,
        "padding_free": config.padding_free,
    }


def worker(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = (run_kazarena if args.worker == "kazarena" else run_trl)(args, Path(tmp))
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["threads"] = torch.get_num_threads()
    print("RESULT " + json.dumps(result), flush=True)


# -----------------------------------------------------------------------------
# the comparison


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the fastest of ``repeats`` fp32 n x n matmuls (after a warm-up)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def matmul_params(model_dir: str) -> int:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    embedding = model.get_input_embeddings().weight.numel()
    head = model.get_output_embeddings().weight.numel()
    return (
        sum(p.numel() for p in model.parameters()) - embedding + head
    )  # a tied head is counted once, as a matmul


def build_tiny(directory: Path, data: str) -> str:
    from train.tiny import build_tiny_model, build_tiny_tokenizer

    records = load_jsonl(data)
    tokenizer = build_tiny_tokenizer(
        (r["instruction"] + "\n" + r["output"] for r in records), vocab_size=4000
    )
    build_tiny_model(tokenizer, seed=0, hidden_size=256, layers=4).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def side(name: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", name, "--model-dir", args.model_dir, "--data", args.data,
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--batch-size", str(args.batch_size),
               "--seq-len", str(args.seq_len), "--chat-template", args.chat_template or ""]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{name} side failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(GEMMA), help="model directory, or 'tiny' for a random Qwen2")
    parser.add_argument("--data", default=str(IFT_TRAIN))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=1, help="first steps left out of the timing")
    parser.add_argument(
        "--batch-size", type=int, default=2, help="packed rows per optimizer step (one forward)"
    )
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating runs of each side; the best one counts"
    )
    parser.add_argument("--worker", choices=("kazarena", "trl"), help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--chat-template", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")
    if args.worker:
        args.chat_template = args.chat_template or None
        worker(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.model == "tiny":
            args.model_dir, args.chat_template, label = build_tiny(Path(tmp, "tiny"), args.data), "", "tiny"
        else:
            if not Path(args.model, "config.json").is_file():
                raise SystemExit(
                    f"{args.model}: not a model directory (kazarena models prepare gemma-3-270m)"
                )
            args.model_dir, label = args.model, args.model
            model_type = json.loads(Path(args.model, "config.json").read_text()).get("model_type", "")
            args.chat_template = "gemma" if model_type.startswith("gemma") else ""
        n_params = matmul_params(args.model_dir)
        peak = peak_flops()
        # alternate the sides, so that both see the same spells of load from other jobs
        runs: dict[str, list[dict[str, Any]]] = {"kazarena": [], "trl": []}
        for _ in range(args.rounds):
            for name in runs:
                runs[name].append(side(name, args))
    flops_per_token = 4 * n_params
    results = {}
    for name, rounds in runs.items():
        for r in rounds:
            r["tokens_per_s"] = round(r["tokens"] / r["seconds"], 1)
            r["tokens_per_cpu_s"] = round(r["tokens"] / r["cpu_seconds"], 1)
        best = dict(max(rounds, key=lambda r: r["tokens_per_s"]))
        best["share_of_peak"] = round(best["tokens_per_s"] * flops_per_token / peak, 4)
        best["tokens_per_s_each_round"] = [r["tokens_per_s"] for r in rounds]
        best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in rounds)
        best["seconds"], best["cpu_seconds"] = round(best["seconds"], 2), round(best["cpu_seconds"], 2)
        results[name] = best
    speedup = results["kazarena"]["tokens_per_s"] / results["trl"]["tokens_per_s"]
    cpu_speedup = results["kazarena"]["tokens_per_cpu_s"] / results["trl"]["tokens_per_cpu_s"]
    print(
        json.dumps(
            {
                "bench": "train_speed",
                "model": label,
                "data": args.data,
                "seq_len": args.seq_len,
                "rows_per_step": args.batch_size,
                "steps": args.steps,
                "timed_steps": args.steps - args.warmup,
                "lora": LORA,
                "kazarena": results["kazarena"],
                "trl": results["trl"],
                "rounds": args.rounds,
                "speedup_tokens_per_s": round(speedup, 2),
                "speedup_tokens_per_cpu_s": round(cpu_speedup, 2),
                "target_speedup": 2.0,
                "model_flops_per_token": flops_per_token,
                "cpu_peak_flops": round(peak),
                "cpu_peak_method": "estimated: best of 5 timed 2048x2048 fp32 torch matmuls on this machine, "
                f"{torch.get_num_threads()} threads",
                "torch": torch.__version__,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
