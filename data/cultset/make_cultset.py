"""Rebuild data/cultset/cultset.jsonl from the KazQAD Wikipedia passages.

    python data/cultset/make_cultset.py [--passages PATH] [--categories PATH] [--out PATH]

CultSet is every KazQAD passage (697), in the order of the KazQAD file, so the
KazQAD question pairs can point to any of them as doc_id "cultset-<passage_id>".
Each document's `topic` is one of the 17 CultSet codes of data/taxonomy.json,
read from categories.tsv beside this script (passage_id<TAB>code<TAB>title, one
line per passage, assigned by hand from the title and first sentences). The
text and title are KazQAD's, only stripped of surrounding whitespace. The output
keeps KazQAD's CC BY-SA 4.0 licence (see LICENSE and ATTRIBUTION.md here).
"""

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PASSAGES = HERE.parents[2] / "shared" / "data" / "kazqad" / "wiki_passages.jsonl"
DEFAULT_CATEGORIES = HERE / "categories.tsv"
TAXONOMY = HERE.parent / "taxonomy.json"


def wikipedia_url(title: str) -> str:
    return "https://kk.wikipedia.org/wiki/" + title.strip().replace(" ", "_")


def load_categories(path: Path = DEFAULT_CATEGORIES) -> dict[str, str]:
    """passage_id -> CultSet code, checked against the taxonomy."""
    codes = set(json.loads(TAXONOMY.read_text(encoding="utf-8"))["cultset"])
    categories = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        passage_id, code, _title = line.split("\t")
        if code not in codes:
            raise ValueError(f"{path}:{n}: {code!r} is not a CultSet taxonomy code")
        if passage_id in categories:
            raise ValueError(f"{path}:{n}: {passage_id} listed twice")
        categories[passage_id] = code
    return categories


def to_document(row: dict, topic: str) -> dict:
    return {
        "id": f"cultset-{row['passage_id']}",
        "set": "cultset",
        "topic": topic,
        "title": row["title"].strip(),
        "source_url": wikipedia_url(row["title"]),
        "text": row["text"].strip(),
    }


def build_documents(rows: list[dict], categories: dict[str, str]) -> list[dict]:
    """One document per passage, in input order; every passage needs a category and vice versa."""
    ids = [r["passage_id"] for r in rows]
    missing = [i for i in ids if i not in categories]
    extra = sorted(set(categories) - set(ids))
    if missing or extra:
        raise ValueError(f"categories.tsv: {len(missing)} passages without a code, {len(extra)} unknown ids")
    return [to_document(r, categories[r["passage_id"]]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=Path, default=DEFAULT_PASSAGES)
    parser.add_argument("--categories", type=Path, default=DEFAULT_CATEGORIES)
    parser.add_argument("--out", type=Path, default=HERE / "cultset.jsonl")
    args = parser.parse_args()

    rows = [
        json.loads(line) for line in args.passages.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    docs = build_documents(rows, load_categories(args.categories))
    args.out.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    print(f"wrote {len(docs)} documents to {args.out}")


if __name__ == "__main__":
    main()
