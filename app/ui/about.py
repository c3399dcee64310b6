"""About tab: what kazarena is, which models answer (labelled honestly), and the ethics note."""

import re
from collections.abc import Iterable
from typing import Any

import gradio as gr

from app.serving.registry import ModelSpec
from app.ui.i18n import t

STAND_IN_BELOW_B = 7.0  # the paper's models have 7-10B parameters


def _cell(text: str) -> str:
    # a model note must not break the Markdown table or inject HTML
    return text.replace("|", "/").replace("<", "&lt;").replace("\n", " ")


def _billions(params: str) -> float | None:
    """'0.5B' -> 0.5, '270M' -> 0.27; None when the size is not given that way."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([BbMm])\s*", params or "")
    if not m:
        return None
    return float(m.group(1)) / (1 if m.group(2).lower() == "b" else 1000)


def about_markdown(specs: Iterable[ModelSpec], lang: str) -> str:
    """The whole About page as Markdown, built from the configured contestants."""
    specs = list(specs)
    parts = [f"## {t('about_title', lang)}", t("about_body", lang), f"### {t('models_heading', lang)}"]
    if specs:
        header = [t(k, lang) for k in ("col_model", "col_size", "col_kind", "col_pipeline", "col_note")]
        rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for spec in specs:
            cells = [spec.display_name or spec.name, spec.params or "?", t(f"kind_{spec.kind}", lang),
                     t(f"pipeline_{spec.pipeline}", lang), spec.note]
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        parts.append("\n".join(rows))
    else:
        parts.append(t("no_models", lang))
    sizes = [b for b in (_billions(s.params) for s in specs) if b is not None]
    if any(b < STAND_IN_BELOW_B for b in sizes):  # only say "stand-in" when it is true
        parts.append(f"*{t('stand_in_note', lang)}*")
    parts += [f"### {t('ethics_heading', lang)}", t("ethics_body", lang)]
    return "\n\n".join(parts)


def build_about_tab(specs: list[ModelSpec], lang: str) -> list[tuple[Any, Any]]:
    """Render the tab's body inside the current gr.Tab; return (component, relabel(lang)) pairs."""
    body = gr.Markdown(about_markdown(specs, lang), elem_id="about-body")
    return [(body, lambda lg: gr.Markdown(about_markdown(specs, lg)))]
