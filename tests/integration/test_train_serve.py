"""Train a small model on the sample IFT set, then serve it with vLLM as the fine-tuned contestant."""

import httpx
import pytest

from app.main import create_app
from app.serving.manager import ModelManager
from app.serving.registry import ModelsConfig
from app.settings import PROJECT_ROOT
from tests.conftest import make_settings
from tests.utils.servers import AppServer, ManagerThread
from train.config import TrainConfig
from train.formatting import load_jsonl, save_jsonl
from train.tiny import build_tiny_model, build_tiny_tokenizer
from train.trainer import train

pytestmark = pytest.mark.vllm


def test_fine_tuned_model_lowers_held_out_loss_and_is_served_by_vllm(tmp_path, sqlite_url):
    pairs = load_jsonl(PROJECT_ROOT / "data" / "ift" / "train.jsonl")
    held_out = load_jsonl(PROJECT_ROOT / "data" / "ift" / "test.jsonl")
    short = [{"instruction": p["instruction"][:200], "output": p["output"][:200]} for p in pairs]
    tokenizer = build_tiny_tokenizer([p["instruction"] + " " + p["output"] for p in pairs])
    base = tmp_path / "base"
    # hidden 256 / 4 heads: a head size vLLM's CPU attention supports
    build_tiny_model(tokenizer, hidden_size=256, layers=2).save_pretrained(base)
    tokenizer.save_pretrained(base)
    result = train(TrainConfig(
        model=str(base), data=str(save_jsonl(tmp_path / "train.jsonl", short)),
        eval_data=str(save_jsonl(tmp_path / "test.jsonl", [{"instruction": p["instruction"][:200],
                                                            "output": p["output"][:200]} for p in held_out])),
        output_dir=str(tmp_path / "finetuned"), learning_rate=3e-3, batch_size=4, max_seq_length=512,
        max_steps=8, eval_every=4, seed=0))
    losses = [loss for _, loss in result.eval_losses]
    assert len(losses) >= 2 and losses[-1] < losses[0]

    settings = make_settings(sqlite_url, ui_enabled=False, vllm_start_timeout_s=600)
    config = ModelsConfig.model_validate({"models": [
        {"name": "tiny-kk", "kind": "fine-tuned", "params": "2M", "path": str(result.output_dir),
         "optional": True, "max_model_len": 512, "sampling": {"max_tokens": 8}}]})
    runner = ManagerThread(ModelManager(config, settings))
    try:
        assert runner.start(timeout=600), runner.manager.status()
        with AppServer(create_app(settings, runner.manager)) as app:
            cards = httpx.get(f"{app.url}/v1/models").json()["data"]
            assert [(c["id"], c["kind"]) for c in cards] == [("tiny-kk", "fine-tuned")]
            r = httpx.post(f"{app.url}/v1/generate", timeout=120,
                           json={"model": "tiny-kk", "prompt": held_out[0]["instruction"], "max_tokens": 8})
            assert r.status_code == 200, r.text
            assert r.json()["usage"]["completion_tokens"] >= 1
    finally:
        runner.stop()
