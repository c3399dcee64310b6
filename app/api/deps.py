"""Dependencies shared by the routers, as Annotated aliases."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.api.errors import ApiError
from app.services.accounts import SESSION_PREFIX, annotator_for_token
from app.serving.manager import ModelManager
from app.settings import Settings
from db.models import Annotator
from db.session import session_scope


# Plain attribute reads are async so that FastAPI does not send them to a worker thread.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_manager(request: Request) -> ModelManager:
    return request.app.state.manager


def get_db(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.settings.database_url) as session:
        yield session


def require_api_key(request: Request) -> int | None:
    """The caller's key id; 401 unless a valid `Authorization: Bearer <key>` is sent."""
    if not request.app.state.settings.auth_enabled:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "send `Authorization: Bearer <key>`; create a key with `kazarena apikey create`")
    key_id = request.app.state.key_cache.lookup(key.strip())
    if key_id is None:
        raise ApiError(401, "invalid_api_key", "this API key is unknown or revoked")
    return key_id


def session_token(request: Request) -> str | None:
    """An annotator session token, from the `kazarena_session` cookie or `Authorization: Bearer ks_...`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.startswith(SESSION_PREFIX):
        return value.strip()
    return request.cookies.get("kazarena_session")


def current_annotator(request: Request, session: "SessionDep") -> Annotator:
    """The logged-in annotator; 401 without a live session, 403 when banned."""
    token = session_token(request)
    annotator = annotator_for_token(session=session, token=token) if token else None
    if annotator is None:
        raise ApiError(401, "login_required", "log in first (your session may have expired)")
    if annotator.banned:
        raise ApiError(403, "banned", "this account is suspended")
    return annotator


def current_admin(annotator: "AnnotatorDep") -> Annotator:
    if annotator.role != "admin":
        raise ApiError(403, "admin_only", "only administrators may do this")
    return annotator


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ManagerDep = Annotated[ModelManager, Depends(get_manager)]
SessionDep = Annotated[Session, Depends(get_db)]
ApiKeyDep = Annotated[int | None, Depends(require_api_key)]
AnnotatorDep = Annotated[Annotator, Depends(current_annotator)]
AdminDep = Annotated[Annotator, Depends(current_admin)]
