"""How a contestant's pipeline shapes the conversation, with the real BM25 index."""

from app.serving.grounding import BM25Grounder, load_grounder
from app.serving.pipeline import prepare_messages
from app.serving.registry import ModelSpec
from tests.conftest import make_settings

Q = [{"role": "user", "content": "Жеке куәлікті қалай алуға болады?"}]


class FixedGrounder:
    def ground(self, question):
        return f"CONTEXT for {question}", [{"number": 1, "title": "T", "source_url": "https://egov.kz/x"}]


def test_plain_pipeline_adds_only_the_system_prompt():
    spec = ModelSpec(name="m", path="/m", system_prompt="Қазақ тілінде жауап бер.")
    out = prepare_messages(spec, Q, FixedGrounder())
    assert out.messages == [{"role": "system", "content": "Қазақ тілінде жауап бер."}, *Q] and out.sources == []
    assert prepare_messages(ModelSpec(name="m", path="/m"), Q, None).messages == Q


def test_rag_pipeline_grounds_the_last_user_turn_and_keeps_the_callers_system_message():
    spec = ModelSpec(name="m", path="/m", pipeline="rag")
    convo = [{"role": "system", "content": "Сен көмекшісің."}, {"role": "user", "content": "бірінші"},
             {"role": "assistant", "content": "жауап"}, *Q]
    out = prepare_messages(spec, convo, FixedGrounder())
    assert out.messages[0]["content"].startswith("CONTEXT for Жеке куәлікті")
    assert out.messages[0]["content"].endswith("Сен көмекшісің.") and out.messages[1:] == convo[1:]
    assert out.sources[0]["number"] == 1 and convo[0]["content"] == "Сен көмекшісің."  # input untouched
    missing = prepare_messages(spec, Q, None)
    assert missing.grounding_unavailable and missing.messages == Q


def test_real_index_grounds_an_id_card_question_in_the_govset_document(tmp_path):
    grounder = load_grounder(make_settings("sqlite://", cache_dir=tmp_path))
    assert isinstance(grounder, BM25Grounder) and (tmp_path / "index" / "bm25.json").exists()
    context, sources = grounder.ground(Q[0]["content"])
    assert sources and sources[0]["number"] == 1
    titles = [s["title"] for s in sources]
    assert "Жеке куәлік алу" in titles  # the ID-card document is among the grounding sources
    assert all(s["source_url"].startswith("https://") for s in sources)
    assert "[1]" in context and all(t in context for t in titles)


def test_unreadable_index_means_no_grounding_not_a_crash(tmp_path):
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "bm25.json").write_text("{not json")
    assert load_grounder(make_settings("sqlite://", cache_dir=tmp_path)) is None
