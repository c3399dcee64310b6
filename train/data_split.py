"""Deterministic train/test split by source document, so no document leaks across.

Documents are put in a fixed pseudo-random order (sha256 of salt + id) and
taken into the test side in that order, skipping any document that would
overshoot, until the test side holds `test_fraction` of the rows. Two
properties follow:
- every row of a document lands on the same side (no leak), and the test
  share is as close to the fraction as document sizes allow: a plain "hash
  below 0.1" rule gave 16% on the 83-document sample, because each document
  is then an independent coin;
- the split depends only on the ids and row counts, never on file order or a
  random seed, so it is reproducible anywhere.

>>> rows = [{"doc_id": f"doc{i % 50}", "n": i} for i in range(200)]
>>> split = split_by_document(rows)
>>> {r["doc_id"] for r in split.train} & {r["doc_id"] for r in split.test}
set()
>>> len(split.train), len(split.test)
(180, 20)
"""

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DocumentSplit:
    train: list[Row]
    test: list[Row]
    test_doc_ids: frozenset[str]

    @property
    def test_share(self) -> float:
        """Fraction of rows (not documents) on the test side."""
        total = len(self.train) + len(self.test)
        return len(self.test) / total if total else 0.0


def document_order_key(doc_id: str, salt: str = "kazarena") -> str:
    """The fixed pseudo-random position of a document: hex sha256 of salt and id."""
    return hashlib.sha256(f"{salt}\x00{doc_id}".encode()).hexdigest()


def split_by_document(
    rows: Sequence[Row],
    *,
    test_fraction: float = 0.1,
    key: str = "doc_id",
    salt: str = "kazarena",
) -> DocumentSplit:
    """Split rows (e.g. IFT pairs) so all rows of one document land on the same side.

    Row order is kept within each side. Raises ValueError on a bad fraction or
    a row without a document id in `key`.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    for i, row in enumerate(rows):
        if not isinstance(row.get(key), str) or not row[key]:
            raise ValueError(f"row {i} has no document id in field {key!r}")

    rows_per_doc = Counter(row[key] for row in rows)
    target = test_fraction * len(rows)
    test_ids: set[str] = set()
    taken = 0
    for doc_id in sorted(rows_per_doc, key=lambda d: document_order_key(d, salt)):
        if taken >= target:
            break
        size = rows_per_doc[doc_id]
        if abs(taken + size - target) < abs(taken - target):  # only if it brings us closer
            test_ids.add(doc_id)
            taken += size

    train = [row for row in rows if row[key] not in test_ids]
    test = [row for row in rows if row[key] in test_ids]
    return DocumentSplit(train=train, test=test, test_doc_ids=frozenset(test_ids))


def main() -> None:
    """Rewrite train.jsonl and test.jsonl beside a JSONL file of rows with doc_id."""
    import argparse
    import json
    from pathlib import Path

    from db.jsonl import read_jsonl

    parser = argparse.ArgumentParser(description="Split a JSONL file 90/10 by document.")
    parser.add_argument("rows", type=Path, help="JSONL with a doc_id field per row")
    parser.add_argument("--out-dir", type=Path, help="default: the input's folder")
    parser.add_argument("--test-fraction", type=float, default=0.1)
    args = parser.parse_args()

    split = split_by_document(read_jsonl(args.rows), test_fraction=args.test_fraction)
    out_dir = args.out_dir or args.rows.parent
    for name, part in (("train", split.train), ("test", split.test)):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
        (out_dir / f"{name}.jsonl").write_text(text, encoding="utf-8")
    print(f"train {len(split.train)}, test {len(split.test)} rows ({split.test_share:.1%} test)")


if __name__ == "__main__":
    main()
