import pytest

from db.jsonl import JsonlError, iter_jsonl, read_jsonl


def test_reads_objects_in_order_and_skips_blank_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1, "text": "Сәлем"}\n\n   \n{"id": 2}\n', encoding="utf-8")
    assert read_jsonl(path) == [{"id": 1, "text": "Сәлем"}, {"id": 2}]
    assert [n for n, _ in iter_jsonl(str(path))] == [1, 4]


def test_empty_file_gives_no_rows(tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    assert read_jsonl(tmp_path / "empty.jsonl") == []


@pytest.mark.parametrize(("lines", "message"), [
    (['{"id": 1}', "", '{"id": 2'], "bad.jsonl:3: not valid JSON"),
    (['{"id": 1}', "[1, 2]"], "bad.jsonl:2: expected a JSON object, got list"),
    (['"text"'], "bad.jsonl:1: expected a JSON object, got str"),
])
def test_bad_lines_name_the_file_and_line(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        read_jsonl(path)
    assert isinstance(caught.value, JsonlError) and caught.value.path == path
    assert caught.value.line == int(message.split(":")[1])


def test_iterator_stops_early_without_reading_bad_lines_after(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1}\nnot json\n', encoding="utf-8")
    assert next(iter_jsonl(path)) == (1, {"id": 1})


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_jsonl(tmp_path / "nope.jsonl")
