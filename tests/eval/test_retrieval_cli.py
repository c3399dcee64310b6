import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from app.cli.index import register
from app.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def root() -> None:  # a callback keeps "index" as a named sub-command
        pass

    return app


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    rows = [
        {
            "id": "g1",
            "set": "govset",
            "topic": "transport",
            "title": "Жүргізуші куәлігі",
            "source_url": "https://egov.kz/g1",
            "text": "Жүргізуші куәлігі емтихан тапсырғаннан кейін беріледі.",
        },
        {
            "id": "g2",
            "set": "govset",
            "topic": "family",
            "title": "Некені тіркеу",
            "source_url": "https://egov.kz/g2",
            "text": "Неке АХАТ органында тіркеледі.",
        },
        # BM25Okapi gives zero idf to a word in half the documents: three keep it positive.
        {
            "id": "g3",
            "set": "govset",
            "topic": "taxes",
            "title": "Мүлік салығы",
            "source_url": "https://egov.kz/g3",
            "text": "Мүлік салығы жыл сайын төленеді.",
        },
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_build_then_search(cli: typer.Typer, docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx.json"
    result = runner.invoke(cli, ["index", "build", "--docs", str(docs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Indexed 3 documents as 3 chunks" in result.output
    result = runner.invoke(cli, ["index", "search", "Некені қайда тіркейді?", "-k", "1", "--index", str(out)])
    assert result.exit_code == 0, result.output
    assert "[1] Некені тіркеу — https://egov.kz/g2" in result.output
    assert "Жүргізуші" not in result.output


def test_default_output_is_under_the_cache_dir(cli, docs: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAZARENA_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["index", "build", "--docs", str(docs)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "cache" / "index" / "bm25.json").exists()
    finally:
        get_settings.cache_clear()


def test_bad_documents_and_missing_index_exit_with_a_message(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    result = runner.invoke(cli, ["index", "build", "--docs", str(bad), "--out", str(tmp_path / "i.json")])
    assert result.exit_code == 1
    assert "bad.jsonl:1: missing field(s)" in result.output
    result = runner.invoke(cli, ["index", "search", "сұрақ", "--index", str(tmp_path / "none.json")])
    assert result.exit_code == 1
    assert "grounding unavailable" in result.output
