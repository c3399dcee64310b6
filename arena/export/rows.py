"""Database rows for the export, read in chunks, with personal data scrubbed and ids hashed.

Each function yields plain dicts whose keys are exactly the config's columns (see
``schema.py``), in a stable order (by primary key), so two exports of the same
database are identical. Columns are selected one by one rather than as ORM objects:
at a million votes that is several times faster and keeps the session's identity map
empty.

``arena.records.voted_battle_rows`` serves the statistics; the export needs more
columns (revisions, sampling parameters, comments, consent), hence its own query with
the same exclusions (banned voters, gold and flagged battles) by default.

The contestant ledger (``contestant_ledger``) is read here too, because the export may not
import ``app``; ``app.services.ledger`` writes the events at start-up and serves the same
summary to the rest of the app. The ledger is the whole arena's history: the export's
window, model list and exclusions do not apply to it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from arena.export.options import ExportOptions, IdHasher
from arena.export.pii import scrub_json, scrub_text
from db.models import Annotator, Battle, ContestantEvent, ConversationTask, JudgeVerdict, Message, Vote

__all__ = ["ContestantLedger", "Scrubber", "VoteRecord", "annotator_rows", "contestant_event_rows",
           "contestant_ledger", "contestant_rows", "feedback_rows", "judgment_rows", "vote_records"]


class Scrubber:
    """Scrubs text and keeps the running count of replacements per PII type."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._json_cache: dict[str, tuple[str, Counter[str]]] = {}

    def text(self, value: str | None) -> str | None:
        if value is None:
            return None
        done = scrub_text(value)
        if done.counts:
            self.counts.update(done.counts)
        return done.text

    def json_text(self, value: Any) -> str:
        """``value`` scrubbed and serialised with sorted keys. Sampling parameters repeat from
        battle to battle, so results are cached by the serialised input."""
        raw = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        cached = self._json_cache.get(raw)
        if cached is None:
            clean, counts = scrub_json(value)
            cached = json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":")), counts
            if len(self._json_cache) >= 1024:
                self._json_cache.clear()
            self._json_cache[raw] = cached
        self.counts.update(cached[1])
        return cached[0]

    def conversation(self, messages: Any) -> list[dict[str, str]]:
        """OpenAI messages reduced to {role, content} with text content, scrubbed."""
        out = []
        for m in messages or []:
            if not isinstance(m, dict):
                continue
            content = m.get("content")
            if isinstance(content, list):  # OpenAI content parts: keep the text parts
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            out.append({"role": str(m.get("role", "")), "content": self.text(str(content or "")) or ""})
        return out


