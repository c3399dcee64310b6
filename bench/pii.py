"""Precision and recall of arena.export.pii per type over the labelled corpus, one JSON line.

    .venv/bin/python bench/pii.py [--corpus tests/data/pii_corpus.jsonl] [--errors]

A found span counts as right only if its start, end and type are exactly those of a labelled
span (span-level exact match of the region that is replaced). Precision of a type is over the
spans found with that type, recall over the labelled spans of that type; "overall" pools all
types. --errors also prints each miss and each false find to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from arena.export.pii import PII_TYPES, find_pii  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "pii_corpus.jsonl"


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 1.0


def evaluate(corpus: Path = CORPUS, errors: list[str] | None = None) -> dict[str, object]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    n = 0
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        n += 1
        gold = {(s["start"], s["end"], s["type"]) for s in row["spans"]}
        found = {(s.start, s.end, s.type) for s in find_pii(row["text"])}
        for _start, _end, kind in found & gold:
            tp[kind] += 1
        for start, end, kind in found - gold:
            fp[kind] += 1
            if errors is not None:
                errors.append(f"FP {row['id']} {kind} {row['text'][start:end]!r} in {row['text']!r}")
        for start, end, kind in gold - found:
            fn[kind] += 1
            if errors is not None:
                errors.append(f"FN {row['id']} {kind} {row['text'][start:end]!r} in {row['text']!r}")
    types = {}
    for kind in PII_TYPES:
        types[kind] = {"precision": _ratio(tp[kind], tp[kind] + fp[kind]),
                       "recall": _ratio(tp[kind], tp[kind] + fn[kind]), "support": tp[kind] + fn[kind],
                       "found": tp[kind] + fp[kind]}
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {"bench": "pii", "snippets": n, "types": types,
            "overall": {"precision": _ratio(all_tp, all_tp + all_fp), "recall": _ratio(all_tp, all_tp + all_fn),
                        "support": all_tp + all_fn, "found": all_tp + all_fp}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--errors", action="store_true", help="print misses and false finds to stderr")
    args = parser.parse_args()
    errors: list[str] | None = [] if args.errors else None
    result = evaluate(args.corpus, errors)
    for line in errors or []:
        print(line, file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
