"""All configuration in one place: environment variables prefixed KAZARENA_."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.paths import CULTSET, DATA_DIR, GOVSET, IFT_TEST, IFT_TRAIN, PROJECT_ROOT, STOPWORDS

__all__ = ["CULTSET", "DATA_DIR", "GOVSET", "IFT_TEST", "IFT_TRAIN", "PROJECT_ROOT", "STOPWORDS", "Settings",
           "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAZARENA_", env_file=".env", extra="ignore")

    environment: str = Field("development", description="development | production")
    database_url: str = Field("sqlite:///./kazarena.db", description="SQLAlchemy URL")
    models_config: Path = Field(PROJECT_ROOT / "configs" / "models.yaml")
    cache_dir: Path = Field(Path.home() / ".cache" / "kazarena", description="prepared models, indexes")

    host: str = "127.0.0.1"
    port: int = 8000
    ui_enabled: bool = Field(True, description="mount the Gradio UI at /ui")
    auth_enabled: bool = Field(True, description="require Bearer API keys on /v1/*")
    # Arena
    arena_policy: Literal["balanced", "active"] = Field(
        "balanced", description="how the next pair is drawn: balanced (weights, fewer votes first) or active "
        "(where a vote most shrinks the uncertainty of adjacent ranks; arena/active_sampler.py)")
    arena_balance: float = Field(1.0, ge=0, description="how strongly under-voted pairs are preferred")
    arena_active_floor: float = Field(0.2, gt=0, le=1, description="active policy: share of draws spread uniformly "
                                      "over all pairs, so every pair keeps a known chance")
    judge_trust_threshold: float = Field(0.6, ge=-1, le=1, description="kappa against people the judge must "
                                         "reach in a topic before its verdicts count there (eval/judge/trust.py)")
    judge_route_share: float = Field(0.5, ge=0, le=1, description="share of continuation tasks drawn from topics "
                                     "where the judge has not earned trust, so people vote there first; 0: off")
    gold_rate: float = Field(0.05, ge=0, le=1, description="share of task battles that are gold controls")
    overlap_rate: float = Field(0.1, ge=0, le=1, description="share of task battles sent to another annotator too")
    overlap_annotators: int = Field(3, ge=2, description="at most this many annotators see the same answers")
    arena_max_turns: int = Field(5, ge=1)
    max_comment_chars: int = 2000
    battles_per_minute: int = Field(10, ge=1, description="per annotator (per IP: times ip_limit_factor)")
    votes_per_minute: int = Field(30, ge=1, description="per annotator (per IP: times ip_limit_factor)")
    chat_per_minute: int = Field(20, ge=1, description="citizens' chat questions per conversation "
                                 "(per IP: times ip_limit_factor)")
    api_per_minute: int = Field(600, ge=1, description="/v1 calls per API key (per IP: times ip_limit_factor); "
                                "programs such as `kazarena eval` send several a second")
    ip_limit_factor: int = Field(10, ge=1, description="how much looser every per-IP limit is than the "
                                 "per-person one: a classroom or a mobile carrier shares one IP")
    trusted_proxies: str = Field("", description="comma-separated IPs or CIDRs of reverse proxies whose "
                                 "X-Forwarded-For is believed; from anyone else the header is ignored")
    rate_limit_storage: str = Field("memory://", description="`limits` storage URI for the rate limits: "
                                    "memory:// counts per process, redis://host:6379 across processes")
    vote_batch_max: int = Field(256, ge=1, description="most votes the vote writer commits in one transaction")
    session_ttl_hours: float = Field(24 * 7, gt=0, description="annotator login lifetime")
    secret_salt: str | None = Field(None, description="salt for exported annotator ids, at least 16 random "
                                    "characters; unset: one is generated at the first export and kept in the "
                                    "database (arena/export/salt.py)")

    # Limits on what a client may send.
    max_prompt_chars: int = 16_000
    max_body_bytes: int = 1_000_000
    max_tokens_limit: int = 4096
    max_messages: int = 200
    max_reason_chars: int = Field(1000, description="a ban reason, a feedback reason, a flag review note")

    # Model servers.
    vllm_python: str = Field("", description="python that runs vLLM (default: this interpreter)")
    vllm_start_timeout_s: float = 300.0
    vllm_kvcache_gib: int = 1
    health_interval_s: float = 5.0
    health_timeout_s: float = 10.0
    health_failures: int = Field(3, ge=1, description="failed checks in a row before a server counts as down")
    request_timeout_s: float = 120.0
    connect_timeout_s: float = 5.0
    restart_backoff_s: float = 2.0
    restart_backoff_max_s: float = 60.0
    manage_servers: bool = Field(True, description="start vllm serve for local models")
    grounding_top_k: int = Field(3, ge=1, le=20, description="BM25 chunks put into a grounded prompt")

    # Judge: any OpenAI-compatible endpoint; GPT-4o when OPENAI_API_KEY is set.
    judge_base_url: str = ""
    judge_model: str = ""
    judge_api_key: str = Field("", description="sent to the judge's endpoint, whichever it is")
    # IFT/conversation generation (`kazarena generate-ift`): the key for a --base-url that is not
    # api.openai.com; OPENAI_API_KEY goes to api.openai.com only (eval.llm_client.resolve_endpoint).
    generate_api_key: str = Field("", description="key for a non-OpenAI --base-url in generate-ift/-conversations")

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> "Settings":
        reason = weak_secret_salt(self.secret_salt) if self.environment == "production" else None
        if reason is not None:
            raise ValueError(f"KAZARENA_SECRET_SALT: {reason}; set a random one or unset it")
        return self

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


def weak_secret_salt(salt: str | None) -> str | None:
    """Why a configured salt could be guessed (None: it will do, or none is set and one is generated)."""
    if salt is None:
        return None
    from arena.export.salt import weak_salt_reason

    return weak_salt_reason(salt)


@lru_cache
def get_settings() -> Settings:
    return Settings()
