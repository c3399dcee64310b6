"""Everything a request needs from the running app, built once in `create_app`.

Routes reach it through one dependency (`RuntimeDep`, app/api/deps.py), the UI
receives it in `build_ui(runtime)`, services take it (or the parts they need) as
an argument. Nothing else holds per-process state.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.crud import KeyCache
from app.services.admission import Network, trusted_networks
from app.services.inputs import InputLimits
from app.services.live import LiveTurns
from app.services.ratelimit import RateLimiter
from app.services.throttle import LoginThrottle
from app.services.vote_writer import VoteWriter
from app.serving.judge import configured_judge
from app.serving.manager import ModelManager
from app.serving.pipeline import Grounder
from app.settings import Settings
from arena.gold import GOLD_BAD, GOLD_GOOD
from db.jsonl import read_jsonl
from db.paths import IFT_TEST
from eval.judge.client import JudgeConfig, describe_judge


@dataclass(frozen=True)
class RateLimits:
    """Per-minute limits, each per person (annotator, conversation, API key) and, looser, per IP."""

    battles: RateLimiter
    votes: RateLimiter
    chat: RateLimiter
    api: RateLimiter

    @classmethod
    def of(cls, s: Settings) -> "RateLimits":
        def limiter(name: str, per_minute: int) -> RateLimiter:
            return RateLimiter(name, per_minute, ip_factor=s.ip_limit_factor, storage=s.rate_limit_storage)

        return cls(limiter("battles", s.battles_per_minute), limiter("votes", s.votes_per_minute),
                   limiter("chat", s.chat_per_minute), limiter("api", s.api_per_minute))


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    manager: ModelManager
    grounder: Grounder | None
    limits: InputLimits
    rate_limits: RateLimits
    trusted_proxies: tuple[Network, ...]  # whose X-Forwarded-For names the client
    key_cache: KeyCache
    login_throttle: LoginThrottle
    vote_writer: VoteWriter
    rng: np.random.Generator
    reference_pairs: tuple[dict[str, str], ...]  # held-out IFT pairs: the arena's gold controls and seed tasks
    judge: JudgeConfig | None  # the judge the settings choose, to name it in reports
    live_turns: LiveTurns  # arena turns being answered now, followed by whoever watches them

    def describe_judge(self, model: str) -> str:
        return describe_judge(model, self.judge)

    @property
    def database_url(self) -> str:
        return self.settings.database_url


def model_labels(manager: ModelManager) -> dict[str, str]:
    """Display names for the reveal after a vote, gold control answers included."""
    labels = {m.name: m.label() for m in manager.config.models}
    labels |= {spec.name: spec.label() for spec in manager.contestants.values()}
    return labels | {GOLD_GOOD: "control answer (reference)", GOLD_BAD: "control answer (corrupted)"}


def build_runtime(settings: Settings, manager: ModelManager, grounder: Grounder | None, *,
                  env: Mapping[str, str], reference_pairs: Path = IFT_TEST) -> Runtime:
    """`env` is the process environment (only OPENAI_API_KEY is read from it, to tell which judge is meant)."""
    rate = RateLimits.of(settings)
    writer = VoteWriter(settings.database_url, max_comment=settings.max_comment_chars,
                        max_batch=settings.vote_batch_max, labels=lambda: model_labels(manager),
                        rate_check=lambda annotator_id, ip: rate.votes.check(f"annotator:{annotator_id}", ip))
    pairs = tuple(read_jsonl(reference_pairs)) if reference_pairs.exists() else ()
    return Runtime(settings, manager, grounder, InputLimits.of(settings), rate,
                   trusted_networks(settings.trusted_proxies), KeyCache(settings.database_url),
                   LoginThrottle(), writer,
                   np.random.default_rng(), pairs, configured_judge(settings, env), LiveTurns())
