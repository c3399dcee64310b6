"""Liveness, per-model readiness and Prometheus metrics."""

import re

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import ManagerDep, SettingsDep
from app.serving.manager import READY
from db.session import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
def read_health() -> dict[str, str]:
    """The app process is up."""
    return {"status": "ok"}


_PATH = re.compile(r"(?:~|\.{0,2})?/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]+)")


def without_paths(detail: object) -> object:
    """A server detail with file paths cut to their last part: the layout of the host is nobody's business."""
    return _PATH.sub(r"…/\1", detail) if isinstance(detail, str) else detail


def database_state(url: str) -> str:
    try:
        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError:
        return "unavailable"


@router.get("/readyz", responses={503: {"description": "no model can answer yet, or the database is unreachable "
                                                      "(same body: the database's and each model's state)"}})
def read_readiness(manager: ManagerDep, settings: SettingsDep) -> JSONResponse:
    """The database's state and every configured model's; 503 until the database answers and at least
    one model can. Details name no file paths (the operator finds them in the log and `kazarena models list`)."""
    models = {name: {**m, "detail": without_paths(m["detail"])} for name, m in manager.status().items()}
    database = database_state(settings.database_url)
    ready = database == "ok" and any(m["state"] == READY for m in models.values())
    return JSONResponse({"ready": ready, "database": database, "models": models}, status_code=200 if ready else 503)


@router.get("/metrics")
def read_metrics() -> Response:
    """Prometheus exposition format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
