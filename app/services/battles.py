"""Arena battles: draw a pair, stream both answers side by side, store every turn.

A battle is stored when it opens and updated after every turn, so abandoned
battles are kept too. Voting (app/services/votes.py) is allowed only once both
answers of the last turn are complete. Every entry point hands the caller's
credentials in; admission (login, ban, rate limit, ownership) happens here.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.errors import ServiceError
from app.runtime import Runtime
from app.services import admission, inputs
from app.services.admission import Caller
from app.services.leaderboard import judge_trusted_topics
from app.services.live import LiveTurn
from app.serving import client
from app.serving.calllog import CallLog, logged_chat_stream
from app.serving.manager import ModelManager, ModelUnavailable
from app.serving.pipeline import prepare_messages
from arena.active_sampler import active_pair_probabilities
from arena.battle_table import A_WINS, B_WINS, TIE
from arena.gold import GOLD_BAD, GOLD_GOOD, make_gold_item, replayed_answers
from arena.integrity import identity_leaks
from arena.ratings.pairs import PairCounts
from arena.sampler import Draw, draw_pair, pair_probabilities
from db.models import Battle, ConversationTask, Vote
from db.session import session_scope
from eval.judge.trust import NO_TOPIC

log = logging.getLogger(__name__)
TASK_TEMPLATE = ("Төмендегі диалогты 2-адамның атынан жалғастырыңыз.\n\n"
                 "1-адам: {question}\n2-адам: ...")
NOT_YOURS = ServiceError("not_found", "battle_not_found", "no such battle among yours")


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


def _pair_votes(session: Session) -> dict[frozenset[str], int]:
    rows = session.execute(select(Battle.model_a, Battle.model_b, func.count()).where(Battle.state == "voted")
                           .group_by(Battle.model_a, Battle.model_b)).all()
    counts: dict[frozenset[str], int] = {}
    for a, b, n in rows:
        counts[frozenset((a, b))] = counts.get(frozenset((a, b)), 0) + n
    return counts


def _voted_pairs(session: Session, models: list[str]) -> PairCounts | None:
    """The overall votes among ``models`` (gold controls left out: their answers are planted) as pair counts."""
    rows = session.execute(
        select(Battle.model_a, Battle.model_b, Vote.winner, func.count())
        .join(Vote, Vote.battle_id == Battle.id)
        .where(Battle.gold.is_(False), Battle.model_a.in_(models), Battle.model_b.in_(models))
        .group_by(Battle.model_a, Battle.model_b, Vote.winner)).all()
    if not rows:
        return None
    names = tuple(sorted(models))
    code = {"model_a": A_WINS, "model_b": B_WINS}
    a, b, outcome, count = zip(*((names.index(x), names.index(y), code.get(w, TIE), n) for x, y, w, n in rows),
                               strict=True)
    repeat = np.asarray(count)
    return PairCounts.from_arrays(names, np.repeat(a, repeat), np.repeat(b, repeat), np.repeat(outcome, repeat))


def seed_tasks(*, session: Session, pairs: Any) -> int:
    """Fill an empty conversation_tasks table from the reference pairs; returns how many tasks there are."""
    n = session.scalar(select(func.count()).select_from(ConversationTask)) or 0
    if n == 0:
        for p in pairs:
            session.add(ConversationTask(id=f"ift:{p['id']}", set=p.get("set", "govset"), topic=p.get("topic"),
                                         source_id=p["id"], origin="data",
                                         messages=[{"role": "user", "content": TASK_TEMPLATE.format(question=p["instruction"])}]))
        session.flush()
        n = session.scalar(select(func.count()).select_from(ConversationTask)) or 0
    return n


class _TrustedTopics:
    """The judge's trusted topics per database, recomputed at most every `ttl` seconds (the judge runs offline)."""

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str] | None]] = {}

    def get(self, runtime: Runtime, session: Session) -> frozenset[str] | None:
        now = time.monotonic()
        hit = self._cache.get(runtime.database_url)
        if hit is None or now - hit[0] > self.ttl:
            topics = judge_trusted_topics(session=session, threshold=runtime.settings.judge_trust_threshold)
            self._cache[runtime.database_url] = hit = (now, topics)
        return hit[1]