def epoch(value: datetime | None) -> float | None:
    """Unix seconds; SQLite hands back naive date-times, which were written in UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _window(query: Select[Any], column: Any, options: ExportOptions) -> Select[Any]:
    if options.since is not None:
        query = query.where(column >= options.since)
    if options.until is not None:
        query = query.where(column < options.until)
    return query


def _battle_filters(query: Select[Any], options: ExportOptions, *, optional: bool = False) -> Select[Any]:
    """Gold/flagged/model filters on Battle; ``optional``: rows without a battle pass."""
    conditions = []
    if not options.include_gold:
        conditions.append(Battle.gold.is_(False))
    if not options.include_flagged:
        conditions.append(Battle.flagged.is_(False))
    for condition in conditions:
        query = query.where(or_(Battle.id.is_(None), condition) if optional else condition)
    if options.models:
        # Rows with no battle have no models and cannot be matched against the list.
        query = query.where(Battle.model_a.in_(options.models), Battle.model_b.in_(options.models))
    return query


def _first_question(conversation: Any) -> str | None:
    first = next((m.get("content") for m in conversation or [] if m.get("role") == "user"), None)
    return first if isinstance(first, str) and first.strip() else None


class VoteRecord:
    """One vote with its battle, already turned into its `battles`, `votes` and `dpo` rows."""

    __slots__ = ("annotator_id", "battle", "vote", "dpo")

    def __init__(self, annotator_id: int, battle: dict[str, Any], vote: dict[str, Any],
                 dpo: dict[str, Any] | None) -> None:
        self.annotator_id, self.battle, self.vote, self.dpo = annotator_id, battle, vote, dpo


def _deciding_dimension(winner: str, content: str | None, language: str | None) -> str:
    """Which dimension chose the winner of a decisive vote (finer than Vote.decided_by)."""
    if content == winner and language == winner:
        return "content+language"
    if content == winner and language == "tie":
        return "content"
    if language == winner and content == "tie":
        return "language"
    return "overall"  # the dimensions disagreed: the overall choice decided


def _dpo_row(battle: dict[str, Any], vote: dict[str, Any]) -> dict[str, Any] | None:
    winner = vote["winner"]
    if winner not in ("model_a", "model_b") or vote["both_bad"]:
        return None
    conv_a, conv_b = battle["conversation_a"], battle["conversation_b"]
    shared = 0  # the prompt is what both sides saw: the conversations' common prefix
    while shared < min(len(conv_a), len(conv_b)) and conv_a[shared] == conv_b[shared]:
        shared += 1
    chosen, rejected = (conv_a, conv_b) if winner == "model_a" else (conv_b, conv_a)
    if shared == 0 or len(chosen) == shared or len(rejected) == shared:
        return None
    loser = "model_b" if winner == "model_a" else "model_a"
    return {
        "question_id": battle["question_id"], "vote_id": vote["vote_id"], "judge": vote["judge"],
        "prompt": conv_a[:shared], "chosen": chosen[shared:], "rejected": rejected[shared:],
        "chosen_model": battle[winner], "rejected_model": battle[loser],
        "decided_by": _deciding_dimension(winner, vote["winner_content"], vote["winner_language"]),
        "winner_content": vote["winner_content"], "winner_language": vote["winner_language"],
        "topic": battle["topic"], "language": battle["language"], "tstamp": vote["tstamp"],
    }


def vote_records(*, session: Session, options: ExportOptions, hasher: IdHasher, scrub: Scrubber,
                 language_of: Callable[[str], str | None] | None = None) -> Iterator[VoteRecord]:
    """Every exported vote in vote-id order, as `battles`/`votes`/`dpo` rows in one pass."""
    query = (
        select(Vote.id, Vote.created_at, Vote.annotator_id, Vote.winner, Vote.winner_content,
               Vote.winner_language, Vote.winner_overall, Vote.decided_by, Vote.both_bad, Vote.comment,
               Vote.reasons, Vote.consent_version, Vote.seconds_to_vote,
               Battle.id.label("battle_id"), Battle.model_a, Battle.model_b, Battle.conversation_a,
               Battle.conversation_b, Battle.turn, Battle.position, Battle.sampling_prob, Battle.mode,
               Battle.topic, Battle.revision_a, Battle.revision_b, Battle.params_a, Battle.params_b,
               Battle.identity_leak, Battle.gold, Battle.gold_better, Battle.flagged,
               ConversationTask.set.label("source_set"))
        .join(Battle, Vote.battle_id == Battle.id)
        .join(Annotator, Vote.annotator_id == Annotator.id)
        .outerjoin(ConversationTask, Battle.task_id == ConversationTask.id)
        .order_by(Vote.id)
    )
    if not options.include_banned:
        query = query.where(Annotator.banned.is_(False))
    query = _battle_filters(_window(query, Vote.created_at, options), options)
    for r in session.execute(query.execution_options(yield_per=options.chunk_size)):
        judge = hasher(r.annotator_id)
        tstamp = epoch(r.created_at)
        battle = {
            "question_id": r.battle_id, "vote_id": r.id, "model_a": r.model_a, "model_b": r.model_b,
            "winner": r.winner, "judge": judge,
            "conversation_a": scrub.conversation(r.conversation_a),
            "conversation_b": scrub.conversation(r.conversation_b),
            "turn": r.turn, "anony": True, "language": language_of(q) if language_of and (q := _first_question(r.conversation_a)) else None, "tstamp": tstamp,
            "winner_content": r.winner_content, "winner_language": r.winner_language,
            "winner_overall": r.winner_overall, "decided_by": r.decided_by, "both_bad": r.both_bad,
            "position": r.position, "sampling_prob": r.sampling_prob, "mode": r.mode, "topic": r.topic,
            "source_set": r.source_set, "model_a_revision": r.revision_a, "model_b_revision": r.revision_b,
            "sampling_params_a": scrub.json_text(r.params_a or {}),
            "sampling_params_b": scrub.json_text(r.params_b or {}),
            "identity_leak": r.identity_leak, "gold": r.gold, "gold_better": r.gold_better, "flagged": r.flagged,
        }
        vote = {
            "vote_id": r.id, "question_id": r.battle_id, "judge": judge, "model_a": r.model_a,
            "model_b": r.model_b, "winner": r.winner, "winner_content": r.winner_content,
            "winner_language": r.winner_language, "winner_overall": r.winner_overall,
            "decided_by": r.decided_by, "both_bad": r.both_bad, "comment": scrub.text(r.comment),
            "reasons_a": (r.reasons or {}).get("model_a", []), "reasons_b": (r.reasons or {}).get("model_b", []),
            "consent_version": r.consent_version, "seconds_to_vote": r.seconds_to_vote, "tstamp": tstamp,
        }
        yield VoteRecord(r.annotator_id, battle, vote, _dpo_row(battle, vote))


def feedback_rows(*, session: Session, options: ExportOptions, hasher: IdHasher,
                  scrub: Scrubber) -> Iterator[dict[str, Any]]:
    """Rated answers (thumbs) from the messages table, with the user's message of that turn."""
    user = aliased(Message)
    prompt = (select(user.content)
              .where(user.conversation_id == Message.conversation_id, user.turn == Message.turn,
                     user.role == "user")
              .order_by(user.id).limit(1).correlate(Message).scalar_subquery())
    query = (select(Message.id, Message.created_at, Message.conversation_id,
                    Message.turn, Message.model, Message.language, Message.feedback, Message.feedback_reason,
                    Message.content, Message.sources, prompt.label("prompt"))
             .where(Message.feedback.is_not(None))
             .order_by(Message.id))
    query = _window(query, Message.created_at, options)
    if options.models:  # the filter selects battles between the listed models; chat answers are in none
        query = query.where(false())
    for r in session.execute(query.execution_options(yield_per=options.chunk_size)):
        sources = scrub.json_text(r.sources) if r.sources else None
        yield {
            "message_id": r.id, "conversation_id": hasher(f"conversation:{r.conversation_id}"),
            "turn": r.turn, "model": r.model, "language": r.language,
            "feedback": r.feedback, "feedback_reason": scrub.text(r.feedback_reason),
            "prompt": scrub.text(r.prompt), "response": scrub.text(r.content), "sources": sources,
            "tstamp": epoch(r.created_at),
        }


