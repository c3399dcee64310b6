"""lm-evaluation-harness against kazarena's /v1/completions agrees with kazarena's own MCQ scoring.

lm-eval (``local-completions``, the packaged model's own tokenizer, token-id
requests) runs the first 5 of the 10 real UNT items written as a local JSONL task; kazarena's
``eval.mcq`` scores the same items through the same endpoint with string prompts
and text offsets. Same prompts, same per-option log-likelihoods, same accuracy.
"""

import json
import math

import openai
import pytest

from app.main import create_app
from eval.mcq import CompletionsScorer, evaluate_items, format_prompt, load_mcq, score_predictions
from tests.conftest import CACHE_DIR, PACKAGED_TEST_MODEL, TEST_MODEL, make_settings
from tests.integration.test_eval_live import UNT10
from tests.utils.servers import AppServer

pytestmark = pytest.mark.vllm
ITEMS = 5

TASK_YAML = """\
task: kazarena_unt_hsr
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
target_delimiter: " "
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""


@pytest.fixture(scope="module")
def kazarena(vllm, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('lmeval') / 'kazarena.db'}"
    with AppServer(create_app(make_settings(url, request_timeout_s=300.0), manager=vllm.manager)) as server:
        yield server


def test_lm_eval_local_completions_matches_kazarena_mcq(kazarena, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    data = tmp_path / "unt_hsr.jsonl"  # the first ITEMS items: 4 prompts each on a 2-core CPU
    lines = UNT10.read_text(encoding="utf-8").splitlines(keepends=True)[:ITEMS]
    data.write_text("".join(lines), encoding="utf-8")
    (tmp_path / "kazarena_unt_hsr.yaml").write_text(TASK_YAML.format(data=data), encoding="utf-8")
    tokenizer_dir = CACHE_DIR / "models" / PACKAGED_TEST_MODEL
    results = simple_evaluate(
        model="local-completions",
        model_args={"model": TEST_MODEL, "base_url": f"{kazarena.url}/v1/completions", "tokenizer": str(tokenizer_dir),
                    "tokenizer_backend": "huggingface", "tokenized_requests": True, "batch_size": 8,
                    "max_retries": 1, "max_length": 1024},
        tasks=["kazarena_unt_hsr"],
        task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        log_samples=True,
    )
    lm_acc = results["results"]["kazarena_unt_hsr"]["acc,none"]
    samples = sorted(results["samples"]["kazarena_unt_hsr"], key=lambda s: s["doc_id"])

    dataset = load_mcq(str(data))
    client = openai.OpenAI(base_url=f"{kazarena.url}/v1", api_key="EMPTY", max_retries=0)
    ours = evaluate_items(dataset.items, CompletionsScorer(client, TEST_MODEL, batch_size=8, concurrency=2))
    our_acc = score_predictions(ours).overall.value

    assert len(samples) == len(ours) == ITEMS
    for sample, item, pred in zip(samples, dataset.items, ours, strict=True):
        context, continuation = sample["arguments"][0]  # lm-eval's request for option A
        assert context == format_prompt(item.question, item.choices) and continuation == " A"
        lm_lls = [resp[0][0] for resp in sample["resps"]]
        assert lm_lls == pytest.approx(list(pred.loglikelihoods), abs=2e-3)
        assert max(range(4), key=lambda k: lm_lls[k]) == pred.predicted
        assert sample["acc"] == float(pred.correct)
        assert math.fsum(math.exp(x) for x in lm_lls) <= 1.0 + 1e-6  # four one-token options at one position
    assert lm_acc == pytest.approx(our_acc)
    # the numbers behind the claim, for whoever reads the test log
    print(json.dumps({"lm_eval_acc": lm_acc, "kazarena_acc": our_acc,
                      "predictions": [p.predicted for p in ours]}))
