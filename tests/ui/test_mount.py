"""The UI is mounted at /ui with Kazakh labels and the configured models; / leads there."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.serving.vllm_process import free_port
from app.ui.i18n import t
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = make_settings(f"sqlite:///{tmp_path_factory.mktemp('mount') / 'k.db'}", ui_enabled=True)
    config = ModelsConfig.model_validate({"models": [
        {"name": "m1", "display_name": "Model One", "params": "0.5B", "kind": "base",
         "base_url": f"http://127.0.0.1:{free_port()}/v1"}]})
    with TestClient(create_app(settings, ModelManager(config, settings))) as c:
        yield c


def _props(config: dict) -> list[dict]:
    return [c.get("props", {}) for c in config["components"]]


def test_root_redirects_to_the_ui_and_the_page_loads(client):
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code == 307 and resp.headers["location"] == "/ui"
    assert client.get("/ui/").status_code == 200
    assert client.get("/ui/config").json()["title"] == "kazarena"


def test_the_ui_opens_in_kazakh_with_the_models_and_the_egov_note(client):
    props = _props(client.get("/ui/config").json())
    labels = {p.get("label") for p in props}
    assert {t("ui_language", "kk"), t("model", "kk"), t("input", "kk"), t("chatbot", "kk"),
            t("tab_chat", "kk"), t("tab_about", "kk")} <= labels
    values = {str(p.get("value")) for p in props}
    assert t("egov_note", "kk") in values and t("send", "kk") in values
    dropdown = next(p for p in props if p.get("label") == t("model", "kk"))
    assert dropdown["choices"] == [["Model One · 0.5B · base", "m1"]] and dropdown["value"] == "m1"


def test_ui_events_are_not_exposed_as_a_public_api(client):
    info = client.get("/ui/gradio_api/info").json()
    assert info["named_endpoints"] == {}
