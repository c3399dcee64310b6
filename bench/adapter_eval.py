"""The shipped fine-tuned contestant against its own base on the held-out IFT split.

Starts `kazarena serve` with only that pair (configs/eval-gemma.yaml: one vLLM server, the base
model plus the LoRA adapter), waits until both answer, then runs

    kazarena eval generation -m gemma-3-270m-kk,gemma-3-270m-base --pairs gemma-3-270m-kk:gemma-3-270m-base

with the held-out loss (--tokenizer), no BERTScore encoder and, unless --judge, no judge (neither exists offline).
The report lands in --out (report.md holds the paired differences the README quotes, items_*.jsonl every answer) and in
your database (KAZARENA_DATABASE_URL, default ./kazarena.db), so the Results tab of `make demo` shows it.

    python bench/adapter_eval.py --limit 500 --max-tokens 128 --out build/adapter-eval
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PAIR = ("gemma-3-270m-kk", "gemma-3-270m-base")


def _wait_ready(url: str, timeout_s: float, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"kazarena serve exited with {server.returncode} before the models were ready")
        try:
            models = httpx.get(f"{url}/readyz", timeout=5).json()["models"]
            if all(models.get(name, {}).get("state") == "ready" for name in PAIR):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(2)
    sys.exit(f"the models were not ready within {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=500, help="held-out items (the split has 500)")
    parser.add_argument("--max-tokens", type=int, default=128, help="longest answer, in tokens")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "adapter-eval")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--judge", action="store_true",
                        help="also ask the pairwise judge (GPT-4o when OPENAI_API_KEY is set, see `kazarena judge --help`)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server it started

    cache = Path(os.environ.get("KAZARENA_CACHE_DIR", Path.home() / ".cache" / "kazarena"))
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "KAZARENA_MODELS_CONFIG": str(ROOT / "configs" / "eval-gemma.yaml"),
            "KAZARENA_DATABASE_URL": f"sqlite:///{tmp}/eval.db",
            "KAZARENA_AUTH_ENABLED": "false", "KAZARENA_UI_ENABLED": "false",
            "KAZARENA_PORT": str(args.port), "KAZARENA_REQUEST_TIMEOUT_S": "600",
        }
        kazarena = str(Path(sys.executable).with_name("kazarena"))
        server = subprocess.Popen([kazarena, "serve"], env=env, cwd=ROOT)
        try:
            _wait_ready(url, 900, server)
            started = time.monotonic()
            subprocess.run([
                kazarena, "eval", "generation", "-m", ",".join(PAIR), "--pairs", ":".join(PAIR),
                "--tokenizer", str(cache / "models" / "gemma-3-270m"), "--encoder", "none",
                "--base-url", f"{url}/v1", "--api-key", "none", "--limit", str(args.limit),
                "--max-tokens", str(args.max_tokens), "--concurrency", str(args.concurrency),
                "--out", str(args.out), *([] if args.judge else ["--no-judge"])],
                check=True, cwd=ROOT)  # stored in your database: the Results tab shows it
            print(f"evaluated {args.limit} items in {time.monotonic() - started:.0f} s; report in {args.out}")
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
