"""The Gradio UI, mounted in the FastAPI app at /ui: Kazakh first, Russian and English selectable.

Each tab lives in its own module, builds its components from a function and
returns (component, relabel) pairs; the language selector here relabels them
all at once. The UI calls the same service functions as the REST API, with the
same Runtime.
"""

from collections.abc import Callable
from typing import Any

import gradio as gr
from fastapi import FastAPI

from app.runtime import Runtime
from app.ui.about import build_about_tab
from app.ui.arena import build_arena_tab
from app.ui.chat import build_chat_tab
from app.ui.i18n import DEFAULT_LANG, LANG_CHOICES, normalize_lang, t
from app.ui.leaderboard import build_leaderboard_tab
from app.ui.results import build_results_tab

UI_PATH = "/ui"
CSS = """
#egov-note { border-left: 4px solid #d97706; padding: 0.4rem 0.8rem; background: rgba(217, 119, 6, 0.08); }
#chat-notice:empty { display: none; }
#arena-notice:has(.prose:empty), #admin-notice:has(.prose:empty), #vote-notice:has(.prose:empty) { display: none; }
#vote-notice { border-left: 4px solid #b45309; padding: 0.4rem 0.8rem; background: rgba(180, 83, 9, 0.08); }
#arena-notice { border-left: 4px solid #2563eb; padding: 0.4rem 0.8rem; background: rgba(37, 99, 235, 0.08); }
#arena-left .top-panel, #arena-right .top-panel { display: none; }  /* clearing one side would confuse */
#arena-reveal { border-left: 4px solid #16a34a; padding: 0.4rem 0.8rem; background: rgba(22, 163, 74, 0.08); }
"""
# Gradio writes <html lang="en">; the page starts in Kazakh.
SET_PAGE_LANGUAGE = f"() => {{ document.documentElement.lang = '{DEFAULT_LANG}'; }}"
# System fonts only: nothing is fetched from a font CDN (the app may run offline).
THEME = gr.themes.Soft(font=["system-ui", "Segoe UI", "Roboto", "sans-serif"], font_mono=["monospace"])

Relabel = list[tuple[Any, Callable[[str], Any]]]


def _header(lang: str) -> str:
    return f"# kazarena\n{t('tagline', lang)}"


def build_ui(runtime: Runtime) -> gr.Blocks:
    lang = DEFAULT_LANG
    relabel: Relabel = []
    with gr.Blocks(title="kazarena", analytics_enabled=False) as blocks:
        with gr.Row(equal_height=True):
            header = gr.Markdown(_header(lang), elem_id="header")
            selector = gr.Radio(choices=LANG_CHOICES, value=lang, label=t("ui_language", lang),
                                elem_id="ui-language", scale=0, min_width=320)
        relabel += [(header, lambda lg: gr.Markdown(_header(lg))),
                    (selector, lambda lg: gr.Radio(label=t("ui_language", lg)))]
        with gr.Tabs():
            with gr.Tab(t("tab_arena", lang), id="arena", elem_id="tab-arena") as arena_tab:
                relabel += build_arena_tab(runtime, lang)
            with gr.Tab(t("tab_chat", lang), id="chat", elem_id="tab-chat") as chat_tab:
                relabel += build_chat_tab(runtime, lang)
            with gr.Tab(t("tab_leaderboard", lang), id="leaderboard", elem_id="tab-leaderboard") as board_tab:
                relabel += build_leaderboard_tab(runtime, lang, board_tab)
            with gr.Tab(t("tab_results", lang), id="results", elem_id="tab-results") as results_tab:
                relabel += build_results_tab(runtime, lang, results_tab)
            with gr.Tab(t("tab_about", lang), id="about", elem_id="tab-about") as about_tab:
                relabel += build_about_tab(list(runtime.manager.contestants.values()), lang)
        relabel += [(arena_tab, lambda lg: gr.Tab(label=t("tab_arena", lg))),
                    (chat_tab, lambda lg: gr.Tab(label=t("tab_chat", lg))),
                    (board_tab, lambda lg: gr.Tab(label=t("tab_leaderboard", lg))),
                    (results_tab, lambda lg: gr.Tab(label=t("tab_results", lg))),
                    (about_tab, lambda lg: gr.Tab(label=t("tab_about", lg)))]

        def switch_language(choice: str) -> list[Any]:
            lg = normalize_lang(choice)
            return [fn(lg) for _, fn in relabel]

        selector.change(switch_language, inputs=[selector], outputs=[c for c, _ in relabel],
                        api_visibility="private")
        # the page's own language too, for screen readers, hyphenation and the browser's translate offer
        selector.change(None, inputs=[selector], js="(lang) => { document.documentElement.lang = lang; }",
                        api_visibility="private")
    return blocks


def mount_ui(app: FastAPI, runtime: Runtime) -> None:
    """Mount the UI at /ui on `app`."""
    gr.mount_gradio_app(app, build_ui(runtime), path=UI_PATH, theme=THEME, css=CSS, js=SET_PAGE_LANGUAGE,
                        footer_links=["gradio"], run_history=False, show_error=False)


__all__ = ["UI_PATH", "build_ui", "mount_ui"]
