"""The secret salt of exported annotator ids: weak ones are refused by the library, the CLI
(exit 2) and REST (400), and with none configured one is generated and kept in the database."""

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import export as export_cli
from app.main import create_app
from app.services.accounts import Registration, login, register
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from app.settings import Settings, get_settings
from arena.export import ExportOptions, export_dataset
from arena.export.salt import MIN_SALT_CHARS, WeakSaltError, check_salt, resolve_salt, stored_salt
from db.models import ExportSecret
from db.session import session_scope
from tests.conftest import make_settings
from tests.utils.export_data import expected_judge, fill

WEAK = ["", "   ", "dev-salt-change-me", "DEV-SALT-CHANGE-ME", "short-salt", "x" * 15, "a" * 40, "changeme"]
GOOD = "k3Jd9-q_P2vX8mZt4LwR"


@pytest.mark.parametrize("salt", WEAK)
def test_weak_salts_are_refused(salt):
    with pytest.raises(WeakSaltError, match="KAZARENA_SECRET_SALT"):
        check_salt(salt)


def test_a_long_random_salt_is_accepted():
    assert len(GOOD) >= MIN_SALT_CHARS and check_salt(GOOD) == GOOD


def test_production_refuses_a_weak_configured_salt_but_not_an_unset_one(monkeypatch):
    monkeypatch.delenv("KAZARENA_SECRET_SALT", raising=False)
    with pytest.raises(ValueError, match="shorter than 16"):
        Settings(environment="production", secret_salt="short", database_url="sqlite://")
    assert Settings(environment="production", database_url="sqlite://", _env_file=None).secret_salt is None
    assert Settings(_env_file=None).secret_salt is None  # no known default any more


def test_the_salt_is_generated_once_and_kept(sqlite_url):
    with session_scope(sqlite_url) as s:
        first = resolve_salt(s, None)
    with session_scope(sqlite_url) as s:
        assert stored_salt(s) == first and s.query(ExportSecret).count() == 1
    assert len(first) >= 32 and check_salt(first) == first
    with session_scope(sqlite_url) as s:
        assert resolve_salt(s, GOOD) == GOOD  # the operator's salt wins
        with pytest.raises(WeakSaltError):
            resolve_salt(s, "")


def test_another_database_gets_another_salt(tmp_path):
    from db.migrate import upgrade

    salts = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade(url)
        with session_scope(url) as s:
            salts.append(stored_salt(s))
    assert salts[0] != salts[1]


@pytest.mark.parametrize("salt", ["dev-salt-change-me", "", "short"])
def test_export_dataset_refuses_a_weak_salt_and_writes_nothing(sqlite_url, tmp_path, salt):
    fill(sqlite_url)
    with session_scope(sqlite_url) as s, pytest.raises(WeakSaltError):
        export_dataset(session=s, out_dir=tmp_path / "out", options=ExportOptions(), salt=salt)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ CLI
runner = CliRunner()
cli = typer.Typer()
export_cli.register(cli)
cli.command("noop", hidden=True)(lambda: None)


def invoke(url, out, salt):
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, ["export", str(out)],
                             env={"KAZARENA_DATABASE_URL": url, "KAZARENA_SECRET_SALT": salt, "HF_TOKEN": ""})
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("salt", ["dev-salt-change-me", "", "only-15-chars.."])
def test_cli_exits_non_zero_with_a_weak_salt(sqlite_url, tmp_path, salt):
    fill(sqlite_url)
    result = invoke(sqlite_url, tmp_path / "out", salt)
    assert result.exit_code == 2, result.output
    assert "KAZARENA_SECRET_SALT" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_without_a_salt_uses_the_stored_one(sqlite_url, tmp_path):
    import pyarrow.parquet as pq

    filled = fill(sqlite_url)
    result = invoke(sqlite_url, tmp_path / "out", None)  # None: the variable is unset
    assert result.exit_code == 0, result.output
    with session_scope(sqlite_url) as s:
        salt = s.get(ExportSecret, 1).salt
    judges = set(pq.read_table(tmp_path / "out/annotators/train.parquet").column("judge").to_pylist())
    assert expected_judge(salt, filled.annotator_ids["asel_nurlankyzy"]) in judges
    card = (tmp_path / "out/README.md").read_text(encoding="utf-8")
    assert salt not in card and "HMAC-SHA256" in card and "secret salt" in card
    assert "the operator" in card and "cannot be reversed" in " ".join(card.split())
    again = invoke(sqlite_url, tmp_path / "again", None)
    assert again.exit_code == 0
    assert set(pq.read_table(tmp_path / "again/annotators/train.parquet").column("judge").to_pylist()) == judges


# ----------------------------------------------------------------------- REST
def _admin(url):
    with session_scope(url) as s:
        register(session=s, role="admin", reg=Registration(username="chief_admin", password="correct horse 1",
                                                          proficiency="native", consent=True, age_confirmed=True))
    with session_scope(url) as s:
        return login(session=s, username="chief_admin", password="correct horse 1", ttl_hours=1)[1]


def _client(url, salt):
    settings = make_settings(url, secret_salt=salt)
    config = ModelsConfig.model_validate({"models": [{"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    return TestClient(create_app(settings, ModelManager(config, settings)))


@pytest.mark.parametrize("salt", ["dev-salt-change-me", "", "short"])
def test_rest_export_is_a_400_with_a_weak_salt(sqlite_url, salt):
    fill(sqlite_url)
    token = _admin(sqlite_url)
    with _client(sqlite_url, salt) as client:
        resp = client.get("/api/admin/export", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "weak_secret_salt" and "KAZARENA_SECRET_SALT" in error["message"]


def test_rest_export_without_a_salt_uses_the_stored_one(sqlite_url):
    fill(sqlite_url)
    token = _admin(sqlite_url)
    with _client(sqlite_url, None) as client:
        resp = client.get("/api/admin/export", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    with session_scope(sqlite_url) as s:
        assert s.get(ExportSecret, 1) is not None
