"""Arena battles: draw a pair, stream both answers side by side, store every turn.

A battle is stored when it opens and updated after every turn, so abandoned
battles are kept too. Voting (app/services/votes.py) is allowed only once both
answers of the last turn are complete.
"""

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, update

from app.serving import client
from app.serving.calllog import CallLog
from app.serving.manager import ModelManager, ModelUnavailable
from app.serving.pipeline import Grounder, prepare_messages
from app.settings import PROJECT_ROOT, Settings
from arena.gold import make_gold_item
from arena.integrity import identity_leaks
from arena.sampler import Draw, draw_pair, pair_probabilities
from db.models import Battle, ConversationTask
from db.session import session_scope

log = logging.getLogger(__name__)
GOLD_GOOD, GOLD_BAD = "gold:reference", "gold:corrupted"
IFT_TEST = PROJECT_ROOT / "data" / "ift" / "test.jsonl"
TASK_TEMPLATE = ("Төмендегі диалогты 2-адамның атынан жалғастырыңыз.\n\n"
                 "1-адам: {question}\n2-адам: ...")


class ArenaError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def rate_limited(wait: float) -> ArenaError:
    """The refusal for a rate limit hit, `wait` seconds before the next try is allowed (sent as Retry-After)."""
    return ArenaError(429, "rate_limited", f"too many requests; try again in {math.ceil(wait)} s", retry_after=wait)


@dataclass(frozen=True)
class Arena:
    """What the arena needs from the running app."""

    manager: ModelManager
    settings: Settings
    grounder: Grounder | None
    rng: np.random.Generator

    @property
    def url(self) -> str:
        return self.settings.database_url


def model_labels(manager: ModelManager) -> dict[str, str]:
    """Display names for the reveal after a vote, gold control answers included."""
    labels = {m.name: m.label() for m in manager.config.models}
    labels |= {spec.name: spec.label() for spec in manager.contestants.values()}
    return labels | {GOLD_GOOD: "control answer (reference)", GOLD_BAD: "control answer (corrupted)"}


def eligible_models(manager: ModelManager) -> dict[str, float]:
    """Contestants that can answer now, with their arena weights."""
    out = {}
    for name, spec in manager.contestants.items():
        try:
            manager.resolve(name)
        except ModelUnavailable:
            continue
        if spec.arena_weight > 0:
            out[name] = spec.arena_weight
    return out


def _pair_votes(url: str) -> dict[frozenset[str], int]:
    with session_scope(url) as s:
        rows = s.execute(select(Battle.model_a, Battle.model_b, func.count()).where(Battle.state == "voted")
                         .group_by(Battle.model_a, Battle.model_b)).all()
    counts: dict[frozenset[str], int] = {}
    for a, b, n in rows:
        counts[frozenset((a, b))] = counts.get(frozenset((a, b)), 0) + n
    return counts


def _load_ift(path: Any = IFT_TEST) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _task(arena: Arena) -> ConversationTask:
    """A continuation task: from the table (train/ fills it), seeded from data/ when empty."""
    with session_scope(arena.url) as s:
        n = s.scalar(select(func.count()).select_from(ConversationTask)) or 0
        if n == 0:
            for p in _load_ift():
                s.add(ConversationTask(id=f"ift:{p['id']}", set=p.get("set", "govset"), topic=p.get("topic"),
                                       source_id=p["id"], origin="data",
                                       messages=[{"role": "user", "content": TASK_TEMPLATE.format(question=p["instruction"])}]))
            s.flush()
            n = s.scalar(select(func.count()).select_from(ConversationTask)) or 0
        if n == 0:
            raise ArenaError(503, "no_tasks", "no conversation tasks are available yet")
        task = s.scalars(select(ConversationTask).order_by(ConversationTask.id)
                         .offset(int(arena.rng.integers(n))).limit(1)).one()
        s.expunge(task)
        return task


