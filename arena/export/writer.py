"""Write the export: one folder per config, parquet row groups and/or JSON lines as rows come.

Layout (loadable with ``datasets.load_dataset(OUT_DIR, CONFIG)``)::

    OUT_DIR/README.md                  dataset card; its YAML lists the configs
    OUT_DIR/<config>/train.parquet     one row group per ``row_group_size`` rows
    OUT_DIR/<config>/train.jsonl       with --format jsonl or both

Memory stays flat: rows are read in chunks and at most one row group per config is
held at a time. Files are deterministic: rows are sorted by primary key (annotators by
hash), every parquet file has a fixed schema, and nothing records the time of the
export (the card's dates come from the data).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from arena.export.card import render_card
from arena.export.options import ExportOptions, IdHasher
from arena.export.pii import PII_TYPES
from arena.export.rows import (
    Scrubber,
    annotator_rows,
    contestant_event_rows,
    contestant_rows,
    feedback_rows,
    judgment_rows,
    vote_records,
)
from arena.export.salt import check_salt
from arena.export.schema import CONFIGS, ConfigSpec

__all__ = ["ExportSummary", "TableSink", "data_file", "export_dataset"]

logger = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
EXTENSIONS = {"parquet": "parquet", "jsonl": "jsonl"}


def data_file(config: str, fmt: str) -> str:
    """Path of a config's data file, relative to the export folder."""
    return f"{config}/train.{EXTENSIONS[fmt]}"


@dataclass(frozen=True)
class ExportSummary:
    """What was written: rows per config, PII replacements per type, the data's time span."""

    out_dir: Path
    options: ExportOptions
    counts: dict[str, int]
    pii: dict[str, int]
    first_tstamp: float | None
    last_tstamp: float | None
    consent_versions: dict[str, int]  # votes per consent version
    source_sets: dict[str, int]  # battle rows per task source (govset, cultset; "" = voter-written)
    key_id: str
    files: tuple[str, ...] = field(default=())


class TableSink:
    """Rows of one config → its data files, a row group at a time."""

    def __init__(self, out_dir: Path, spec: ConfigSpec, formats: tuple[str, ...], row_group_size: int,
                 progress: Progress | None = None) -> None:
        self.spec, self.row_group_size, self.progress = spec, row_group_size, progress
        self.count = 0
        self.files = tuple(data_file(spec.name, fmt) for fmt in formats)
        (out_dir / spec.name).mkdir(parents=True, exist_ok=True)
        self._rows: list[dict[str, Any]] = []
        self._parquet = (pq.ParquetWriter(out_dir / data_file(spec.name, "parquet"), spec.schema,
                                          compression="zstd") if "parquet" in formats else None)
        self._jsonl = (open(out_dir / data_file(spec.name, "jsonl"), "w", encoding="utf-8", newline="\n")
                       if "jsonl" in formats else None)

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self.count += 1
        if len(self._rows) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._parquet is not None:
            # Column lists are ~40x faster to convert than a list of row dicts.
            columns = {name: [row[name] for row in self._rows] for name in self.spec.names}
            table = pa.Table.from_pydict(columns, schema=self.spec.schema)
            self._parquet.write_table(table, row_group_size=len(self._rows))
        if self._jsonl is not None:
            names = self.spec.names
            self._jsonl.write("".join(
                json.dumps({k: row[k] for k in names}, ensure_ascii=False, separators=(",", ":")) + "\n"
                for row in self._rows))
        self._rows.clear()
        if self.progress is not None:
            self.progress(self.spec.name, self.count)

    def close(self) -> None:
        try:
            self._flush()
        finally:
            if self._parquet is not None:
                self._parquet.close()
            if self._jsonl is not None:
                self._jsonl.close()

    def __enter__(self) -> TableSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _clear_previous(out_dir: Path) -> None:
    """Remove data files an earlier export into this folder left (only our own names)."""
    for config in CONFIGS:
        for fmt in EXTENSIONS:
            (out_dir / data_file(config, fmt)).unlink(missing_ok=True)
    (out_dir / "README.md").unlink(missing_ok=True)


def export_dataset(*, session: Session, out_dir: Path, options: ExportOptions, salt: str,
                   progress: Progress | None = None,
                   language_of: Callable[[str], str | None] | None = None) -> ExportSummary:
    """Export every config from the database into ``out_dir`` and write the dataset card.

    ``language_of`` tags each battle with the language of its first question (kazarena passes
    eval.langid.detect_language, as the chat tags its messages); without it the column is null.
    """
    check_salt(salt)  # WeakSaltError (a ValueError) before anything is written
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous(out_dir)
    hasher, scrub = IdHasher(salt), Scrubber()
    formats, size = options.formats, options.row_group_size
    counts: dict[str, int] = {}
    files: list[str] = []
    votes_by_annotator: Counter[int] = Counter()
    consent: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    first: float | None = None
    last: float | None = None

    def sink(name: str) -> TableSink:
        return TableSink(out_dir, CONFIGS[name], formats, size, progress)

    with sink("battles") as battles, sink("votes") as votes, sink("dpo") as dpo:
        for record in vote_records(session=session, options=options, hasher=hasher, scrub=scrub,
                                   language_of=language_of):
            battles.add(record.battle)
            votes.add(record.vote)
            if record.dpo is not None:
                dpo.add(record.dpo)
            votes_by_annotator[record.annotator_id] += 1
            consent[record.vote["consent_version"] or ""] += 1
            sources[record.battle["source_set"] or ""] += 1
            t = record.vote["tstamp"]
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
    for done in (battles, votes, dpo):
        counts[done.spec.name] = done.count
        files.extend(done.files)

    with sink("turn_feedback") as feedback:
        for row in feedback_rows(session=session, options=options, hasher=hasher, scrub=scrub):
            feedback.add(row)
    with sink("judgments") as judgments:
        for row in judgment_rows(session=session, options=options, scrub=scrub):
            judgments.add(row)
    with sink("annotators") as annotators:
        for row in annotator_rows(session=session, votes_by_annotator=dict(votes_by_annotator),
                                  hasher=hasher, scrub=scrub):
            annotators.add(row)
    with sink("contestants") as contestants, sink("contestant_events") as events:
        for row in contestant_rows(session=session, scrub=scrub):
            contestants.add(row)
        for row in contestant_event_rows(session=session, scrub=scrub):
            events.add(row)
    for done in (feedback, judgments, annotators, contestants, events):
        counts[done.spec.name] = done.count
        files.extend(done.files)

    summary = ExportSummary(
        out_dir=out_dir, options=options, counts={name: counts[name] for name in CONFIGS},
        pii={kind: scrub.counts.get(kind, 0) for kind in PII_TYPES}, first_tstamp=first, last_tstamp=last,
        consent_versions=dict(sorted(consent.items())), source_sets=dict(sorted(sources.items())),
        key_id=hasher.key_id(), files=(*sorted(files), "README.md"),
    )
    (out_dir / "README.md").write_text(render_card(summary), encoding="utf-8", newline="\n")
    logger.info("exported %s to %s", summary.counts, out_dir)
    return summary
