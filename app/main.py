"""The FastAPI application: API routers, model servers, database, UI."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from app.api.errors import install_error_handlers
from app.api.limits import BodyLimitMiddleware
from app.api.routes import arena, chat, eval_results, export, generate, health, openai_compat
from app.crud import KeyCache
from app.services.arena import Arena, model_labels
from app.services.ratelimit import RateLimiter
from app.services.vote_writer import VoteWriter
from app.serving import calllog
from app.serving.grounding import load_grounder
from app.serving.manager import ModelManager
from app.serving.registry import load_models_config
from app.settings import Settings, get_settings
from app.ui import mount_ui
from db.migrate import upgrade

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, manager: ModelManager | None = None) -> FastAPI:
    """Build the app. Pass `manager` to share already-running model servers (tests)."""
    settings = settings or get_settings()
    owns_manager = manager is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade(settings.database_url)  # the schema is always current before the first request
        if owns_manager and settings.manage_servers:
            await app.state.manager.start()
        # Everything built so far (Gradio, torch, pandas: millions of objects) lives as long as the app;
        # left in the collector's oldest generation it made every full collection a pause of a few
        # hundred milliseconds in the middle of requests.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await calllog.drain()
            app.state.vote_writer.close()
            if owns_manager:
                await app.state.manager.stop()

    app = FastAPI(title="kazarena", version="0.1.0", lifespan=lifespan,
                  description="Kazakh LLM arena: generation API (OpenAI-compatible), arena, leaderboard.")
    app.state.settings = settings
    app.state.manager = manager or ModelManager(load_models_config(settings.models_config), settings)
    app.state.key_cache = KeyCache(settings.database_url)
    app.state.grounder = load_grounder(settings)
    app.state.arena = Arena(app.state.manager, settings, app.state.grounder, np.random.default_rng())
    app.state.battle_limiter = RateLimiter(settings.battles_per_minute)
    app.state.vote_limiter = RateLimiter(settings.votes_per_minute)
    app.state.vote_writer = VoteWriter(
        settings.database_url, max_comment=settings.max_comment_chars, max_batch=settings.vote_batch_max,
        labels=lambda: model_labels(app.state.manager),
        rate_check=lambda annotator_id, ip: app.state.vote_limiter.check(f"a:{annotator_id}", f"ip:{ip}"))
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for module in (health, generate, openai_compat, chat, arena, export, eval_results):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui")

    if settings.ui_enabled:
        mount_ui(app)
    return app
