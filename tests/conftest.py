"""Shared fixtures: real databases (SQLite and PostgreSQL) and a real vLLM server.

`db_url` runs a test once on SQLite and once on PostgreSQL. `vllm` starts one
real vLLM server on the packaged Qwen2.5-Coder-0.5B-Instruct for the whole
session (start-up costs about a minute on this CPU).

Markers follow from the fixtures (see `pytest_collection_modifyitems`): a test that
uses `vllm` (directly or through another fixture) is marked `vllm`, one that needs the
PostgreSQL server (`postgres_admin_url`, or the `postgres` case of `db_url`) `postgres`,
and everything under tests/browser/ `browser`. `make test-fast` deselects all three.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.settings import Settings
from db.migrate import upgrade
from tests.utils.postgres import TempPostgres
from tests.utils.servers import ManagerThread

TEST_MODEL = "qwen-test"
TEST_RAG_MODEL = "qwen-test-rag"
PACKAGED_TEST_MODEL = "qwen2.5-coder-0.5b-instruct"
CACHE_DIR = Path(os.environ.get("KAZARENA_CACHE_DIR", Path.home() / ".cache" / "kazarena"))


# Fixtures that need a server the session starts, and the marker their users carry.
VLLM_FIXTURES = {"vllm"}
POSTGRES_FIXTURES = {"postgres_admin_url"}
# Parametrized database fixtures: their "postgres" case needs the PostgreSQL server.
DATABASE_FIXTURES = {"db_url"}
BROWSER_DIR = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))  # the whole closure, fixtures of fixtures too
        params = getattr(getattr(item, "callspec", None), "params", {})
        wanted = []
        if names & VLLM_FIXTURES:
            wanted.append("vllm")
        if names & POSTGRES_FIXTURES or any(params.get(f) == "postgres" for f in DATABASE_FIXTURES & names):
            wanted.append("postgres")
        if BROWSER_DIR in item.path.parents:
            wanted.append("browser")
        for name in wanted:
            if item.get_closest_marker(name) is None:
                item.add_marker(getattr(pytest.mark, name))


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    url = os.environ.get("KAZARENA_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    pg = TempPostgres()
    try:
        yield pg.start()
    finally:
        pg.stop()


def _fresh_postgres(admin_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kazarena.db'}"
    else:
        url = _fresh_postgres(request.getfixturevalue("postgres_admin_url"))
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kazarena.db'}"
    upgrade(url)
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    # the Gradio UI costs ~0.5 s per app; tests that drive it pass ui_enabled=True
    base = dict(database_url=database_url, cache_dir=CACHE_DIR, auth_enabled=False, ui_enabled=False, health_interval_s=1.0,
                restart_backoff_s=1.0, request_timeout_s=60.0, vllm_start_timeout_s=600.0)
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def models_config_for_tests() -> ModelsConfig:
    return ModelsConfig.model_validate({"models": [
        {"name": TEST_MODEL, "display_name": "Qwen2.5-Coder-0.5B-Instruct", "params": "0.5B",
         "packaged": PACKAGED_TEST_MODEL, "dtype": "float32", "max_model_len": 1024},
        {"name": TEST_RAG_MODEL, "server": TEST_MODEL, "pipeline": "rag", "params": "0.5B",
         "display_name": "Qwen2.5-Coder-0.5B-Instruct + BM25"},
    ]})


# Developers may point the tests at an already running vLLM server (served as
# `qwen-test`) to save a minute per run; CI never sets this and starts its own.
DEV_VLLM_URL = os.environ.get("KAZARENA_TEST_VLLM_BASE_URL")


@pytest.fixture(scope="session")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerThread]:
    """The real packaged model on a real vLLM server, shared by the session."""
    from app.serving.packaged import prepare

    settings = make_settings(f"sqlite:///{tmp_path_factory.mktemp('m') / 'unused.db'}")
    config = models_config_for_tests()
    if DEV_VLLM_URL:
        first = config.models[0].model_copy(update={"packaged": None, "base_url": DEV_VLLM_URL})
        config = ModelsConfig(models=[first, *config.models[1:]])
    else:
        prepare(PACKAGED_TEST_MODEL, settings.models_dir)
    runner = ManagerThread(ModelManager(config, settings))
    try:
        if not runner.start(timeout=600):
            srv = next(iter(runner.manager.servers.values()))
            pytest.fail(f"vLLM did not become ready: {srv.detail}\n{srv.process.tail(40) if srv.process else ''}")
        yield runner
    finally:
        runner.stop()


@pytest.fixture(autouse=True)
def _vllm_ready(request: pytest.FixtureRequest) -> None:
    """Before each test that uses the shared server, wait until it serves: an earlier test
    (tests/integration/test_crash_recovery.py) may have killed it, and the supervisor restarts it.
    So no test depends on running before or after that one."""
    if not VLLM_FIXTURES & set(request.fixturenames):
        return
    runner: ManagerThread = request.getfixturevalue("vllm")
    if not runner.wait_ready(600):
        srv = next(iter(runner.manager.servers.values()))
        pytest.fail(f"the shared vLLM server did not come back: {srv.detail}")