def judgment_rows(*, session: Session, options: ExportOptions, scrub: Scrubber) -> Iterator[dict[str, Any]]:
    """Judge verdicts, one row per order, with the battle's models where there is a battle."""
    v = JudgeVerdict
    query = (select(v.id, v.created_at, v.battle_id, v.item_id, v.judge_model, v.prompt_hash, v.dimension,
                    v.order.label("judge_order"), v.verdict, v.consistent, v.raw_text, v.prompt_tokens,
                    v.completion_tokens, Battle.model_a, Battle.model_b)
             .outerjoin(Battle, v.battle_id == Battle.id)
             .order_by(v.id))
    query = _battle_filters(_window(query, v.created_at, options), options, optional=True)
    for r in session.execute(query.execution_options(yield_per=options.chunk_size)):
        yield {
            "verdict_id": r.id, "question_id": r.battle_id, "item_id": r.item_id, "model_a": r.model_a,
            "model_b": r.model_b, "judge_model": r.judge_model, "prompt_hash": r.prompt_hash,
            "dimension": r.dimension, "order": r.judge_order, "verdict": r.verdict, "consistent": r.consistent,
            "raw_text": scrub.text(r.raw_text), "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens, "tstamp": epoch(r.created_at),
        }


def annotator_rows(*, session: Session, votes_by_annotator: dict[int, int], hasher: IdHasher,
                   scrub: Scrubber, chunk: int = 500) -> list[dict[str, Any]]:
    """Profiles of the annotators who voted in this export, sorted by their hash.

    Sorting by hash rather than id keeps registration order out of the file.
    """
    rows = []
    ids = sorted(votes_by_annotator)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        query = select(Annotator.id, Annotator.proficiency, Annotator.education, Annotator.region,
                       Annotator.script, Annotator.consent_version).where(Annotator.id.in_(part) if part else false())
        for r in session.execute(query):
            rows.append({
                "judge": hasher(r.id), "proficiency": r.proficiency, "education": scrub.text(r.education),
                "region": scrub.text(r.region), "script": r.script, "consent_version": r.consent_version,
                "n_votes": votes_by_annotator[r.id],
            })
    return sorted(rows, key=lambda row: row["judge"])