def _draw(arena: Arena, exclude: frozenset[str] = frozenset()) -> Draw:
    models = eligible_models(arena.manager)
    if len(set(models) - exclude) < 2:
        raise ArenaError(503, "not_enough_models", "fewer than two models can answer right now; try again soon")
    probs = pair_probabilities(list(models), models, _pair_votes(arena.url), arena.settings.arena_balance)
    return draw_pair(probs, arena.rng, exclude)


def open_battle(arena: Arena, *, annotator_id: int, mode: str, prompt: str | None) -> Battle:
    """Store a new battle (state `open`) and mark the annotator's unvoted ones abandoned."""
    s = arena.settings
    gold = None
    if mode == "prompt":
        if not prompt or not prompt.strip():
            raise ArenaError(400, "empty_prompt", "write a question or a task for the two models")
        if len(prompt) > s.max_prompt_chars:
            raise ArenaError(400, "prompt_too_long", f"at most {s.max_prompt_chars} characters")
        messages, topic, task_id = [{"role": "user", "content": prompt}], None, None
    elif mode == "continuation":
        pool = _load_ift()
        if arena.rng.random() < s.overlap_rate and (copy := _overlap_copy(arena, annotator_id)) is not None:
            return copy
        if pool and arena.rng.random() < s.gold_rate:
            gold = make_gold_item(pool, int(arena.rng.integers(len(pool))), arena.rng)
            messages = [{"role": "user", "content": TASK_TEMPLATE.format(question=gold.prompt)}]
            topic, task_id = gold.topic, f"gold:{gold.item_id}"
        else:
            task = _task(arena)
            messages, topic, task_id = list(task.messages), task.topic, task.id
    else:
        raise ArenaError(400, "invalid_mode", "mode must be `prompt` or `continuation`")
    if gold:
        left_is_good = bool(arena.rng.integers(2))
        draw = Draw(GOLD_GOOD, GOLD_BAD, 1.0, left_is_good)
    else:
        draw = _draw(arena)
    battle = Battle(mode=mode, annotator_id=annotator_id, model_a=draw.model_a, model_b=draw.model_b,
                    position="a" if draw.left_is_a else "b", sampling_prob=draw.probability,
                    conversation_a=messages, conversation_b=list(messages), topic=topic, task_id=task_id,
                    gold=gold is not None, gold_better="model_a" if gold else None, state="open",
                    timings={"opened": datetime.now(UTC).timestamp()},
                    events=[{"type": "gold", "good": gold.good, "bad": gold.bad, "corruption": gold.corruption}] if gold else [])
    with session_scope(arena.url) as db:
        db.execute(update(Battle).where(Battle.annotator_id == annotator_id, Battle.state.in_(("open", "ready")))
                   .values(state="abandoned"))
        for side, name in (("a", draw.model_a), ("b", draw.model_b)):
            if not gold:
                route = arena.manager.resolve(name)
                setattr(battle, f"params_{side}", client.sampling_params(route, {}))
                setattr(battle, f"revision_{side}", route.server.spec.upstream_name())
        db.add(battle)
    return battle


async def _side_stream(arena: Arena, battle: Battle, side: str, queue: "asyncio.Queue[tuple[str, str | None, Exception | None]]") -> None:
    name = getattr(battle, f"model_{side}")
    convo = getattr(battle, f"conversation_{side}")
    try:
        replay = _replayed_answers(battle)
        if replay is not None:
            text = replay[side]
            for i in range(0, len(text), 40):  # same rhythm as a model, so gold looks like any battle
                await queue.put((side, text[i:i + 40], None))
                await asyncio.sleep(0)
        else:
            route = arena.manager.resolve(name)
            messages = prepare_messages(route.spec, convo, arena.grounder).messages
            params = getattr(battle, f"params_{side}") or client.sampling_params(route, {})
            call = CallLog(arena.url, "arena", name, params, messages=convo)
            status = "error"
            try:
                async for d in client.stream_chat(arena.manager, route, messages, params):
                    if d.text:
                        call.token(d.text)
                        await queue.put((side, d.text, None))
                    if d.completion_tokens:
                        call.prompt_tokens, call.completion_tokens = d.prompt_tokens, d.completion_tokens
                status = "ok"
            finally:
                call.finish(status)
        await queue.put((side, None, None))
    except Exception as exc:  # noqa: BLE001 - reported to the caller as an event
        await queue.put((side, None, exc))


