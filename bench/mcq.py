"""MCQ log-likelihood scoring through vLLM: batched requests vs one request per option.

    .venv/bin/python bench/mcq.py [--quick] [--base-url http://127.0.0.1:8200/v1] [--model qwen-test]

The 10 real UNT items are repeated to --questions questions (50 by default),
each copy tagged at the start ("(b7) ...") so that no two questions share a
prompt prefix; the two modes use different tags, so neither profits from the
other's prefix cache. Mode 1 sends all options of many questions per request
(--batch-size prompts) with --concurrency requests in flight; mode 2 sends one
request per option, one at a time. Prints one JSON line: questions/s of each
and the ratio batched / one-per-option, measured in the same run.
"""

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.mcq import CompletionsScorer, MCQItem, evaluate_items, load_mcq  # noqa: E402

UNT10 = ROOT.parent / "shared" / "data" / "unt_mcq" / "human_society_rights_10.jsonl"


def questions(n: int, tag: str) -> list[MCQItem]:
    base = load_mcq(str(UNT10)).items
    return [replace(base[k % len(base)], id=f"{tag}{k}", question=f"({tag}{k}) {base[k % len(base)].question}")
            for k in range(n)]


def timed(client: openai.OpenAI, model: str, items: list[MCQItem], batch_size: int, concurrency: int) -> dict:
    scorer = CompletionsScorer(client, model, batch_size=batch_size, concurrency=concurrency)
    start = time.perf_counter()
    predictions = evaluate_items(items, scorer)
    seconds = time.perf_counter() - start
    prompts = sum(len(i.choices) for i in items)
    return {
        "batch_size": batch_size,
        "concurrency": concurrency,
        "requests": -(-prompts // batch_size),
        "seconds": round(seconds, 2),
        "questions_per_s": round(len(items) / seconds, 3),
        "accuracy": round(sum(p.correct for p in predictions) / len(items), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8200/v1", help="OpenAI-compatible vLLM server")
    parser.add_argument("--model", default="qwen-test", help="model name on that server")
    parser.add_argument("--api-key", default="EMPTY")
    parser.add_argument("--questions", type=int, default=50, help="questions per mode (UNT items repeated)")
    parser.add_argument("--batch-size", type=int, default=32, help="prompts per request in the batched mode")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight in the batched mode")
    parser.add_argument("--quick", action="store_true", help="12 questions per mode")
    args = parser.parse_args()
    n = 12 if args.quick else args.questions

    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0, timeout=1800)
    evaluate_items(questions(1, "w"), CompletionsScorer(client, args.model))  # warm-up, not timed
    batched = timed(client, args.model, questions(n, "b"), args.batch_size, args.concurrency)
    single = timed(client, args.model, questions(n, "s"), 1, 1)
    print(json.dumps({
        "bench": "mcq_loglikelihood",
        "model": args.model,
        "questions": n,
        "prompts": 4 * n,
        "batched": batched,
        "one_request_per_option": single,
        "speedup_batched_vs_one_per_option": round(batched["questions_per_s"] / single["questions_per_s"], 2),
    }))


if __name__ == "__main__":
    main()