@dataclass(frozen=True)
class ContestantLedger:
    """One contestant's history, folded from its ``contestant_events`` rows (oldest first)."""

    model: str
    kind: str
    revision: str  # the current one, or the last one served if retired
    source: str
    arena_weight: float  # configured weight now; 0 once retired
    served: bool  # served at the last start-up
    added_at: datetime  # first served
    changed_at: datetime | None  # last change of revision, source or kind; None if never
    retired_at: datetime | None  # when it stopped being served; None while served
    revision_since: datetime  # since when the current revision has answered (its added or changed event)
    n_revisions: int  # distinct revisions ever served under this name
    weights: tuple[tuple[datetime, float], ...]  # (from when, configured weight), one entry per change
    n_battles: int  # battles it was drawn into, voted or not
    n_votes: int  # votes on those battles, every stored vote (excluded annotators and battles too)
    n_votes_current_revision: int  # those cast since revision_since


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _per_model(rows: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for a, b, n in rows:
        counts[a] += n
        counts[b] += n
    return counts


def contestant_ledger(*, session: Session) -> list[ContestantLedger]:
    """Every contestant ever served, sorted by name, with its revisions, weights and vote counts."""
    history: dict[str, list[ContestantEvent]] = {}
    for event in session.scalars(select(ContestantEvent).order_by(ContestantEvent.id)):
        history.setdefault(event.model, []).append(event)
    pair = (Battle.model_a, Battle.model_b)
    battles = _per_model(session.execute(select(*pair, func.count()).group_by(*pair)))
    votes = _per_model(session.execute(select(*pair, func.count(Vote.id)).join(Vote, Vote.battle_id == Battle.id)
                                       .group_by(*pair)))
    out = []
    for model in sorted(history):
        events = history[model]
        last = events[-1]
        starts = [e for e in events if e.event in ("added", "changed")]
        since = _utc(starts[-1].created_at)
        weights: list[tuple[datetime, float]] = []
        for e in events:
            if not weights or e.arena_weight != weights[-1][1]:
                weights.append((_utc(e.created_at), e.arena_weight))
        changed = [e for e in events if e.event == "changed"]
        current = session.scalar(
            select(func.count(Vote.id)).join(Battle, Vote.battle_id == Battle.id)
            .where(or_(Battle.model_a == model, Battle.model_b == model), Vote.created_at >= since))
        out.append(ContestantLedger(
            model=model, kind=last.kind, revision=last.revision, source=last.source,
            arena_weight=last.arena_weight, served=last.event != "retired",
            added_at=_utc(events[0].created_at), changed_at=_utc(changed[-1].created_at) if changed else None,
            retired_at=_utc(last.created_at) if last.event == "retired" else None, revision_since=since,
            n_revisions=len({e.revision for e in events}), weights=tuple(weights), n_battles=battles[model],
            n_votes=votes[model], n_votes_current_revision=current or 0))
    return out


def contestant_rows(*, session: Session, scrub: Scrubber) -> list[dict[str, Any]]:
    """The ``contestants`` config: ``contestant_ledger`` with times as Unix seconds."""
    return [{
        "model": c.model, "kind": c.kind, "revision": c.revision, "source": scrub.text(c.source),
        "served": c.served, "arena_weight": c.arena_weight, "added_tstamp": epoch(c.added_at),
        "changed_tstamp": epoch(c.changed_at), "retired_tstamp": epoch(c.retired_at),
        "revision_tstamp": epoch(c.revision_since), "n_revisions": c.n_revisions,
        "weight_history": [{"tstamp": epoch(at), "arena_weight": w} for at, w in c.weights],
        "n_battles": c.n_battles, "n_votes": c.n_votes, "n_votes_current_revision": c.n_votes_current_revision,
    } for c in contestant_ledger(session=session)]


def contestant_event_rows(*, session: Session, scrub: Scrubber) -> Iterator[dict[str, Any]]:
    """The ``contestant_events`` config: the ledger's rows as written, in id order."""
    e = ContestantEvent
    query = select(e.id, e.created_at, e.model, e.event, e.revision, e.source, e.kind, e.arena_weight,
                   e.settings, e.description).order_by(e.id)
    for r in session.execute(query):
        yield {
            "event_id": r.id, "model": r.model, "event": r.event, "revision": r.revision,
            "source": scrub.text(r.source), "kind": r.kind, "arena_weight": r.arena_weight,
            "settings": scrub.json_text(r.settings or {}), "description": scrub.text(r.description),
            "tstamp": epoch(r.created_at),
        }
