"""Rebuild data/cultset/cultset.jsonl from the KazQAD Wikipedia passages.

    python data/cultset/make_cultset.py [--passages PATH] [--per-domain 24] [--out PATH]

Deterministic: within each KazQAD domain the passages are ordered by the
sha256 of their passage id and the first N are kept, so the same input always
gives the same sample, with no random seed to carry around. Passages shorter
than 200 characters (headings and fragments) are skipped. The output keeps
KazQAD's CC BY-SA 4.0 licence (see LICENSE and ATTRIBUTION.md here).
"""

import argparse
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PASSAGES = HERE.parents[2] / "shared" / "data" / "kazqad" / "wiki_passages.jsonl"

# KazQAD domain codes -> CultSet topics.
DOMAIN_TOPICS = {
    "kzh": "kazakh_history",
    "bio": "biology",
    "lit": "literature",
    "geo": "geography",
    "woh": "world_history",
}
MIN_CHARS = 200


def wikipedia_url(title: str) -> str:
    return "https://kk.wikipedia.org/wiki/" + title.strip().replace(" ", "_")


def sample_passages(rows: list[dict], per_domain: int) -> list[dict]:
    """The first `per_domain` passages of each domain, ordered by hash of passage id."""
    out = []
    for domain in DOMAIN_TOPICS:
        pool = [r for r in rows if r["domain"] == domain and len(r["text"].strip()) >= MIN_CHARS]
        pool.sort(key=lambda r: hashlib.sha256(r["passage_id"].encode()).hexdigest())
        if len(pool) < per_domain:
            raise ValueError(f"domain {domain} has only {len(pool)} usable passages")
        out.extend(pool[:per_domain])
    return out


def to_document(row: dict) -> dict:
    return {
        "id": f"cultset-{row['passage_id']}",
        "set": "cultset",
        "topic": DOMAIN_TOPICS[row["domain"]],
        "title": row["title"].strip(),
        "source_url": wikipedia_url(row["title"]),
        "text": row["text"].strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=Path, default=DEFAULT_PASSAGES)
    parser.add_argument("--per-domain", type=int, default=24)
    parser.add_argument("--out", type=Path, default=HERE / "cultset.jsonl")
    args = parser.parse_args()

    rows = [
        json.loads(line) for line in args.passages.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    docs = [to_document(r) for r in sample_passages(rows, args.per_domain)]
    args.out.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    print(f"wrote {len(docs)} documents to {args.out}")


if __name__ == "__main__":
    main()
