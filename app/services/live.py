"""Turns being answered right now, kept apart from whoever watches them.

A battle's turn runs as its own task: the browser tab or REST client that asked
for it only follows it. A reload, a second tab or a dropped connection follows
the same turn from its first event, and the answers keep coming; a stop request
reaches the one task that generates. One process holds its own turns (the
replicas of issue 18 route a battle to the process that runs it).
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]
log = logging.getLogger(__name__)


@dataclass
class LiveTurn:
    """One turn's events so far; `follow()` replays them and waits for the next."""

    battle_id: str
    annotator_id: int
    loop: asyncio.AbstractEventLoop
    events: list[Event] = field(default_factory=list)
    finished: bool = False
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    task: "asyncio.Task[None] | None" = None

    async def publish(self, event: Event) -> None:
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    async def close(self) -> None:
        async with self.changed:
            self.finished = True
            self.changed.notify_all()

    async def follow(self) -> AsyncIterator[Event]:
        """Every event of the turn from its first one, then the new ones as they come, until it ends."""
        seen = 0
        while True:
            async with self.changed:
                await self.changed.wait_for(lambda n=seen: len(self.events) > n or self.finished)  # type: ignore[misc]
                batch, over = self.events[seen:], self.finished
            for event in batch:
                yield event
            seen += len(batch)
            if over and seen == len(self.events):
                return

    def request_stop(self) -> None:
        """Ask the generating task to end the answers where they are (safe from any thread)."""
        self.loop.call_soon_threadsafe(self.stop_requested.set)

    async def wait(self) -> None:
        """Until the turn is stored and over (the task's own errors are its own: it reports them as events)."""
        if self.task is not None:
            await asyncio.shield(asyncio.wait({self.task}))


class LiveTurns:
    """The registry: battle id -> its running turn, at most one per battle."""

    def __init__(self) -> None:
        self._turns: dict[str, LiveTurn] = {}

    def start(self, battle_id: str, annotator_id: int, produce: Callable[[LiveTurn], Any]) -> LiveTurn:
        """Run `produce(turn)` (a coroutine that publishes the events) as a task of its own."""
        if (old := self._turns.get(battle_id)) is not None and not old.finished:
            raise RuntimeError(f"battle {battle_id} already has a turn running")
        turn = LiveTurn(battle_id, annotator_id, asyncio.get_running_loop())

        async def run() -> None:
            try:
                await produce(turn)
            except Exception:  # nobody awaits this task: its failure is logged here, its followers just end
                log.exception("the turn of battle %s failed", battle_id)
            finally:
                await turn.close()
                if self._turns.get(battle_id) is turn:
                    del self._turns[battle_id]

        self._turns[battle_id] = turn
        turn.task = asyncio.create_task(run(), name=f"turn:{battle_id}")
        return turn

    def get(self, battle_id: str) -> LiveTurn | None:
        return self._turns.get(battle_id)

    def of_annotator(self, annotator_id: int) -> list[LiveTurn]:
        return [t for t in self._turns.values() if t.annotator_id == annotator_id]

    async def cancel_all(self) -> None:
        """At shutdown: end every turn; each stores what it has (as failed: a reload then says so)."""
        tasks = [t.task for t in self._turns.values() if t.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def __len__(self) -> int:
        return len(self._turns)