TRUSTED_TOPICS = _TrustedTopics()


def _task(runtime: Runtime, session: Session) -> ConversationTask:
    """A continuation task: from the table (train/ fills it; seeded from the reference pairs when empty).

    With a share of `judge_route_share`, it comes from the topics where the judge has not earned trust,
    so people vote there first; elsewhere the judge's verdicts can stand in for some of theirs.
    """
    n = seed_tasks(session=session, pairs=runtime.reference_pairs)
    if n == 0:
        raise ServiceError("unavailable", "no_tasks", "no conversation tasks are available yet")
    tasks = select(ConversationTask)
    share = runtime.settings.judge_route_share
    if share > 0 and runtime.rng.random() < share and (trusted := TRUSTED_TOPICS.get(runtime, session)) is not None:
        unsure = ConversationTask.topic.not_in(trusted)
        if NO_TOPIC not in trusted:
            unsure = unsure | ConversationTask.topic.is_(None)
        m = session.scalar(select(func.count()).select_from(ConversationTask).where(unsure)) or 0
        if m:
            tasks, n = tasks.where(unsure), m
    return session.scalars(tasks.order_by(ConversationTask.id).offset(int(runtime.rng.integers(n))).limit(1)).one()


def _draw(runtime: Runtime, session: Session, exclude: frozenset[str] = frozenset()) -> Draw:
    models = eligible_models(runtime.manager)
    if len(set(models) - exclude) < 2:
        raise ServiceError("unavailable", "not_enough_models", "fewer than two models can answer right now; try again soon")
    s = runtime.settings
    if s.arena_policy == "active":
        probs = active_pair_probabilities(list(models), _voted_pairs(session, list(models)), floor=s.arena_active_floor)
    else:
        probs = pair_probabilities(list(models), models, _pair_votes(session), s.arena_balance)
    return draw_pair(probs, runtime.rng, exclude)


def open_battle(runtime: Runtime, caller: Caller, *, mode: str, prompt: str | None) -> Battle:
    """Admit the caller, store a new battle (state `open`) and mark their unvoted ones abandoned."""
    with session_scope(runtime.database_url) as db:
        who = admission.limited(db, caller, runtime.rate_limits.battles)
        battle = _new_battle(runtime, db, who.id, mode, prompt)
        db.execute(update(Battle).where(Battle.annotator_id == who.id, Battle.state.in_(("open", "ready")))
                   .values(state="abandoned"))
        db.add(battle)
        db.flush()
        db.expunge(battle)
    for old in runtime.live_turns.of_annotator(who.id):  # their answers are no longer wanted
        old.request_stop()
    return battle


