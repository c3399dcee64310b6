from eval.retrieval import Chunk, Hit, format_grounding_block, format_sources, number_sources


def hit(doc_id: str, index: int, rank: int, text: str) -> Hit:
    chunk = Chunk(
        doc_id=doc_id,
        index=index,
        text=text,
        title=f"Тақырып {doc_id}",
        source_url=f"https://egov.kz/{doc_id}",
        set="govset",
        topic="t",
    )
    return Hit(chunk=chunk, score=10.0 - rank, rank=rank)


# Two chunks of document "a" around one of "b": "a" is source 1, "b" source 2.
HITS = [hit("a", 0, 1, "бірінші үзінді"), hit("b", 3, 2, "екінші үзінді"), hit("a", 2, 3, "үшінші үзінді")]


def test_sources_are_numbered_per_document_by_best_rank() -> None:
    sources = number_sources(list(reversed(HITS)))  # input order must not matter
    assert [(s.number, s.doc_id) for s in sources] == [(1, "a"), (2, "b")]
    assert sources[0].passages == ("бірінші үзінді", "үшінші үзінді")
    assert sources[1].source_url == "https://egov.kz/b"


def test_grounding_block_lists_numbered_sources_with_their_text() -> None:
    block = format_grounding_block(HITS)
    assert block.startswith("Төменде сұраққа қатысты дереккөздерден үзінділер берілген.")
    assert "[1] Тақырып a (https://egov.kz/a)\nбірінші үзінді\nүшінші үзінді" in block
    assert "[2] Тақырып b (https://egov.kz/b)\nекінші үзінді" in block
    assert block.index("[1]", block.index("үзінділер берілген")) < block.index("[2] Тақырып b")


def test_sources_for_display() -> None:
    assert format_sources(HITS) == (
        "Дереккөздер:\n[1] Тақырып a — https://egov.kz/a\n[2] Тақырып b — https://egov.kz/b"
    )


def test_nothing_retrieved_gives_empty_strings() -> None:
    assert format_grounding_block([]) == ""
    assert format_sources([]) == ""
