import pytest

from eval.retrieval import Document, chunk_documents, split_text

# A real-looking Kazakh paragraph, line breaks and double spaces included.
TEXT = (
    "Қазақстан Республикасы азаматының жеке куәлігі — азаматтың жеке басын\n"
    "Қазақстан аумағында куәландыратын негізгі құжат.  Он алты жасқа толған әрбір "
    "азамат жеке куәлік алуы тиіс. Құжат он жыл мерзімге беріледі. " * 6
)


def test_greedy_packing_on_a_hand_made_example() -> None:
    assert split_text("бір екі үш төрт бес", max_chars=7) == ["бір екі", "үш төрт", "бес"]
    assert split_text("бір екі", max_chars=7) == ["бір екі"]  # exactly at the limit
    assert split_text("  \n ", max_chars=7) == []


@pytest.mark.parametrize("max_chars", [40, 100, 256])
def test_no_piece_too_long_no_word_cut_nothing_lost(max_chars: int) -> None:
    pieces = split_text(TEXT, max_chars)
    assert all(0 < len(p) <= max_chars for p in pieces)
    words = TEXT.split()
    # Every piece is a run of whole words, and together they are the text's words in order.
    assert [w for p in pieces for w in p.split(" ")] == words
    # Greedy: the next piece's first word would not have fitted.
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert len(a) + 1 + len(b.split(" ")[0]) > max_chars


def test_overlong_word_is_the_only_mid_word_cut() -> None:
    url = "https://egov.kz/" + "a" * 30
    pieces = split_text(f"қараңыз {url} сайтын", max_chars=20)
    assert pieces == ["қараңыз", url[:20], url[20:40], url[40:] + " сайтын"]


def test_rejects_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="max_chars must be >= 1"):
        split_text("мәтін", max_chars=0)


def test_chunks_carry_document_metadata() -> None:
    doc = Document(
        id="govset-id-card",
        set="govset",
        topic="identity_documents",
        title="Жеке куәлік алу",
        source_url="https://egov.kz/cms/kk/services/identity_documents/id_card",
        text=TEXT,
    )
    chunks = chunk_documents([doc])
    assert len(chunks) == len(split_text(TEXT))
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert {(c.doc_id, c.title, c.source_url, c.set, c.topic) for c in chunks} == {
        (doc.id, doc.title, doc.source_url, doc.set, doc.topic)
    }
    assert max(len(c.text) for c in chunks) <= 256
