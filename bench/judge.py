"""Benchmark: the LLM judge on IFT test items against a running local vLLM server.

    .venv/bin/python bench/judge.py                  # 12 pairs per run
    .venv/bin/python bench/judge.py --quick          # 4 pairs per run
    .venv/bin/python bench/judge.py --base-url http://127.0.0.1:8200/v1 --model qwen-test

Each pair (reference answer vs "I don't know") is judged in both orders with the
reference-guided prompt and structured 0/1/2 output. Ours: ``--concurrency``
requests in flight; reference: the same pipeline one request at a time, on a
disjoint set of items of the same size (so vLLM's prefix cache cannot favour the
second run). Then the concurrent run is repeated with the reply cache, which
should make zero requests. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db.jsonl import read_jsonl  # noqa: E402
from db.paths import IFT_TEST  # noqa: E402
from eval.judge import JudgeCache, JudgeConfig, judge_items  # noqa: E402


def rows(start: int, n: int) -> list[dict[str, str]]:
    out = []
    for r in read_jsonl(IFT_TEST)[start : start + n]:
        out.append({"id": r["id"], "instruction": r["instruction"], "reference": r["output"],
                    "answer_a": r["output"], "answer_b": "Білмеймін.", "model_a": "reference",
                    "model_b": "shrug", "topic": r["topic"]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8200/v1", help="OpenAI-compatible vLLM endpoint")
    parser.add_argument("--model", default="qwen-test", help="model name served there")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight for our run")
    parser.add_argument("--quick", action="store_true", help="4 pairs per run instead of 12")
    args = parser.parse_args()
    n = 4 if args.quick else 12

    def timed(items: list[dict[str, str]], concurrency: int, cache: JudgeCache | None) -> tuple[float, object]:
        config = JudgeConfig(base_url=args.base_url, model=args.model, structured=True, max_tokens=2,
                             concurrency=concurrency)
        start = time.perf_counter()
        run = judge_items(items, config, cache=cache, progress=False)
        return time.perf_counter() - start, run.summary

    with tempfile.TemporaryDirectory() as tmp, JudgeCache(Path(tmp) / "cache.sqlite") as cache:
        seq_s, seq = timed(rows(0, n), 1, None)
        ours_s, ours = timed(rows(n, n), args.concurrency, cache)
        cached_s, cached = timed(rows(n, n), args.concurrency, cache)
    print(json.dumps({
        "bench": "judge", "judge": ours.judge, "pairs": n, "requests": ours.requests,
        "pairs_per_s": round(n / ours_s, 3), "reference_sequential_pairs_per_s": round(n / seq_s, 3),
        "speedup_vs_sequential": round(seq_s / ours_s, 2), "concurrency": args.concurrency,
        "prompt_tokens_per_request": round(ours.prompt_tokens / max(ours.requests, 1), 1),
        "reference_prompt_tokens_per_request": round(seq.prompt_tokens / max(seq.requests, 1), 1),
        "cached_rerun_s": round(cached_s, 3), "cached_rerun_requests": cached.requests,
        "inconsistency_rate": ours.inconsistency_rate, "invalid_pairs": ours.counts["invalid"],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
