"""`GET /api/admin/export`: 401 without a session, 403 for annotators, and for admins a zip
holding exactly the files `kazarena export` writes from the same database."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.accounts import Registration, login, register
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from arena.export import ExportOptions, export_dataset
from db.session import session_scope
from eval.langid import detect_language
from tests.conftest import make_settings
from tests.utils.export_data import fill, folder_files, leaks, zip_files

SALT = "api-salt-4411-long-enough"


def _account(url, username, role):
    with session_scope(url) as s:
        register(session=s, role=role, reg=Registration(username=username, password="correct horse 1",
                                                        proficiency="native", consent=True, age_confirmed=True))
    with session_scope(url) as s:
        return login(session=s, username=username, password="correct horse 1", ttl_hours=1)[1]


@pytest.fixture
def client(sqlite_url):
    settings = make_settings(sqlite_url, secret_salt=SALT)
    config = ModelsConfig.model_validate({"models": [{"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    with TestClient(create_app(settings, ModelManager(config, settings))) as c:
        c.db = sqlite_url
        yield c


def test_only_admins_may_export(client):
    fill(client.db)
    annotator = _account(client.db, "plain_annotator", "annotator")
    assert client.get("/api/admin/export").status_code == 401
    assert client.get("/api/admin/export", headers={"Authorization": "Bearer ks_forged"}).status_code == 401
    refused = client.get("/api/admin/export", headers={"Authorization": f"Bearer {annotator}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_only"
    client.cookies.set("kazarena_session", annotator)
    assert client.get("/api/admin/export").status_code == 403
    client.cookies.clear()


@pytest.mark.parametrize("fmt", ["parquet", "both"])
def test_admin_gets_a_zip_of_the_same_files_as_the_cli(client, tmp_path, fmt):
    fill(client.db)
    admin = _account(client.db, "chief_admin", "admin")
    client.cookies.set("kazarena_session", admin)
    resp = client.get("/api/admin/export", params={"format": fmt, "since": "2026-03-01", "include_gold": "true"})
    client.cookies.clear()
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/zip"
    assert 'filename="kazarena-export.zip"' in resp.headers["content-disposition"]
    zipped = zip_files(resp.content)

    with session_scope(client.db) as s:
        export_dataset(session=s, out_dir=tmp_path / "cli", salt=SALT, language_of=detect_language,
                       options=ExportOptions.from_args(fmt=fmt, since="2026-03-01", include_gold=True))
    assert zipped == folder_files(tmp_path / "cli")
    assert "battles/train.parquet" in zipped and ("battles/train.jsonl" in zipped) == (fmt == "both")
    assert leaks(zipped) == []

    again = client.get("/api/admin/export", params={"format": fmt, "since": "2026-03-01", "include_gold": "true"},
                       headers={"Authorization": f"Bearer {admin}"})
    assert again.content == resp.content  # the archive itself is deterministic too


@pytest.mark.parametrize(("params", "words"), [
    ({"since": "last week"}, "not a date"),
    ({"since": "2026-03-05", "until": "2026-03-01"}, "is not before"),
])
def test_bad_options_are_a_400_before_anything_streams(client, params, words):
    admin = _account(client.db, "chief_admin", "admin")
    resp = client.get("/api/admin/export", params=params, headers={"Authorization": f"Bearer {admin}"})
    assert resp.status_code == 400 and words in resp.json()["error"]["message"]
    assert client.get("/api/admin/export", params={"format": "csv"},
                      headers={"Authorization": f"Bearer {admin}"}).status_code == 400
