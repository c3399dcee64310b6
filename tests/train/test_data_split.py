import pytest

from train.data_split import document_order_key, split_by_document


def rows_for(sizes: dict[str, int]) -> list[dict]:
    return [{"doc_id": d, "i": i} for d, n in sizes.items() for i in range(n)]


def test_no_document_on_both_sides_and_nothing_lost() -> None:
    rows = rows_for({f"doc{i}": 1 + i % 7 for i in range(300)})
    split = split_by_document(rows)
    train_docs = {r["doc_id"] for r in split.train}
    test_docs = {r["doc_id"] for r in split.test}
    assert train_docs.isdisjoint(test_docs)
    assert test_docs == split.test_doc_ids
    assert sorted(map(id, split.train + split.test)) == sorted(map(id, rows))


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_ratio_is_close_to_the_fraction(fraction: float) -> None:
    # Documents of 1..7 rows: the share can only miss by less than one document's rows.
    rows = rows_for({f"doc{i}": 1 + i % 7 for i in range(300)})
    split = split_by_document(rows, test_fraction=fraction)
    assert abs(len(split.test) - fraction * len(rows)) < 7
    assert split.test_share == pytest.approx(fraction, abs=0.01)


def test_deterministic_and_independent_of_row_order() -> None:
    rows = rows_for({f"doc{i}": 2 + i % 3 for i in range(100)})
    first = split_by_document(rows)
    again = split_by_document(list(reversed(rows)))
    assert first.test_doc_ids == again.test_doc_ids
    assert split_by_document(rows, salt="other").test_doc_ids != first.test_doc_ids


def test_documents_are_taken_in_hash_order() -> None:
    # Equal sizes: the test side is exactly the first 10% of documents by hash.
    docs = [f"d{i}" for i in range(50)]
    split = split_by_document(rows_for(dict.fromkeys(docs, 2)))
    assert split.test_doc_ids == set(sorted(docs, key=document_order_key)[:5])


def test_edges_and_bad_input() -> None:
    rows = rows_for({"a": 3, "b": 3})
    assert split_by_document(rows, test_fraction=0.0).test == []
    assert split_by_document(rows, test_fraction=1.0).train == []
    assert split_by_document([]).test_share == 0.0
    with pytest.raises(ValueError, match="test_fraction must be in"):
        split_by_document(rows, test_fraction=1.5)
    with pytest.raises(ValueError, match="row 1 has no document id in field 'doc_id'"):
        split_by_document([{"doc_id": "a"}, {"id": "x"}])
