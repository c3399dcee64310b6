"""Helpers for the Arena and Leaderboard UI tests: apps, votes cast through the service, a small live arena."""

import asyncio
import copy
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI

from app.main import create_app
from app.services import accounts, votes
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import ready_battle
from tests.utils.servers import ManagerThread

# Two contestants on the same small model, told to answer differently, with very few tokens each:
# an arena needs two, and the tests need them fast.
CONTESTANTS = {"kk-short": ("Qwen2.5-Coder-0.5B, brief", "Қазақ тілінде бір сөйлеммен жауап бер."),
               "kk-polite": ("Qwen2.5-Coder-0.5B, polite", "Answer politely and briefly.")}


def offline_app(url: str, **overrides: Any) -> FastAPI:
    """The real app on `url` with two configured (unreachable) models m1 and m2, labelled."""
    settings = make_settings(url, **({"ui_enabled": True} | overrides))
    config = ModelsConfig.model_validate({"models": [
        {"name": "m1", "display_name": "Model One", "params": "0.5B", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        {"name": "m2", "display_name": "Model Two", "params": "270M", "kind": "base",
         "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    return create_app(settings, ModelManager(config, settings))


def cast(url: str, annotator_id: int, content: str = "left", language: str | None = None, *,
         overall: str | None = None, both_bad: bool = False, **battle: Any) -> dict[str, Any]:
    """A ready battle (fields as in tests.utils.arena.ready_battle) and a vote on it, through the service.

    The answers finished a minute before the vote, so a careful reader is not flagged as too fast.
    """
    battle.setdefault("timings", {"answers_done": time.time() - 60})
    battle_id = ready_battle(url, annotator_id, **battle)
    with session_scope(url) as s:
        token = accounts.open_session(session=s, annotator_id=annotator_id, ttl_hours=1)
    with session_scope(url) as s:
        ballot = votes.Ballot(content, language or content, overall, both_bad, None, uuid.uuid4().hex)
        [result] = votes.cast_votes(s, [votes.VoteRequest(battle_id, ballot, token)], max_comment=2000, labels={})
    if isinstance(result, Exception):
        raise result
    return result


def run(gen: Any) -> list[Any]:
    """Every output an async-generator handler yields, as the browser would receive it then."""
    async def collect() -> list[Any]:
        # the handler reuses its history lists; the keys are components, copied as they are
        return [{k: copy.deepcopy(v) for k, v in item.items()} async for item in gen]
    return asyncio.run(collect())


@contextmanager
def small_arena(vllm: Any, url: str, max_tokens: int = 8, min_tokens: int | None = None,
                **overrides: Any) -> Iterator[FastAPI]:
    """The app with exactly two small contestants served by the session's vLLM server
    (`min_tokens`: answers that cannot end early, for the tests that stop or cut them mid-way)."""
    srv = next(iter(vllm.manager.servers.values()))
    models = [{"name": name, "display_name": display, "params": "0.5B", "base_url": srv.base_url,
               "served_model_name": srv.spec.upstream_name(), "system_prompt": prompt,
               "sampling": {"max_tokens": max_tokens, "arena_max_tokens": max_tokens, "min_tokens": min_tokens}} for name, (display, prompt) in CONTESTANTS.items()]
    settings = make_settings(url, **({"battles_per_minute": 100, "votes_per_minute": 100, "ui_enabled": True} | overrides))
    runner = ManagerThread(ModelManager(ModelsConfig.model_validate({"models": models}), settings))
    assert runner.start(timeout=30)
    try:
        yield create_app(settings, runner.manager)
    finally:
        runner.stop()
