"""The transparency ledger: every contestant ever served, with what, how heavily sampled, since when.

"The Leaderboard Illusion" (Singh et al., 2025) found arena models withdrawn, swapped and sampled
unequally without notice. So each start-up compares the contestants served now with the newest
`contestant_events` row of each name and appends what differs: a new name (or one retired
before) is `added`, a new revision, source or kind is `changed`, a new arena_weight is `weight`,
a name served before but not now is `retired`. Restarting with the same models writes nothing.
The summary per contestant (`ledger`) is folded in arena.export.rows, because the research export
needs it too and may not import app.

A revision is the first 12 hex digits of a SHA-256 over what answers, cheap enough for every
start-up and the same on every machine:
- packaged model: the GGUF checksum in the prepared directory's manifest (packaged.revision);
- local model directory or LoRA adapter: name, size and first and last MiB of each file vLLM
  reads (configs, tokenizer, weights; not READMEs or licences). Retraining changes the tensors
  at both ends of a safetensors file, and a few MiB of a multi-GB checkpoint take milliseconds;
- Hub id or external server: its name, since the arena cannot see those weights;
- with the settings that shape the answers: pipeline, system prompt, sampling, serving options.
"""

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.serving.packaged import prepared_dir
from app.serving.packaged import revision as packaged_revision
from app.serving.registry import ModelSpec, resolve_lora_path, resolve_model_path
from arena.export.rows import ContestantLedger, contestant_ledger
from db.models import ContestantEvent

__all__ = ["ADDED", "CHANGED", "RETIRED", "WEIGHT", "Served", "ledger", "record_contestants", "served"]

log = logging.getLogger(__name__)

ADDED, CHANGED, WEIGHT, RETIRED = "added", "changed", "weight", "retired"
_SERVED_FILES = frozenset({".json", ".safetensors", ".bin", ".gguf", ".model", ".txt", ".jinja", ".tiktoken"})
_END = 1 << 20  # bytes read at each end of a file
_PG_LOCK = 0x6B7A6C67  # advisory lock key: two replicas starting together must not both append


@dataclass(frozen=True)
class Served:
    """One contestant as served now, in the terms of a ledger row."""

    model: str
    kind: str
    revision: str
    source: str
    arena_weight: float
    settings: Mapping[str, Any]  # what answers: weights fingerprint, pipeline, prompt, sampling, serving


def _dir_fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in _SERVED_FILES):
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with path.open("rb") as f:
            digest.update(f.read(_END))
            if size > 2 * _END:
                f.seek(-_END, os.SEEK_END)
            digest.update(f.read())
    return digest.hexdigest()[:16]


def _weights(server: ModelSpec, models_dir: Path) -> tuple[str, str]:
    """(source, fingerprint) of the weights a server loads. Paths are cut to their last part: a move
    of the same files is no change, and the host's layout does not belong in a published export."""
    if server.packaged:
        return f"packaged:{server.packaged}", packaged_revision(prepared_dir(models_dir, server.packaged))
    if server.path:
        target = resolve_model_path(server, models_dir)
        if isinstance(target, Path):
            return f"path:{target.name}", _dir_fingerprint(target) if target.is_dir() else ""
        return f"hub:{target}", f"hub:{target}"
    host = urlsplit(server.base_url or "").hostname or server.base_url
    source = f"external:{host} model:{server.upstream_name()}"
    return source, source


def served(spec: ModelSpec, *, server: ModelSpec, models_dir: Path) -> Served:
    """What `spec` is now; `server` is the entry whose server answers for it (itself, or its `server:`)."""
    source, fingerprint = _weights(server, models_dir)
    if spec.lora:
        adapter = resolve_lora_path(spec, models_dir)
        source += f" + lora:{adapter.name}"
        fingerprint += f"+{_dir_fingerprint(adapter)}"
    settings: dict[str, Any] = {"weights": fingerprint, "pipeline": spec.pipeline, "system_prompt": spec.system_prompt,
                                "sampling": spec.sampling.model_dump(exclude_none=True)}
    if server.managed:
        settings["serving"] = {"dtype": server.dtype, "max_model_len": server.max_model_len,
                               "vllm_args": list(server.vllm_args)}
    canonical = json.dumps(settings, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return Served(model=spec.name, kind=spec.kind, revision=hashlib.sha256(canonical.encode()).hexdigest()[:12],
                  source=source, arena_weight=spec.arena_weight, settings=settings)


def _row(now: Served, event: str, description: str) -> ContestantEvent:
    return ContestantEvent(model=now.model, event=event, revision=now.revision, source=now.source, kind=now.kind,
                           arena_weight=now.arena_weight, settings=dict(now.settings), description=description)


def _events(before: ContestantEvent | None, now: Served | None) -> list[ContestantEvent]:
    if now is None:
        if before is None or before.event == RETIRED:
            return []
        return [ContestantEvent(model=before.model, event=RETIRED, revision=before.revision, source=before.source,
                                kind=before.kind, arena_weight=0.0, settings=before.settings,
                                description="no longer served")]
    if before is None or before.event == RETIRED:
        return [_row(now, ADDED, "first served" if before is None else "served again after retirement")]
    out = []
    changes = [f"{name} {old} → {new}" for name, old, new in (
        ("revision", before.revision, now.revision), ("source", before.source, now.source),
        ("kind", before.kind, now.kind)) if old != new]
    if changes:
        settings = before.settings or {}
        differ = sorted(k for k in settings.keys() | now.settings.keys() if settings.get(k) != now.settings.get(k))
        out.append(_row(now, CHANGED, "; ".join(changes) + (f" ({', '.join(differ)})" if differ else "")))
    if before.arena_weight != now.arena_weight:
        out.append(_row(now, WEIGHT, f"arena_weight {before.arena_weight:g} → {now.arena_weight:g}"))
    return out


def record_contestants(*, session: Session, specs: Sequence[ModelSpec], models_dir: Path,
                       now: datetime | None = None) -> list[ContestantEvent]:
    """Append the ledger events that take the last known state to `specs`, the contestants served now
    (ModelManager.contestants); returns the new rows, none when nothing changed. An entry with
    `server:` must find that server among `specs`, as the manager guarantees."""
    by_name = {spec.name: spec for spec in specs}
    current = {}
    for spec in specs:
        server = by_name.get(spec.server) if spec.server else spec
        if server is None:
            raise ValueError(f"contestant {spec.name!r}: its server {spec.server!r} is not among those served")
        current[spec.name] = served(spec, server=server, models_dir=models_dir)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    newest = select(func.max(ContestantEvent.id)).group_by(ContestantEvent.model)
    last = {e.model: e for e in session.scalars(select(ContestantEvent).where(ContestantEvent.id.in_(newest)))}
    at = now or datetime.now(UTC)
    rows = [row for name in sorted(current.keys() | last.keys()) for row in _events(last.get(name), current.get(name))]
    for row in rows:
        row.created_at = at
        log.info("contestant ledger: %s %s (%s)", row.model, row.event, row.description)
    session.add_all(rows)
    session.flush()
    return rows


def ledger(*, session: Session) -> list[ContestantLedger]:
    """Every contestant ever served, by name: first added, last changed, retired, current revision,
    weight history, battles and votes (folded in arena.export.rows, shared with the export)."""
    return contestant_ledger(session=session)
