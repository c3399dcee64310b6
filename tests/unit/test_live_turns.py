"""The live-turn registry: whoever follows a turn sees all of it, late or not; a stop reaches its one producer."""

import asyncio
import threading

import pytest

from app.services.live import LiveTurn, LiveTurns


async def _collect(turn: LiveTurn) -> list[dict]:
    return [e async for e in turn.follow()]


def test_late_and_early_followers_see_every_event_and_the_finished_turn_leaves_the_registry():
    async def main():
        turns = LiveTurns()
        gate = asyncio.Event()

        async def produce(turn):
            for i in range(3):
                await turn.publish({"i": i})
            await gate.wait()
            for i in range(3, 6):
                await turn.publish({"i": i})

        turn = turns.start("b1", 7, produce)
        early = asyncio.create_task(_collect(turn))
        await asyncio.sleep(0.01)
        assert turns.get("b1") is turn and [t.battle_id for t in turns.of_annotator(7)] == ["b1"]
        late = asyncio.create_task(_collect(turn))  # joins after three events: a reload
        await asyncio.sleep(0.01)
        gate.set()
        got = await asyncio.gather(early, late)
        await turn.wait()
        return got, turns

    (early, late), turns = asyncio.run(main())
    assert early == late == [{"i": i} for i in range(6)]
    assert turns.get("b1") is None and len(turns) == 0


def test_a_stop_from_another_thread_reaches_the_producer_and_a_second_turn_of_one_battle_is_refused():
    async def main():
        turns = LiveTurns()

        async def produce(turn):
            await turn.stop_requested.wait()
            await turn.publish({"stopped": True})

        turn = turns.start("b2", 1, produce)
        with pytest.raises(RuntimeError, match="already has a turn"):
            turns.start("b2", 1, produce)
        threading.Thread(target=turn.request_stop).start()
        return await asyncio.wait_for(_collect(turn), 5)

    assert asyncio.run(main()) == [{"stopped": True}]


def test_a_failing_producer_still_ends_its_followers_and_cancel_all_ends_running_turns():
    async def main():
        turns = LiveTurns()

        async def broken(turn):
            await turn.publish({"first": 1})
            raise ValueError("boom")

        async def forever(turn):
            await asyncio.Event().wait()

        failed = turns.start("b3", 1, broken)
        got = await asyncio.wait_for(_collect(failed), 5)
        endless = turns.start("b4", 1, forever)
        follower = asyncio.create_task(_collect(endless))
        await asyncio.sleep(0.01)
        await turns.cancel_all()
        return got, await asyncio.wait_for(follower, 5), endless.task.cancelled(), len(turns)

    got, ended, cancelled, left = asyncio.run(main())
    assert got == [{"first": 1}] and ended == [] and cancelled and left == 0
