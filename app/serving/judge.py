"""The app's LLM judge: which OpenAI-compatible endpoint judges, chosen from the settings.

``eval.llm_client.resolve_endpoint``'s rule, with the KAZARENA_JUDGE_* settings as
the explicit choice and, when neither they nor OPENAI_API_KEY name one, kazarena's
own /v1 with the first model of models.yaml (a small local judge that every
description labels as not GPT-4o). The environment is passed in (``env``), never
read here: the CLI passes ``os.environ``. `kazarena judge`, `kazarena eval`,
`kazarena agreement` and the app's reports use these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.settings import Settings
from eval.judge import JudgeConfig, describe_judge
from eval.llm_client import is_openai_url, resolve_endpoint

logger = logging.getLogger(__name__)

__all__ = ["FALLBACK_LOCAL_MODEL", "configured_judge", "judge_config", "judge_description", "local_api_url"]

FALLBACK_LOCAL_MODEL = "qwen2.5-0.5b-instruct"


def local_api_url(settings: Settings) -> str:
    """This kazarena's own OpenAI-compatible /v1 (a wildcard bind address is reached on 127.0.0.1)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}/v1"


def _first_local_model(settings: Settings) -> str:
    from app.serving.registry import load_models_config

    try:
        config = load_models_config(settings.models_config)
    except (OSError, ValueError) as error:
        logger.warning("cannot read %s (%s); judge model defaults to %s", settings.models_config, error,
                       FALLBACK_LOCAL_MODEL)
        return FALLBACK_LOCAL_MODEL
    return config.models[0].name if config.models else FALLBACK_LOCAL_MODEL


def judge_config(settings: Settings, *, env: Mapping[str, str], base_url: str | None = None,
                 model: str | None = None, api_key: str | None = None, structured: bool | None = None,
                 **knobs: Any) -> JudgeConfig:
    """The judge to use: options first, then settings, then GPT-4o (with OPENAI_API_KEY) or the local model.

    ``structured`` defaults to on except at OpenAI (which rejects the field); ``knobs``
    are further ``JudgeConfig`` fields. ValueError when a server is named without a model.
    """
    choice = resolve_endpoint(
        base_url or settings.judge_base_url, model or settings.judge_model, api_key or settings.judge_api_key,
        env=env, local_base_url=local_api_url(settings), local_model=lambda: _first_local_model(settings),
        model_name="judge model (--model or KAZARENA_JUDGE_MODEL)",
    )
    if structured is None:  # vLLM understands structured choice output; OpenAI rejects the field
        structured = not is_openai_url(choice.base_url)
    return JudgeConfig(base_url=choice.base_url, model=choice.model, api_key=choice.api_key, structured=structured,
                       **knobs)


def configured_judge(settings: Settings, env: Mapping[str, str]) -> JudgeConfig | None:
    """The judge these settings choose, or None when they name a server without a model."""
    try:
        return judge_config(settings, env=env)
    except ValueError:
        return None


def judge_description(model: str, settings: Settings, env: Mapping[str, str]) -> str:
    """How reports name the judge behind stored verdicts (which keep only ``model``).

    The configured judge's full description (with its endpoint) when it is that model,
    else the model name, saying so when it is not GPT-4o (``eval.judge.describe_judge``).
    """
    return describe_judge(model, configured_judge(settings, env))
