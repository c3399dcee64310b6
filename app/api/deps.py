"""Dependencies shared by the routers, as Annotated aliases.

The routers read credentials off the request (`CallerDep`, `ApiKeyDep`) and
hand them to the services, which admit the caller (app/services/admission.py).
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.services import admission
from app.services.accounts import SESSION_PREFIX
from app.serving.manager import ModelManager
from app.settings import Settings
from db.models import Annotator
from db.session import session_scope

COOKIE = "kazarena_session"


# Plain attribute reads are async so that FastAPI does not send them to a worker thread.
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # the one place that reads app.state


async def get_settings_dep(runtime: "RuntimeDep") -> Settings:
    return runtime.settings


async def get_manager(runtime: "RuntimeDep") -> ModelManager:
    return runtime.manager


def get_db(runtime: "RuntimeDep") -> Iterator[Session]:
    with session_scope(runtime.database_url) as session:
        yield session


def session_token(request: Request) -> str | None:
    """An annotator session token, from the `kazarena_session` cookie or `Authorization: Bearer ks_...`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.startswith(SESSION_PREFIX):
        return value.strip()
    return request.cookies.get(COOKIE)


async def get_caller(request: Request, runtime: "RuntimeDep") -> admission.Caller:
    ip = admission.client_ip(request.client.host if request.client else None,
                             request.headers.get("x-forwarded-for"), runtime.trusted_proxies)
    return admission.Caller(session_token(request), ip)


def require_api_key(request: Request, runtime: "RuntimeDep", caller: "CallerDep") -> int | None:
    """The caller's key id, counted against the per-key limit; 401 unless a valid `Authorization: Bearer
    <key>` is sent (when keys are not required, only the per-IP limit counts)."""
    key_id = admission.api_key(runtime.key_cache, request.headers.get("authorization", ""),
                               required=runtime.settings.auth_enabled)
    admission.count(runtime.rate_limits.api, f"key:{key_id}" if key_id is not None else None, caller.ip)
    return key_id


def current_annotator(caller: "CallerDep", session: "SessionDep") -> Annotator:
    return admission.annotator(session, caller)


def current_admin(caller: "CallerDep", session: "SessionDep") -> Annotator:
    return admission.admin(session, caller)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ManagerDep = Annotated[ModelManager, Depends(get_manager)]
# scope="function": the session commits when the route returns, before the response is sent
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
CallerDep = Annotated[admission.Caller, Depends(get_caller)]
ApiKeyDep = Annotated[int | None, Depends(require_api_key)]
AnnotatorDep = Annotated[Annotator, Depends(current_annotator)]
AdminDep = Annotated[Annotator, Depends(current_admin)]
