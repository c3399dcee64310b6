"""Dependencies shared by the routers, as Annotated aliases."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.api.errors import ApiError
from app.serving.manager import ModelManager
from app.settings import Settings
from db.session import get_sessionmaker


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_manager(request: Request) -> ModelManager:
    return request.app.state.manager


def get_db(request: Request) -> Iterator[Session]:
    session = get_sessionmaker(request.app.state.settings.database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


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


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ManagerDep = Annotated[ModelManager, Depends(get_manager)]
SessionDep = Annotated[Session, Depends(get_db)]
ApiKeyDep = Annotated[int | None, Depends(require_api_key)]
