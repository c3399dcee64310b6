"""The fine-tuned contestant that ships: Gemma 3 270M + the LoRA adapter in data/adapters/.

It is served next to its base by one real vLLM server, exactly as configs/models.yaml says, and
the first steps of the command that trained it reproduce the loss curve in its manifest.
"""

import hashlib
import json
from dataclasses import fields

import httpx
import pytest

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.packaged import prepare
from app.serving.registry import ModelsConfig, load_models_config, resolve_lora_path
from app.settings import PROJECT_ROOT
from tests.conftest import make_settings
from tests.utils.servers import AppServer, ManagerThread
from train.config import TrainConfig
from train.trainer import train

pytestmark = pytest.mark.vllm

FINE_TUNED, BASE = "gemma-3-270m-kk", "gemma-3-270m-base"
QUESTION = "Қазақстанда жеке куәлікті қалай алуға болады?"
REPRODUCED_STEPS = 2
LOSS_TOLERANCE = 0.02  # same code, data, seed and threads; CPU float sums may differ in the last digits


def _sha256(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipped() -> tuple[ModelsConfig, dict]:
    config = load_models_config(PROJECT_ROOT / "configs" / "models.yaml")
    models = [m for m in config.models if m.name in (FINE_TUNED, BASE)]
    adapter = resolve_lora_path(config.get(FINE_TUNED), PROJECT_ROOT)  # ${project}: the checkout
    manifest = json.loads((adapter / "run_manifest.json").read_text(encoding="utf-8"))
    return ModelsConfig(models=[m.model_copy(update={"max_model_len": 1024}) for m in models]), manifest


def test_the_adapter_is_served_beside_its_base_and_changes_the_answer(tmp_path, sqlite_url):
    config, manifest = _shipped()
    settings = make_settings(sqlite_url, vllm_start_timeout_s=600)
    prepare("gemma-3-270m", settings.models_dir)
    runner = ManagerThread(ModelManager(config, settings))
    try:
        assert runner.start(timeout=600), runner.manager.status()
        with AppServer(create_app(settings, runner.manager, grounder=None)) as app:
            cards = {c["id"]: c["kind"] for c in httpx.get(f"{app.url}/v1/models").json()["data"]}
            assert cards == {FINE_TUNED: "fine-tuned", BASE: "base"}
            answers = {}
            for model in (FINE_TUNED, BASE):
                r = httpx.post(f"{app.url}/v1/chat/completions", timeout=180, json={
                    "model": model, "messages": [{"role": "user", "content": QUESTION}],
                    "temperature": 0, "max_tokens": 24})
                assert r.status_code == 200, r.text
                answers[model] = r.json()["choices"][0]["message"]["content"]
            assert answers[FINE_TUNED].strip(), answers
            assert answers[FINE_TUNED] != answers[BASE], answers  # greedy: only the adapter differs
    finally:
        runner.stop()


def test_the_first_steps_of_the_shipped_training_command_reproduce_its_loss_curve(tmp_path, sqlite_url):
    _, manifest = _shipped()
    settings = make_settings(sqlite_url)
    base = prepare("gemma-3-270m", settings.models_dir)
    saved = manifest["config"]
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in saved.items() if k in known} | {
        "model": str(base), "data": str(PROJECT_ROOT / saved["data"]), "eval_data": None,
        "output_dir": str(tmp_path / "again"), "max_steps": REPRODUCED_STEPS, "save_every": 0, "eval_every": 0,
        "resume_from": None})
    shipped_data = PROJECT_ROOT / saved["data"]
    recorded = {str(k): v for k, v in manifest["data_files"].items()}
    assert any(sha == _sha256(shipped_data) for sha in recorded.values()), "data/ift changed: retrain the adapter"
    result = train(config)
    expected = [row["loss"] for row in manifest["loss_curve"][:REPRODUCED_STEPS]]
    got = [row["loss"] for row in json.loads((result.output_dir / "run_manifest.json").read_text())["loss_curve"]]
    assert got == pytest.approx(expected, abs=LOSS_TOLERANCE), (got, expected)
