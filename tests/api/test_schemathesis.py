"""Schemathesis against the real app (uvicorn, SQLite): every operation of /openapi.json, with an API key
and an admin session, answers no server error, only statuses the document lists, and the documented
body shapes (errors included). The model behind /v1 is down, so no generation runs; examples are bounded.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.crud import create_api_key
from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.arena import annotator, ready_battle
from tests.utils.servers import AppServer

EXAMPLES = 25


def no_crash(ctx, response, case):
    """A 503 of a model that is down (or /readyz before any is up) is an answer; 500 and any 5xx
    that is not the documented JSON are crashes."""
    if response.status_code == 503 and response.headers.get("content-type", [""])[0].startswith("application/json"):
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_crash, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'kazarena.db'}"
    settings = make_settings(db, auth_enabled=True, battles_per_minute=10_000, votes_per_minute=10_000,
                             chat_per_minute=10_000, api_per_minute=10_000)
    config = ModelsConfig.model_validate({"models": [{"name": "m1", "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    with AppServer(create_app(settings, ModelManager(config, settings), grounder=None)) as server:
        admin_id, admin_token = annotator(db, "chief", role="admin")
        ready_battle(db, admin_id)
        with session_scope(db) as s:
            _, key = create_api_key(session=s, name="schemathesis")
        server.credentials = {"Authorization": f"Bearer {key}", "Cookie": f"kazarena_session={admin_token}"}
        yield server


def test_no_server_errors_and_only_documented_answers(live):
    # Schemathesis's pytest plugin does not run under pytest 9, so each operation gets its own
    # Hypothesis run here; the checks and the generated cases are Schemathesis's own.
    api = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    failures, operations = {}, 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  phases=[Phase.explicit, Phase.generate])
        def check(case):
            case.call_and_validate(headers=live.credentials, timeout=30, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation is tried, all reported
            failures[operation.label] = str(exc)[:2000]
    assert operations >= 25
    assert failures == {}
