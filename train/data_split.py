"""The shipped instruction set (data/ift/): merge the parts, clean them, split by document.

Build (reproducible: the same inputs give byte-identical files)::

    .venv/bin/python -m train.data_split build            # writes ift_all, train, test
    .venv/bin/python -m train.data_split build --check    # only compares

**Inputs**, in this order: ``data/ift/ift_sample.jsonl``, then every
``data/ift/parts/*.jsonl`` sorted by file name (``.json`` files such as the
topic map are not pair files). Each row names its document (``doc_id``), which
must exist in GovSet or CultSet with the same ``set``.

**Rows.** ``topic`` is always the document's topic (CultSet pairs written
against the old topics are overridden, KazQAD-derived rows arrive with
``topic: ""``); ``origin`` is ``"written"`` unless the row sets it
(``"kazqad"``); fields are written in the order of `FIELDS`.

**Duplicates** (on the instruction text; the first row in input order is kept).
A pair is its document plus its instruction, so the rule depends on the document:

- an exact duplicate instruction of the same document is dropped;
- a *near-duplicate* is an instruction whose word 5-gram Jaccard similarity
  with an earlier kept instruction is >= 0.8 (words: lower-cased ``\\w+`` runs;
  an instruction of fewer than 5 words is one "gram", its whole word sequence);
  within one document it is dropped too;
- across documents, an exact or near duplicate (e.g. one KazQAD question asked
  of several passages, answered from each) is only reported; the documents
  are then kept on the same side of the split, so no duplicate crosses it.
  ``build --drop-cross-document-duplicates`` drops the exact ones instead.

**Split** (`split_by_document`). Documents are the unit: every row of a document
(and of the documents tied to it by a cross-document near-duplicate) lands on
one side. The units are put in a seeded pseudo-random order (a seeded shuffle
that is the same on every machine and Python version: sha256 of salt + the
unit's smallest doc_id, see `document_order_key`) and taken into the test side
in that order whenever the unit still fits, until the test side holds the target
number of rows: ``test_size`` (the build uses 500) or ``test_fraction`` of the
rows. With ``stratify="set"`` the target is first shared between the strata
(govset / cultset) in proportion to their row counts (largest remainder), each
stratum is filled up to its share, and a last pass over the remaining units, in
the same order, tops the test side up to the overall target. Small units (one-
or two-pair passages) make the target reachable exactly in practice; the split
never overshoots it. The split depends only on ids, row counts and the salt,
never on file order.

>>> rows = [{"doc_id": f"doc{i % 50}", "n": i} for i in range(200)]
>>> split = split_by_document(rows)
>>> {r["doc_id"] for r in split.train} & {r["doc_id"] for r in split.test}
set()
>>> len(split.train), len(split.test)
(180, 20)
>>> len(split_by_document(rows, test_size=48).test)
48
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.jsonl import read_jsonl
from db.paths import CULTSET, GOVSET, IFT_TEST, IFT_TRAIN

Row = Mapping[str, Any]

IFT_DIR = IFT_TRAIN.parent
IFT_SAMPLE = IFT_DIR / "ift_sample.jsonl"
IFT_PARTS = IFT_DIR / "parts"
IFT_ALL = IFT_DIR / "ift_all.jsonl"
FIELDS = ("id", "doc_id", "set", "topic", "category", "instruction", "output", "origin")
DEFAULT_ORIGIN = "written"
DEFAULT_TEST_SIZE = 500
DEFAULT_SALT = "kazarena"
NGRAM = 5
NEAR_DUPLICATE = 0.8  # word 5-gram Jaccard at or above this: near-duplicate instructions


# -- split -------------------------------------------------------------------------------------


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


def document_order_key(doc_id: str, salt: str = DEFAULT_SALT) -> str:
    """The fixed pseudo-random position of a document: hex sha256 of salt and id."""
    return hashlib.sha256(f"{salt}\x00{doc_id}".encode()).hexdigest()


def _quotas(target: int, sizes: Mapping[str, int]) -> dict[str, int]:
    """`target` shared between strata in proportion to `sizes` (largest remainder, ties by name)."""
    total = sum(sizes.values())
    exact = {s: target * n / total for s, n in sizes.items()}
    quotas = {s: int(x) for s, x in exact.items()}
    for s in sorted(exact, key=lambda s: (quotas[s] - exact[s], s))[: target - sum(quotas.values())]:
        quotas[s] += 1
    return quotas


def split_by_document(
    rows: Sequence[Row],
    *,
    test_fraction: float = 0.1,
    test_size: int | None = None,
    key: str = "doc_id",
    salt: str = DEFAULT_SALT,
    stratify: str | None = None,
    together: Iterable[Iterable[str]] = (),
) -> DocumentSplit:
    """Split rows (e.g. IFT pairs) so all rows of one document land on the same side.

    The test side gets ``test_size`` rows if given, else ``test_fraction`` of
    them (never more); ``stratify`` names a field whose strata share the target
    in proportion; ``together`` lists groups of document ids that must land on
    the same side. The rule is in the module docstring. Row order is kept
    within each side. Raises ValueError on a bad fraction or size, or a row
    without a document id in `key`.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    if test_size is not None and not 0 <= test_size <= len(rows):
        raise ValueError(f"test_size must be in [0, {len(rows)}], got {test_size}")
    for i, row in enumerate(rows):
        if not isinstance(row.get(key), str) or not row[key]:
            raise ValueError(f"row {i} has no document id in field {key!r}")

    # Units: documents, merged where `together` ties them (union-find on doc ids).
    parent: dict[str, str] = {row[key]: row[key] for row in rows}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for group in together:
        ids = sorted(d for d in group if d in parent)
        for other in ids[1:]:
            a, b = find(ids[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the root is the smallest id, whatever the order

    unit_docs: dict[str, set[str]] = defaultdict(set)
    unit_size: Counter[str] = Counter()
    unit_strata: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        unit = find(row[key])
        unit_docs[unit].add(row[key])
        unit_size[unit] += 1
        unit_strata[unit][str(row.get(stratify, "")) if stratify else ""] += 1
    stratum = {u: min(c, key=lambda s: (-c[s], s)) for u, c in unit_strata.items()}
    order = sorted(unit_size, key=lambda u: document_order_key(min(unit_docs[u]), salt))

    target = test_size if test_size is not None else test_fraction * len(rows)
    if stratify is None:
        quotas = {"": target}
    else:
        per_stratum = Counter()
        for u in order:
            per_stratum[stratum[u]] += unit_size[u]
        quotas = _quotas(int(target), per_stratum) if per_stratum else {}

    chosen: set[str] = set()
    taken = 0
    taken_in: Counter[str] = Counter()
    for pass_ in ("stratum", "top-up"):
        for u in order:
            size, s = unit_size[u], stratum[u]
            if u in chosen or taken + size > target:
                continue
            if pass_ == "stratum" and taken_in[s] + size > quotas.get(s, 0):
                continue
            chosen.add(u)
            taken += size
            taken_in[s] += size
        if stratify is None:
            break  # a single stratum: the second pass could add nothing

    test_ids = {d for u in chosen for d in unit_docs[u]}
    train = [row for row in rows if row[key] not in test_ids]
    test = [row for row in rows if row[key] in test_ids]
    return DocumentSplit(train=train, test=test, test_doc_ids=frozenset(test_ids))


# -- near-duplicates -------------------------------------------------------------------------


def word_ngrams(text: str, n: int = NGRAM) -> frozenset[tuple[str, ...]]:
    """Word n-grams of lower-cased ``\\w+`` words; fewer than n words give one gram (all of them)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < n:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def near_duplicates(
    texts: Sequence[str], *, threshold: float = NEAR_DUPLICATE, n: int = NGRAM
) -> list[tuple[int, int, float]]:
    """Every pair ``(i, j, similarity)``, i < j, of texts with word n-gram Jaccard >= threshold."""
    grams = [word_ngrams(t, n) for t in texts]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    found = []
    for j, g in enumerate(grams):
        candidates = sorted({i for gram in g for i in index[gram]})
        for i in candidates:
            sim = jaccard(grams[i], g)
            if sim >= threshold:
                found.append((i, j, sim))
        for gram in g:
            index[gram].append(j)
    return found


# -- build -----------------------------------------------------------------------------------


@dataclass
class Build:
    """What `build` made, and what it dropped or noticed on the way."""

    pairs: list[dict[str, Any]]
    split: DocumentSplit
    exact_duplicates: list[tuple[str, str]] = field(default_factory=list)  # dropped: (dropped id, kept id)
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)  # same document: dropped
    cross_document: list[tuple[str, str, float]] = field(default_factory=list)  # reported, kept together

    def files(self) -> dict[Path, str]:
        """The text of every file the build writes."""
        return {IFT_ALL: jsonl_text(self.pairs), IFT_TRAIN: jsonl_text(self.split.train),
                IFT_TEST: jsonl_text(self.split.test)}


def jsonl_text(rows: Iterable[Row]) -> str:
    return "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)


def input_files(ift_dir: Path = IFT_DIR) -> list[Path]:
    """The sample, then every ``parts/*.jsonl`` by name."""
    return [ift_dir / IFT_SAMPLE.name, *sorted((ift_dir / "parts").glob("*.jsonl"))]


def normalise(row: Row, documents: Mapping[str, Row], where: str) -> dict[str, Any]:
    """One input row as a shipped pair: the document's topic, an origin, the fields in order."""
    unknown = set(row) - set(FIELDS)
    missing = [f for f in FIELDS if f not in row and f not in ("topic", "origin")]
    if unknown or missing:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}, missing {missing}")
    doc = documents.get(row["doc_id"])
    if doc is None:
        raise ValueError(f"{where}: no document {row['doc_id']!r} in GovSet or CultSet")
    if row["set"] != doc["set"]:
        raise ValueError(f"{where}: set {row['set']!r} but document {row['doc_id']} is {doc['set']!r}")
    out = dict(row, topic=doc["topic"], origin=row.get("origin") or DEFAULT_ORIGIN)
    return {f: out[f] for f in FIELDS}


def build(
    *,
    inputs: Sequence[Path] | None = None,
    corpora: Sequence[Path] = (GOVSET, CULTSET),
    test_size: int = DEFAULT_TEST_SIZE,
    salt: str = DEFAULT_SALT,
    drop_cross_document_duplicates: bool = False,
) -> Build:
    """Read, normalise, de-duplicate and split the pairs (nothing is written)."""
    documents = {d["id"]: d for path in corpora for d in read_jsonl(path)}
    rows: list[dict[str, Any]] = []
    seen_ids: dict[str, str] = {}
    for path in inputs if inputs is not None else input_files():
        for number, row in enumerate(read_jsonl(path), start=1):
            where = f"{path}:{number}"
            pair = normalise(row, documents, where)
            if pair["id"] in seen_ids:
                raise ValueError(f"{where}: id {pair['id']!r} already used at {seen_ids[pair['id']]}")
            seen_ids[pair["id"]] = where
            rows.append(pair)

    result = Build(pairs=[], split=DocumentSplit([], [], frozenset()))
    first_with: dict[Any, str] = {}
    unique = []
    for pair in rows:
        same = pair["instruction"] if drop_cross_document_duplicates else (pair["doc_id"], pair["instruction"])
        kept = first_with.setdefault(same, pair["id"])
        if kept == pair["id"]:
            unique.append(pair)
        else:
            result.exact_duplicates.append((pair["id"], kept))

    similar: dict[int, list[tuple[int, float]]] = defaultdict(list)  # later row -> earlier rows
    for i, j, sim in near_duplicates([p["instruction"] for p in unique]):
        similar[j].append((i, sim))
    dropped: set[int] = set()
    for j in sorted(similar):  # in input order, each judged against the rows kept before it
        b = unique[j]
        earlier = [(unique[i], sim) for i, sim in similar[j] if i not in dropped]
        same = [(a, sim) for a, sim in earlier if a["doc_id"] == b["doc_id"]]
        if same:
            dropped.add(j)
            result.near_duplicates.append((b["id"], same[0][0]["id"], same[0][1]))
        else:
            result.cross_document.extend((b["id"], a["id"], sim) for a, sim in earlier)
    result.pairs = [p for k, p in enumerate(unique) if k not in dropped]

    doc_of = {p["id"]: p["doc_id"] for p in result.pairs}
    together = [(doc_of[a], doc_of[b]) for a, b, _ in result.cross_document]
    size = min(test_size, len(result.pairs))
    result.split = split_by_document(result.pairs, test_size=size, salt=salt, stratify="set", together=together)
    return result


def summary(result: Build, *, verbose: bool = False) -> str:
    """Counts for the log and the README."""
    lines = []
    for name, part in (("all", result.pairs), ("train", result.split.train), ("test", result.split.test)):
        sets = Counter(p["set"] for p in part)
        origins = Counter(p["origin"] for p in part)
        docs = len({p["doc_id"] for p in part})
        lines.append(f"{name}: {len(part)} pairs from {docs} documents; "
                     + ", ".join(f"{k} {v}" for k, v in sorted(sets.items())) + "; "
                     + ", ".join(f"{k} {v}" for k, v in sorted(origins.items())))
    categories = Counter((p["set"], p["category"]) for p in result.pairs)
    lines.append("categories: " + ", ".join(f"{s}/{c} {n}" for (s, c), n in sorted(categories.items())))
    train_out = [len(p["output"]) for p in result.split.train]
    if train_out:
        lines.append(f"train output length: mean {sum(train_out) / len(train_out):.1f} characters")
    instruction = {p["id"]: p["instruction"] for p in result.pairs}
    identical = sum(instruction[a] == instruction[b] for a, b, _ in result.cross_document)
    lines.append(f"dropped: {len(result.exact_duplicates)} exact-duplicate instructions, "
                 f"{len(result.near_duplicates)} same-document near-duplicates; "
                 f"reported: {len(result.cross_document)} cross-document duplicate pairs "
                 f"({identical} identical, {len(result.cross_document) - identical} near), "
                 "kept on one side of the split" + ("" if verbose else " (--verbose lists them)"))
    for dropped, kept in result.exact_duplicates:
        lines.append(f"  exact duplicate dropped: {dropped} = {kept}")
    for dropped, kept, sim in result.near_duplicates:
        lines.append(f"  near-duplicate dropped: {dropped} ~ {kept} ({sim:.2f})")
    if verbose:
        for later, earlier, sim in result.cross_document:
            kind = "identical" if instruction[later] == instruction[earlier] else f"{sim:.2f}"
            lines.append(f"  cross-document duplicate: {later} ~ {earlier} ({kind})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m train.data_split", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="merge data/ift parts into ift_all.jsonl, train.jsonl, test.jsonl")
    b.add_argument("--test-size", type=int, default=DEFAULT_TEST_SIZE, help="pairs on the test side")
    b.add_argument("--salt", default=DEFAULT_SALT, help="seed of the document order")
    b.add_argument("--check", action="store_true", help="only compare the shipped files with the build")
    b.add_argument("--drop-cross-document-duplicates", action="store_true",
                   help="drop an instruction already used for another document (default: keep, report)")
    b.add_argument("--verbose", action="store_true", help="list the cross-document duplicates")
    s = commands.add_parser("split", help="split one JSONL file of rows with doc_id by document")
    s.add_argument("rows", type=Path)
    s.add_argument("--out-dir", type=Path, help="default: the input's folder")
    s.add_argument("--test-fraction", type=float, default=0.1)
    args = parser.parse_args(argv)

    if args.command == "split":
        split = split_by_document(read_jsonl(args.rows), test_fraction=args.test_fraction)
        out_dir = args.out_dir or args.rows.parent
        for name, part in (("train", split.train), ("test", split.test)):
            (out_dir / f"{name}.jsonl").write_text(jsonl_text(part), encoding="utf-8")
        print(f"train {len(split.train)}, test {len(split.test)} rows ({split.test_share:.1%} test)")
        return 0

    result = build(test_size=args.test_size, salt=args.salt,
                   drop_cross_document_duplicates=args.drop_cross_document_duplicates)
    print(summary(result, verbose=args.verbose))
    stale = []
    for path, text in result.files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check:
        print("up to date" if not stale else "stale: " + ", ".join(str(p) for p in stale))
        return 1 if stale else 0
    print("wrote " + (", ".join(str(p) for p in stale) if stale else "nothing (already up to date)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
