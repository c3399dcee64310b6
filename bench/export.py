"""Benchmark: `export_dataset` on 1,000,000 votes from SQLite, and whether memory stays flat.

    .venv/bin/python bench/export.py            # 100k and 1M votes (about 1 GB of disk, minutes)
    .venv/bin/python bench/export.py --quick    # 10k and 100k votes

For each size a fresh SQLite database is generated with plain executemany inserts
(one battle per vote, Kazakh conversations, a planted phone number in one prompt in
twenty, 2,000 annotators, a few banned/gold/flagged rows), then a separate process
exports it to parquet, so each size's peak memory (ru_maxrss) is its own. Memory
is flat when the large export's peak is about the small one's: the JSON line gives
both peaks, the growth over the process's memory after imports, and the ratios
large/small (the reference is the small run, measured in the same run). Speed is
given per wall-clock second and per CPU second (the latter is steadier on a shared
machine).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_ANNOTATORS = 2_000
MODELS = ["kaz-llm-8b", "kaz-llm-8b-rag", "qwen2.5-0.5b", "gemma-3-270m", "llama-3.1-8b", "gpt-4o"]
PROMPTS = [
    "Зейнетақыны қалай рәсімдеуге болады? Қандай құжаттар керек?",
    "Жеке куәлікті жоғалтсам, не істеуім керек?",
    "Абылай хан туралы қысқаша айтып беріңізші.",
    "Балаға жәрдемақы алу үшін қайда бару керек?",
    "Менің телефоным +7 701 {n:03d} 45 67, маған хабарласыңыз.",  # planted PII (every 20th prompt)
]
ANSWER = ("Бұл сұрақ бойынша eGov порталында онлайн өтініш беруге болады. Ол үшін ЭЦҚ немесе бір реттік "
          "құпия сөз қажет. Өтініш {n} жұмыс күні ішінде қаралады, нәтижесі жеке кабинетке жіберіледі.")


def _when(i: int) -> str:
    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i * 7)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format, UTC


def generate(path: Path, n_votes: int, seed: int = 0) -> None:
    """A migrated SQLite database with ``n_votes`` votes on as many battles."""
    from db.migrate import upgrade

    upgrade(f"sqlite:///{path}")
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO annotators (id, username, password_hash, role, proficiency, education, region, script, "
        "consent_version, created_at, banned) VALUES (?, ?, 'x', 'annotator', ?, 'бакалавр', 'Алматы', "
        "'cyrillic', '2026-11-v1', ?, ?)",
        ((i, f"user{i}", rng.choice(["native", "C1-C2", "B1-B2"]), _when(0), int(i % 500 == 0))
         for i in range(1, N_ANNOTATORS + 1)))

    def battles():
        for i in range(n_votes):
            a, b = rng.sample(MODELS, 2)
            prompt = PROMPTS[4 if i % 20 == 0 else i % 4].format(n=i % 1000)
            conv_a = [{"role": "user", "content": prompt}, {"role": "assistant", "content": ANSWER.format(n=i % 10)}]
            conv_b = [{"role": "user", "content": prompt}, {"role": "assistant", "content": ANSWER.format(n=i % 7)}]
            yield (f"{i:032x}", _when(i), "prompt", 1 + i % N_ANNOTATORS, a, b, rng.choice("ab"), 1 / 15,
                   json.dumps(conv_a, ensure_ascii=False), json.dumps(conv_b, ensure_ascii=False),
                   '{"temperature":0.9,"top_p":0.95}', '{"temperature":0.9,"top_p":0.95}', "r1", "r1", 1,
                   "pension", "voted", int(i % 97 == 0), int(i % 89 == 0), "{}", 0, "[]")

    con.executemany(
        "INSERT INTO battles (id, created_at, mode, annotator_id, model_a, model_b, position, sampling_prob, "
        "conversation_a, conversation_b, params_a, params_b, revision_a, revision_b, turn, topic, state, gold, "
        "flagged, timings, identity_leak, events) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        battles())
    outcomes = ["model_a", "model_b", "tie"]

    def votes():
        for i in range(n_votes):
            c, lang = rng.choice(outcomes), rng.choice(outcomes)
            winner = c if lang in (c, "tie") else (lang if c == "tie" else c)
            yield (i + 1, _when(i), f"{i:032x}", 1 + i % N_ANNOTATORS, f"key-{i}", c, lang,
                   None if {c, lang} != {"model_a", "model_b"} else c, winner, 0,
                   "Жақсы жауап" if i % 10 == 0 else None, "2026-11-v1", 9.5, "content+language")

    con.executemany(
        "INSERT INTO votes (id, created_at, battle_id, annotator_id, idempotency_key, winner_content, "
        "winner_language, winner_overall, winner, both_bad, comment, consent_version, seconds_to_vote, "
        "decided_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", votes())
    con.commit()
    con.close()


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(db: Path, out: Path) -> None:
    """Runs in its own process: export and report time and memory as JSON."""
    from arena.export import ExportOptions, export_dataset
    from db.session import session_scope

    url = f"sqlite:///{db}"
    with session_scope(url) as session:  # warm up: engine, pragmas, imports
        session.connection()
    baseline = _rss_mib()
    start, cpu = time.perf_counter(), time.process_time()
    with session_scope(url) as session:
        summary = export_dataset(session=session, out_dir=out, options=ExportOptions(), salt="bench-salt-0123456789")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"votes": summary.counts["votes"], "seconds": seconds, "cpu_s": cpu, "baseline_mib": baseline,
                      "peak_mib": peak, "pii": summary.pii, "counts": summary.counts}))


def measure(n_votes: int, tmp: Path) -> dict:
    db = tmp / f"votes_{n_votes}.db"
    t0 = time.perf_counter()
    generate(db, n_votes)
    gen_s = time.perf_counter() - t0
    done = subprocess.run([sys.executable, __file__, "--worker", str(db), str(tmp / f"out_{n_votes}")],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    db.unlink()
    return {"generated_votes": n_votes, "exported_votes": result["votes"], "generate_s": round(gen_s, 1),
            "export_s": round(result["seconds"], 2), "export_cpu_s": round(result["cpu_s"], 2),
            "votes_per_s": round(result["votes"] / result["seconds"]),
            "votes_per_cpu_s": round(result["votes"] / result["cpu_s"]),
            "rows_written_per_s": round(sum(result["counts"].values()) / result["seconds"]),
            "peak_rss_mib": round(result["peak_mib"], 1),
            "growth_mib": round(result["peak_mib"] - result["baseline_mib"], 1),
            "phones_replaced": result["pii"]["phone"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k and 100k votes instead of 100k and 1M")
    parser.add_argument("--worker", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]))
        return
    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="kazarena-bench-export-") as tmp:
        runs = [measure(n, Path(tmp)) for n in (small, large)]
    s, big = runs
    print(json.dumps({
        "bench": "export", "format": "parquet", "small": s, "large": big,
        "peak_rss_ratio_large_vs_small": round(big["peak_rss_mib"] / s["peak_rss_mib"], 3),
        "growth_ratio_large_vs_small": round(big["growth_mib"] / max(s["growth_mib"], 1.0), 3),
        "rows_ratio": large / small,
    }))


if __name__ == "__main__":
    main()
