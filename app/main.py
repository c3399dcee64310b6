"""The FastAPI application: API routers, model servers, database, UI."""

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from app.api.errors import document_errors, install_error_handlers
from app.api.headers import SecurityHeadersMiddleware
from app.api.limits import BodyLimitMiddleware
from app.api.routes import arena, chat, eval_results, export, generate, health, openai_compat
from app.runtime import build_runtime
from app.services.ledger import record_contestants
from app.serving import calllog
from app.serving.grounding import load_grounder
from app.serving.manager import ModelManager
from app.serving.pipeline import Grounder
from app.serving.registry import load_models_config
from app.settings import Settings, get_settings
from app.ui import mount_ui
from db.migrate import upgrade
from db.session import session_scope

_DEFAULT: object = object()

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, manager: ModelManager | None = None,
               grounder: Grounder | None | object = _DEFAULT) -> FastAPI:
    """Build the app. Pass `manager` to share already-running model servers, `grounder` to ground
    answers in another index (or None for none) than the one built from the project's corpus (tests)."""
    settings = settings or get_settings()
    owns_manager = manager is None
    manager = manager or ModelManager(load_models_config(settings.models_config), settings)
    runtime = build_runtime(settings, manager, load_grounder(settings) if grounder is _DEFAULT else grounder,  # type: ignore[arg-type]
                            env=os.environ)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade(settings.database_url)  # the schema is always current before the first request
        with session_scope(settings.database_url) as session:  # committed before the app reports ready
            record_contestants(session=session, specs=list(manager.contestants.values()),
                               models_dir=settings.models_dir)
        if owns_manager and settings.manage_servers:
            await manager.start()
        # Everything built so far (Gradio, torch, pandas: millions of objects) lives as long as the app;
        # left in the collector's oldest generation it made every full collection a pause of a few
        # hundred milliseconds in the middle of requests.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await runtime.live_turns.cancel_all()
            await calllog.drain()
            runtime.vote_writer.close()
            if owns_manager:
                await manager.stop()

    app = FastAPI(title="kazarena", version="0.1.0", lifespan=lifespan,
                  description="Kazakh LLM arena: generation API (OpenAI-compatible), arena, leaderboard.")
    app.state.runtime = runtime  # read only by app.api.deps.get_runtime
    install_error_handlers(app)
    document_errors(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: refusals and errors carry the headers too
    for module in (health, generate, openai_compat, chat, arena, export, eval_results):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui")

    if settings.ui_enabled:
        mount_ui(app, runtime)
    return app
