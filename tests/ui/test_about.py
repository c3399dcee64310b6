"""The About page labels the configured models honestly."""

from app.serving.registry import ModelSpec, load_models_config
from app.settings import PROJECT_ROOT
from app.ui.about import about_markdown
from app.ui.i18n import t


def _rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[1:]]


def test_the_embedded_models_are_listed_with_size_kind_and_note_and_called_stand_ins():
    specs = load_models_config(PROJECT_ROOT / "configs" / "models.yaml").models
    page = about_markdown(specs, "kk")
    rows = _rows(page)
    assert len(rows) == len(specs)
    by_name = {r[0]: r for r in rows}
    base = by_name["Gemma 3 270M (base, not instruction-tuned)"]
    assert base[1] == "270M" and base[2] == t("kind_base", "kk") and "echoes" in base[4]
    rag = by_name["Qwen2.5-Coder-0.5B-Instruct + BM25 grounding"]
    assert rag[3] == t("pipeline_rag", "kk")
    assert t("stand_in_note", "kk") in page and t("ethics_body", "kk") in page
    assert "egov.kz" in page


def test_full_size_models_are_not_called_stand_ins():
    specs = load_models_config(PROJECT_ROOT / "configs" / "models.gpu.yaml").models
    page = about_markdown(specs, "en")
    assert len(_rows(page)) == len(specs) and t("stand_in_note", "en") not in page
    assert t("kind_fine-tuned", "en") in page


def test_notes_cannot_break_the_table_or_inject_html_and_an_empty_list_is_said():
    spec = ModelSpec(name="x", display_name="X | Y", params="1B", note="<script>alert(1)</script>\nnext",
                     base_url="http://127.0.0.1:1/v1")
    row = _rows(about_markdown([spec], "ru"))[0]
    assert len(row) == 5 and "<script>" not in row[4] and row[0] == "X / Y"
    assert t("no_models", "en") in about_markdown([], "en")