def _new_battle(runtime: Runtime, db: Session, annotator_id: int, mode: str, prompt: str | None) -> Battle:
    s, rng = runtime.settings, runtime.rng
    gold = None
    if mode == "prompt":
        prompt = inputs.text("prompt", prompt, runtime.limits.prompt_chars)
        messages, topic, task_id = [{"role": "user", "content": prompt}], None, None
    elif mode == "continuation":
        pool = runtime.reference_pairs
        if rng.random() < s.overlap_rate and (copy := _overlap_copy(runtime, db, annotator_id)) is not None:
            return copy
        if pool and rng.random() < s.gold_rate:
            gold = make_gold_item(pool, int(rng.integers(len(pool))), rng)
            messages = [{"role": "user", "content": TASK_TEMPLATE.format(question=gold.prompt)}]
            topic, task_id = gold.topic, f"gold:{gold.item_id}"
        else:
            task = _task(runtime, db)
            messages, topic, task_id = list(task.messages), task.topic, task.id
    else:
        raise ServiceError("invalid", "invalid_mode", "mode must be `prompt` or `continuation`")
    if gold:
        draw = Draw(GOLD_GOOD, GOLD_BAD, 1.0, bool(rng.integers(2)))
    else:
        draw = _draw(runtime, db)
    battle = Battle(mode=mode, annotator_id=annotator_id, model_a=draw.model_a, model_b=draw.model_b,
                    position="a" if draw.left_is_a else "b", sampling_prob=draw.probability,
                    conversation_a=messages, conversation_b=list(messages), topic=topic, task_id=task_id,
                    gold=gold is not None, gold_better="model_a" if gold else None, state="open",
                    timings={"opened": datetime.now(UTC).timestamp()},
                    events=[{"type": "gold", "good": gold.good, "bad": gold.bad, "corruption": gold.corruption}] if gold else [])
    if not gold:
        for side, name in (("a", draw.model_a), ("b", draw.model_b)):
            route = runtime.manager.resolve(name)
            setattr(battle, f"params_{side}", client.sampling_params(route, {}, arena=True))
            setattr(battle, f"revision_{side}", route.server.spec.upstream_name())
    return battle


class Piece(NamedTuple):
    """What one side's task hands the turn: a text delta, its end (with token count and finish) or its failure."""

    side: str
    text: str | None = None
    error: Exception | None = None
    tokens: int = 0
    finish: str | None = None


REPLAY_CHUNK = 4  # characters of a replayed (control) answer per streamed piece, about one token's worth


