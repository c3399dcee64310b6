"""Every response carries the security headers; the cookie is Secure over https; /readyz names no paths."""

from fastapi.testclient import TestClient

from app.api.headers import API_POLICY, UI_POLICY
from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from tests.conftest import make_settings
from tests.utils.arena import annotator


def _client(sqlite_url, *, base_url="http://testserver", ui=False):
    settings = make_settings(sqlite_url, ui_enabled=ui)
    config = ModelsConfig.model_validate({"models": [
        {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        {"name": "missing", "path": "/srv/secret/layout/model"}]})
    return TestClient(create_app(settings, ModelManager(config, settings)), base_url=base_url)


def test_api_answers_errors_included_carry_the_strict_policy(sqlite_url):
    with _client(sqlite_url) as c:
        for resp in (c.get("/healthz"), c.get("/v1/nothing"), c.post("/v1/generate", content=b"{"),
                     c.post("/v1/generate", json={"model": "down", "prompt": "x\u0000"})):
            assert resp.headers["x-content-type-options"] == "nosniff", resp.url
            assert resp.headers["content-security-policy"] == API_POLICY
            assert resp.headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in resp.headers  # plain http: no HSTS


def test_the_ui_gets_a_policy_gradio_works_under(sqlite_url):
    with _client(sqlite_url, ui=True) as c:
        page = c.get("/ui/")
        assert page.status_code == 200 and page.headers["content-security-policy"] == UI_POLICY
        assert page.headers["x-frame-options"] == "SAMEORIGIN"  # the UI itself may frame its own pages


def test_session_cookie_is_secure_only_over_https(sqlite_url):
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with _client(sqlite_url, base_url=base) as c:
            name = f"user_{'s' if secure else 'p'}"
            annotator(sqlite_url, username=name)
            resp = c.post("/api/arena/login", json={"username": name, "password": "құпия-сөз-123"})
            assert resp.status_code == 200, resp.text
            cookie = resp.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            assert ("; secure" in cookie) is secure
            assert ("strict-transport-security" in resp.headers) is secure


def test_readiness_shows_states_but_no_file_paths(sqlite_url):
    with _client(sqlite_url) as c:
        models = c.get("/readyz").json()["models"]
    assert models["missing"]["state"] == "not installed" and models["missing"]["detail"]
    assert "/srv/" not in str(models) and "/.cache/" not in str(models) and "/root" not in str(models)
