from pathlib import Path

import pytest

from app.serving.registry import ConfigError, ModelsConfig, available, load_models_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_configs_load():
    cpu = load_models_config(ROOT / "configs" / "models.yaml")
    names = [m.name for m in cpu.models]
    assert "qwen2.5-0.5b-instruct" in names and "gemma-3-270m-base" in names
    rag = cpu.get("qwen2.5-0.5b-instruct-rag")
    assert rag is not None and rag.pipeline == "rag"
    assert cpu.server_of(rag).name == "qwen2.5-0.5b-instruct"
    # every model is labelled with size and kind, and the arena sampling is the Basque study's
    for m in cpu.models:
        assert m.params and m.kind in m.label()
        assert (m.sampling.temperature, m.sampling.top_p) == (0.9, 0.95)
    gpu = load_models_config(ROOT / "configs" / "models.gpu.yaml")
    assert all(m.base_url or m.server for m in gpu.models)


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([{"name": "a"}], "exactly one of"),
        ([{"name": "a", "path": "/x", "base_url": "http://h/v1"}], "exactly one of"),
        ([{"name": "a", "packaged": "nope"}], "unknown packaged model"),
        ([{"name": "a", "path": "/x"}, {"name": "a", "path": "/y"}], "duplicate model names"),
        ([{"name": "a", "server": "b"}], "must name a model"),
        ([{"name": "a", "path": "/x", "lora": "/l"}], "LoRA adapter needs"),
        ([{"name": "bad name!", "path": "/x"}], "name"),
        ([{"name": "a", "path": "/x", "sampling": {"temperature": 9}}], "temperature"),
        ([{"name": "a", "path": "/x", "colour": "red"}], "colour"),
    ],
)
def test_bad_configs_are_refused_with_a_reason(tmp_path, models, message):
    with pytest.raises(ValueError, match=message):
        ModelsConfig.model_validate({"models": models})


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_models_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_models_config(bad)


def test_optional_finetuned_model_is_reported_missing_until_trained(tmp_path):
    cfg = ModelsConfig.model_validate({"models": [
        {"name": "ft", "kind": "fine-tuned", "path": "${cache}/finetuned/x", "optional": True}]})
    ok, why = available(cfg.models[0], tmp_path / "models")
    assert not ok and "kazarena train" in why
    target = tmp_path / "finetuned" / "x"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    assert available(cfg.models[0], tmp_path / "models") == (True, "")


def test_vllm_sampling_extensions_go_in_the_body_extras_and_a_minimum_never_exceeds_the_cap():
    from app.serving.client import sampling_params
    from app.serving.manager import Route
    from app.serving.registry import ModelSpec

    spec = ModelSpec.model_validate({"name": "m", "base_url": "http://127.0.0.1:1/v1", "sampling": {
        "max_tokens": 512, "arena_max_tokens": 200, "min_tokens": 300, "repetition_penalty": 1.1}})
    route = Route(spec, None)  # type: ignore[arg-type]  # sampling reads the spec alone
    assert sampling_params(route, {}, arena=True)["extra_body"] == {"repetition_penalty": 1.1, "min_tokens": 200}
    assert sampling_params(route, {})["extra_body"] == {"repetition_penalty": 1.1, "min_tokens": 300}
    plain = ModelSpec.model_validate({"name": "p", "base_url": "http://127.0.0.1:1/v1"})
    assert "extra_body" not in sampling_params(Route(plain, None), {})  # type: ignore[arg-type]