async def _side_stream(runtime: Runtime, battle: Battle, side: str, queue: "asyncio.Queue[Piece]") -> None:
    name = getattr(battle, f"model_{side}")
    convo = getattr(battle, f"conversation_{side}")
    try:
        replay = replayed_answers(battle.events)
        if replay is not None:
            text = replay[side]
            for i in range(0, len(text), REPLAY_CHUNK):  # a model's rhythm, so a control looks like any battle
                await queue.put(Piece(side, text[i:i + REPLAY_CHUNK]))
                await asyncio.sleep(0)
            await queue.put(Piece(side, tokens=-(-len(text) // REPLAY_CHUNK), finish="stop"))
            return
        route = runtime.manager.resolve(name)
        messages = prepare_messages(route.spec, convo, runtime.grounder).messages
        params = getattr(battle, f"params_{side}") or client.sampling_params(route, {}, arena=True)
        call = CallLog(runtime.database_url, "arena", name, params, messages=convo)
        pieces = 0
        async for d in logged_chat_stream(runtime.manager, route, messages, params, call):
            if d.text:
                pieces += 1
                await queue.put(Piece(side, d.text))
        await queue.put(Piece(side, tokens=call.completion_tokens or pieces, finish=call.finish_reason))
    except Exception as exc:  # noqa: BLE001 - reported to the caller as an event
        await queue.put(Piece(side, error=exc))


def _replacement(runtime: Runtime, battle: Battle, failed: str) -> str | None:
    models = eligible_models(runtime.manager)
    candidates = {m: w for m, w in models.items() if m not in (battle.model_a, battle.model_b)}
    if not candidates:
        return None
    names = sorted(candidates)
    weights = np.array([candidates[n] for n in names])
    return names[int(runtime.rng.choice(len(names), p=weights / weights.sum()))]


async def run_turn(runtime: Runtime, battle: Battle) -> AsyncIterator[dict[str, Any]]:
    """Answer the battle's last user turn and follow it: left/right events, then the stored state.

    The answers are written by a task of their own (app/services/live.py): a caller that goes away
    (a reload, a closed tab, a dropped connection) does not stop them, and `follow_turn` picks them up.
    """
    turn = runtime.live_turns.start(battle.id, battle.annotator_id, lambda live: _answer(runtime, battle, live))
    async for event in turn.follow():
        yield event


async def _answer(runtime: Runtime, battle: Battle, live: LiveTurn) -> None:
    """Stream both answers into `live` (each event also counts the side's tokens so far), then store the turn."""
    left = "a" if battle.position == "a" else "b"
    label = {left: "left", ("b" if left == "a" else "a"): "right"}
    queue: asyncio.Queue[Piece] = asyncio.Queue()
    texts: dict[str, list[str]] = {"a": [], "b": []}
    tasks = {side: asyncio.create_task(_side_stream(runtime, battle, side, queue)) for side in "ab"}

    async def relay_stop() -> None:
        await live.stop_requested.wait()
        await queue.put(Piece("stop"))

    stopper = asyncio.create_task(relay_stop())
    pending, failed, stopped = {"a", "b"}, False, False
    first_turn = battle.turn == 0
    try:
        while pending:
            piece = await queue.get()
            side = piece.side
            if side == "stop":
                stopped = True
                battle.events = [*battle.events, {"type": "stopped", "turn": battle.turn + 1, "sides": sorted(pending)}]
                for s in sorted(pending):
                    tasks[s].cancel()
                    await live.publish({"side": label[s], "done": True, "stopped": True, "tokens": len(texts[s])})
                pending.clear()
            elif piece.error is not None:
                exc = piece.error
                if first_turn and not texts[side] and not any(e.get("type") == "replaced" for e in battle.events):
                    new = await asyncio.to_thread(_replacement, runtime, battle, side)
                    if new:
                        old = getattr(battle, f"model_{side}")
                        log.warning("battle %s: %s failed on the first turn (%s); replaced by %s", battle.id, old, exc, new)
                        battle.events = [*battle.events, {"type": "replaced", "side": side, "from": old, "to": new, "error": str(exc)[:300]}]
                        setattr(battle, f"model_{side}", new)
                        route = runtime.manager.resolve(new)
                        setattr(battle, f"params_{side}", client.sampling_params(route, {}, arena=True))
                        setattr(battle, f"revision_{side}", route.server.spec.upstream_name())
                        await live.publish({"side": label[side], "restart": True})
                        tasks[side] = asyncio.create_task(_side_stream(runtime, battle, side, queue))
                        continue
                failed = True
                pending.discard(side)
                battle.events = [*battle.events, {"type": "error", "side": side, "turn": battle.turn + 1, "error": str(exc)[:300]}]
                await live.publish({"side": label[side], "error": "this model failed to answer"})
            elif piece.text is None:
                pending.discard(side)
                await live.publish({"side": label[side], "done": True, "tokens": piece.tokens, "finish": piece.finish})
            else:
                texts[side].append(piece.text)
                await live.publish({"side": label[side], "delta": piece.text, "tokens": len(texts[side])})
    except asyncio.CancelledError:  # the app is shutting down: the turn is stored as cut off, and said so after
        battle.events = [*battle.events, {"type": "interrupted", "turn": battle.turn + 1}]
        raise
    finally:
        stopper.cancel()
        for t in tasks.values():
            t.cancel()
        await _store_turn(runtime, battle, texts, failed or bool(pending))
    await live.publish({"state": battle.state, "battle_id": battle.id, "turn": battle.turn, "stopped": stopped})


async def _store_turn(runtime: Runtime, battle: Battle, texts: dict[str, list[str]], failed: bool) -> None:
    answers = {side: "".join(parts) for side, parts in texts.items()}
    battle.conversation_a = [*battle.conversation_a, {"role": "assistant", "content": answers["a"]}]
    battle.conversation_b = [*battle.conversation_b, {"role": "assistant", "content": answers["b"]}]
    battle.turn += 1
    battle.state = "error" if failed else "ready"
    battle.timings = {**battle.timings, "answers_done": datetime.now(UTC).timestamp()}
    leaks = {side: identity_leaks(a) for side, a in answers.items() if replayed_answers(battle.events) is None}
    if any(leaks.values()):
        battle.identity_leak = True
        battle.events = [*battle.events, {"type": "identity_leak", "turn": battle.turn, **{s: w for s, w in leaks.items() if w}}]

    def write() -> None:
        with session_scope(runtime.database_url) as db:
            if db.scalar(select(Battle.state).where(Battle.id == battle.id)) == "abandoned":
                battle.state = "abandoned"  # a newer battle replaced it while it was answered: it stays replaced
            db.merge(battle)

    await asyncio.shield(asyncio.to_thread(write))  # shutting down must not lose the turn


def _overlap_copy(runtime: Runtime, db: Session, annotator_id: int) -> Battle | None:
    """Send an already voted continuation battle to one more annotator (for inter-annotator agreement).

    The copy shows the same answers (left/right drawn afresh) and points at its original.
    """
    originals = db.scalars(
        select(Battle).where(Battle.state == "voted", Battle.mode == "continuation", Battle.gold.is_(False),
                             Battle.annotator_id != annotator_id, Battle.turn == 1)
        .order_by(Battle.created_at.desc()).limit(50)).all()
    copies: dict[str, set[int | None]] = {}
    for row in db.scalars(select(Battle).where(Battle.task_id.like("overlap:%"))):
        copies.setdefault(row.task_id.removeprefix("overlap:"), set()).add(row.annotator_id)
    candidates = [b for b in originals if not b.task_id or not b.task_id.startswith("overlap:")]
    candidates = [b for b in candidates if annotator_id not in copies.get(b.id, set())
                  and len(copies.get(b.id, ())) + 1 < runtime.settings.overlap_annotators]
    if not candidates:
        return None
    rng = runtime.rng
    orig = candidates[int(rng.integers(len(candidates)))]
    return Battle(mode="continuation", annotator_id=annotator_id, model_a=orig.model_a, model_b=orig.model_b,
                  position="a" if rng.integers(2) else "b", sampling_prob=orig.sampling_prob,
                  conversation_a=orig.conversation_a[:-1], conversation_b=orig.conversation_b[:-1],
                  params_a=orig.params_a, params_b=orig.params_b, revision_a=orig.revision_a,
                  revision_b=orig.revision_b, topic=orig.topic, task_id=f"overlap:{orig.id}", state="open",
                  timings={"opened": datetime.now(UTC).timestamp()},
                  events=[{"type": "overlap", "of": orig.id, "a": orig.conversation_a[-1]["content"],
                           "b": orig.conversation_b[-1]["content"]}])


def own_battle(session: Session, caller: Caller, battle_id: str | None) -> Battle:
    """The caller's battle (detached from the session), or 404: someone else's battle does not exist for them."""
    who = admission.annotator(session, caller)
    battle = session.get(Battle, battle_id) if battle_id else None
    if battle is None or battle.annotator_id != who.id:
        raise NOT_YOURS
    session.expunge(battle)
    return battle


@dataclass(frozen=True)
class Current:
    """The caller's battle a reloaded page shows back: being answered (`live`), waiting for the vote, or
    `interrupted` (its answers never completed: the server stopped or a model failed), told once."""

    battle: Battle
    live: LiveTurn | None = None
    interrupted: bool = False


def current_battle(runtime: Runtime, caller: Caller) -> Current | None:
    """The caller's unvoted battle, if a page should show it back: after a reload, a new login or in a second tab.

    Opening a new battle marks the older ones abandoned, so there is at most one waiting or being answered.
    A turn cut off by a shutdown (stored `error` with an `interrupted` event) or by a crash (left `open`)
    is reported once; a model's failure was already shown when it happened.
    """
    with session_scope(runtime.database_url) as db:
        who = admission.annotator(db, caller)
        battle = db.scalars(select(Battle).where(Battle.annotator_id == who.id, Battle.state.in_(("open", "ready", "error")))
                            .order_by(Battle.created_at.desc()).limit(1)).first()
        if battle is None:
            return None
        kinds = {e.get("type") for e in battle.events}
        live = runtime.live_turns.get(battle.id)
        if battle.state == "open" and live is not None:
            db.expunge(battle)
            return Current(battle, live)
        if battle.state == "open" or (battle.state == "error" and "interrupted" in kinds):
            if "interruption_told" in kinds:
                return None
            battle.state = "error"
            battle.events = [*battle.events, {"type": "interruption_told"}]
            db.flush()
            db.expunge(battle)
            return Current(battle, interrupted=True)
        if battle.state == "error":
            return None
        db.expunge(battle)
        return Current(battle)


def waiting_battle(runtime: Runtime, caller: Caller) -> Battle | None:
    """The caller's battle whose answers are complete and not voted yet (state `ready`), detached."""
    current = current_battle(runtime, caller)
    return current.battle if current is not None and current.battle.state == "ready" else None


def live_turn(runtime: Runtime, caller: Caller, battle_id: str) -> LiveTurn:
    """The running turn of the caller's battle, or 409 when its answers are not being written now."""
    with session_scope(runtime.database_url) as db:
        battle = own_battle(db, caller, battle_id)
    turn = runtime.live_turns.get(battle.id)
    if turn is None or turn.finished:
        raise ServiceError("conflict", "not_streaming",
                           "this battle's answers are not being written now; read the battle instead")
    return turn


async def stop_turn(runtime: Runtime, caller: Caller, battle_id: str) -> Battle:
    """End both answers where they are; returns once the shortened turn is stored (it can then be voted on)."""
    turn = await asyncio.to_thread(live_turn, runtime, caller, battle_id)
    turn.request_stop()
    await turn.wait()
    with session_scope(runtime.database_url) as db:
        return own_battle(db, caller, battle_id)


def read_battle(*, session: Session, caller: Caller, battle_id: str) -> dict[str, Any]:
    """The battle as its annotator sees it: left and right, models hidden until the vote."""
    return as_seen(own_battle(session, caller, battle_id))


def as_seen(b: Battle) -> dict[str, Any]:
    """What its annotator sees of a battle: left and right, the models named only after the vote."""
    left, right = (b.conversation_a, b.conversation_b) if b.position == "a" else (b.conversation_b, b.conversation_a)
    out: dict[str, Any] = {"battle_id": b.id, "state": b.state, "turn": b.turn, "mode": b.mode,
                           "left": left, "right": right}
    if b.state == "voted":
        out["models"] = {"left": b.model_a if b.position == "a" else b.model_b,
                         "right": b.model_b if b.position == "a" else b.model_a}
    return out


def add_turn(runtime: Runtime, caller: Caller, *, battle_id: str | None, prompt: str | None) -> Battle:
    """Another user turn in the caller's battle before the vote (prompt mode only)."""
    settings = runtime.settings
    with session_scope(runtime.database_url) as db:
        admission.limited(db, caller, runtime.rate_limits.battles)
        battle = own_battle(db, caller, battle_id)
        if battle.state != "ready":
            raise ServiceError("conflict", "not_ready", "this battle is not waiting for a new turn")
        if battle.mode != "prompt":
            raise ServiceError("conflict", "single_turn_task", "continuation tasks have one turn; vote or start a new round")
        if battle.turn >= settings.arena_max_turns:
            raise ServiceError("conflict", "too_many_turns", f"at most {settings.arena_max_turns} turns; please vote")
        prompt = inputs.text("prompt", prompt, runtime.limits.prompt_chars)
        battle.conversation_a = [*battle.conversation_a, {"role": "user", "content": prompt}]
        battle.conversation_b = [*battle.conversation_b, {"role": "user", "content": prompt}]
        battle.state = "open"
        db.merge(battle)
    return battle
