"""IFT generation against the real local vLLM (the tiny packaged model): the pipeline runs end to end
and counts valid/invalid pairs honestly. A 0.5B model writes poor Kazakh pairs; quality is not asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.retrieval.documents import load_documents
from train.generate import Endpoint, generate_ift

ROOT = Path(__file__).parents[2]


@pytest.mark.vllm
def test_generate_ift_live(vllm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base_url = next(iter(vllm.manager.servers.values())).base_url
    doc = min(load_documents(ROOT / "data" / "govset" / "govset.jsonl"), key=lambda d: len(d.text))
    out = tmp_path / "pairs.jsonl"
    endpoint = Endpoint(base_url=base_url, model="qwen-test", max_tokens=256, temperature=0.0, concurrency=1)
    usage = generate_ift([doc], out, endpoint, max_pairs=3)
    assert usage.items_done == 1 and usage.items_failed == 0 and usage.requests == 1
    assert usage.prompt_tokens > 100 and 0 < usage.completion_tokens <= 256 and usage.cost_usd == 0.0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    assert len(rows) == usage.valid  # every kept pair written, every dropped one counted
    assert usage.valid + usage.invalid >= 1
    ledger = json.loads(out.with_name(out.name + ".done").read_text(encoding="utf-8"))
    assert (ledger["key"], ledger["valid"], ledger["invalid"]) == (doc.id, usage.valid, usage.invalid)
    assert all(r["doc_id"] == doc.id and r["source"] == doc.source_url for r in rows)