def _replacement(arena: Arena, battle: Battle, failed: str) -> str | None:
    models = eligible_models(arena.manager)
    candidates = {m: w for m, w in models.items() if m not in (battle.model_a, battle.model_b)}
    if not candidates:
        return None
    names = sorted(candidates)
    weights = np.array([candidates[n] for n in names])
    return names[int(arena.rng.choice(len(names), p=weights / weights.sum()))]


async def run_turn(arena: Arena, battle: Battle) -> AsyncIterator[dict[str, Any]]:
    """Stream both answers of the battle's last user turn as left/right events, then store them."""
    left = "a" if battle.position == "a" else "b"
    label = {left: "left", ("b" if left == "a" else "a"): "right"}
    queue: asyncio.Queue[tuple[str, str | None, Exception | None]] = asyncio.Queue()
    texts: dict[str, list[str]] = {"a": [], "b": []}
    tasks = {side: asyncio.create_task(_side_stream(arena, battle, side, queue)) for side in "ab"}
    pending, failed = {"a", "b"}, False
    first_turn = battle.turn == 0
    try:
        while pending:
            side, text, exc = await queue.get()
            if exc is not None:
                if first_turn and not texts[side] and not any(e.get("type") == "replaced" for e in battle.events):
                    new = await asyncio.to_thread(_replacement, arena, battle, side)
                    if new:
                        old = getattr(battle, f"model_{side}")
                        log.warning("battle %s: %s failed on the first turn (%s); replaced by %s", battle.id, old, exc, new)
                        battle.events = [*battle.events, {"type": "replaced", "side": side, "from": old, "to": new, "error": str(exc)[:300]}]
                        setattr(battle, f"model_{side}", new)
                        route = arena.manager.resolve(new)
                        setattr(battle, f"params_{side}", client.sampling_params(route, {}))
                        setattr(battle, f"revision_{side}", route.server.spec.upstream_name())
                        yield {"side": label[side], "restart": True}
                        tasks[side] = asyncio.create_task(_side_stream(arena, battle, side, queue))
                        continue
                failed = True
                pending.discard(side)
                battle.events = [*battle.events, {"type": "error", "side": side, "turn": battle.turn + 1, "error": str(exc)[:300]}]
                yield {"side": label[side], "error": "this model failed to answer"}
            elif text is None:
                pending.discard(side)
                yield {"side": label[side], "done": True}
            else:
                texts[side].append(text)
                yield {"side": label[side], "delta": text}
    finally:
        for t in tasks.values():
            t.cancel()
        await _store_turn(arena, battle, texts, failed or bool(pending))
    yield {"state": battle.state, "battle_id": battle.id, "turn": battle.turn}


async def _store_turn(arena: Arena, battle: Battle, texts: dict[str, list[str]], failed: bool) -> None:
    answers = {side: "".join(parts) for side, parts in texts.items()}
    battle.conversation_a = [*battle.conversation_a, {"role": "assistant", "content": answers["a"]}]
    battle.conversation_b = [*battle.conversation_b, {"role": "assistant", "content": answers["b"]}]
    battle.turn += 1
    battle.state = "error" if failed else "ready"
    battle.timings = {**battle.timings, "answers_done": datetime.now(UTC).timestamp()}
    leaks = {side: identity_leaks(a) for side, a in answers.items() if _replayed_answers(battle) is None}
    if any(leaks.values()):
        battle.identity_leak = True
        battle.events = [*battle.events, {"type": "identity_leak", "turn": battle.turn, **{s: w for s, w in leaks.items() if w}}]

    def write() -> None:
        with session_scope(arena.url) as db:
            db.merge(battle)

    await asyncio.shield(asyncio.to_thread(write))  # a client that leaves must not lose the turn


def _replayed_answers(battle: Battle) -> dict[str, str] | None:
    """Answers known in advance: gold controls, and copies of a battle for a second annotator."""
    for event in battle.events:
        if event.get("type") == "gold":
            return {"a": event["good"], "b": event["bad"]}
        if event.get("type") == "overlap":
            return {"a": event["a"], "b": event["b"]}
    return None


def _overlap_copy(arena: Arena, annotator_id: int) -> Battle | None:
    """Send an already voted continuation battle to one more annotator (for inter-annotator agreement).

    The copy shows the same answers (left/right drawn afresh) and points at its original.
    """
    with session_scope(arena.url) as db:
        originals = db.scalars(
            select(Battle).where(Battle.state == "voted", Battle.mode == "continuation", Battle.gold.is_(False),
                                 Battle.annotator_id != annotator_id, Battle.turn == 1)
            .order_by(Battle.created_at.desc()).limit(50)).all()
        copies: dict[str, set[int | None]] = {}
        for row in db.scalars(select(Battle).where(Battle.task_id.like("overlap:%"))):
            copies.setdefault(row.task_id.removeprefix("overlap:"), set()).add(row.annotator_id)
        candidates = [b for b in originals if not b.task_id or not b.task_id.startswith("overlap:")]
        candidates = [b for b in candidates if annotator_id not in copies.get(b.id, set())
                      and len(copies.get(b.id, ())) + 1 < arena.settings.overlap_annotators]
        if not candidates:
            return None
        orig = candidates[int(arena.rng.integers(len(candidates)))]
        copy = Battle(mode="continuation", annotator_id=annotator_id, model_a=orig.model_a, model_b=orig.model_b,
                      position="a" if arena.rng.integers(2) else "b", sampling_prob=orig.sampling_prob,
                      conversation_a=orig.conversation_a[:-1], conversation_b=orig.conversation_b[:-1],
                      params_a=orig.params_a, params_b=orig.params_b, revision_a=orig.revision_a,
                      revision_b=orig.revision_b, topic=orig.topic, task_id=f"overlap:{orig.id}", state="open",
                      timings={"opened": datetime.now(UTC).timestamp()},
                      events=[{"type": "overlap", "of": orig.id, "a": orig.conversation_a[-1]["content"],
                               "b": orig.conversation_b[-1]["content"]}])
        db.execute(update(Battle).where(Battle.annotator_id == annotator_id, Battle.state.in_(("open", "ready")))
                   .values(state="abandoned"))
        db.add(copy)
    return copy


def add_turn(arena: Arena, *, battle: Battle, prompt: str) -> Battle:
    if battle.state != "ready":
        raise ArenaError(409, "not_ready", "this battle is not waiting for a new turn")
    if battle.mode != "prompt":
        raise ArenaError(409, "single_turn_task", "continuation tasks have one turn; vote or start a new round")
    if battle.turn >= arena.settings.arena_max_turns:
        raise ArenaError(409, "too_many_turns", f"at most {arena.settings.arena_max_turns} turns; please vote")
    if not prompt.strip() or len(prompt) > arena.settings.max_prompt_chars:
        raise ArenaError(400, "invalid_prompt", f"write 1-{arena.settings.max_prompt_chars} characters")
    battle.conversation_a = [*battle.conversation_a, {"role": "user", "content": prompt}]
    battle.conversation_b = [*battle.conversation_b, {"role": "user", "content": prompt}]
    battle.state = "open"
    with session_scope(arena.url) as db:
        db.merge(battle)
    return battle
