"""The Leaderboard tab on a real SQLite database with votes cast through the vote service: the table,
the two-model summary (checked against formulas written out here), filters, flags, bans and the cache."""

import math
from types import SimpleNamespace

import gradio as gr
import pytest

from app.services import accounts, flag_reviews
from app.ui.i18n import t
from app.ui.leaderboard import LeaderboardTab
from db.session import session_scope
from tests.ui.arena_helpers import cast, offline_app
from tests.utils.arena import annotator

Z95 = 1.959963984540054


def wilson(successes: float, n: float) -> tuple[float, float]:
    """The Wilson score interval, written out from Wilson (1927) for the test."""
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    return centre - half, centre + half


@pytest.fixture
def board(sqlite_url):
    app = offline_app(sqlite_url)
    with gr.Blocks(), gr.Tab("board") as opened:
        tab = LeaderboardTab(app.state.runtime, "kk", opened)
    return SimpleNamespace(app=app, tab=tab, url=sqlite_url)


def _refresh(board, lang="en", dimension="overall", topic="", exclude=True):
    summary, table, two, chart, topics, scrutiny, weekly, csv = board.tab.refresh(dimension, topic, exclude, lang)
    return SimpleNamespace(summary=summary, table=table, two=two, chart=chart, topics=topics, scrutiny=scrutiny,
                           weekly=weekly, csv=csv)


def _wlt(shown, model: str) -> str:
    frame = shown.table["value"]
    names = frame[t("lb_col_model", "en")].str.removesuffix(" †").str.removesuffix(" *")
    row = frame[(names == model) | names.str.endswith(f"({model})")]
    assert len(row) == 1, frame
    return row.iloc[0][t("lb_col_wlt", "en")]


def _vote_many(url, who, n, **vote):
    for _ in range(n):
        cast(url, who, **vote)


def test_no_votes_yet_gives_a_friendly_message_and_no_table(board):
    for lang in ("kk", "ru", "en"):
        shown = _refresh(board, lang)
        assert shown.summary == t("lb_no_votes", lang) and shown.table["visible"] is False
        assert shown.chart["visible"] is False and shown.two == ""
        assert shown.topics["choices"] == [(t("lb_all_topics", lang), "")]


def test_two_models_table_and_head_to_head_summary_match_the_formulas(board):
    me, _ = annotator(board.url)
    _vote_many(board.url, me, 7, content="left")  # position a: left is m1
    _vote_many(board.url, me, 3, content="right")
    _vote_many(board.url, me, 2, content="tie")
    shown = _refresh(board)
    frame = shown.table["value"]
    assert shown.table["visible"] and list(frame.columns) == [t(c, "en") for c in
                                                               ("lb_col_rank", "lb_col_model", "lb_col_rating",
                                                                "lb_col_ci", "lb_col_votes", "lb_col_wlt")]
    assert list(frame[t("lb_col_model", "en")]) == ["Model One · 0.5B · instruct (m1) *", "Model Two · 270M · base (m2) *"]
    assert _wlt(shown, "m1") == "7 / 3 / 2" and _wlt(shown, "m2") == "3 / 7 / 2"
    assert list(frame[t("lb_col_votes", "en")]) == [12, 12]
    ratings = [float(x) for x in frame[t("lb_col_rating", "en")]]
    assert ratings[0] > 1000 > ratings[1] and abs(sum(ratings) / 2 - 1000) <= 0.5  # centred on 1000
    assert t("lb_provisional_note", "en", n=30) in shown.summary and "**12** battles, **2** models" in shown.summary
    # head to head: m1 won 7 of 10 decisive battles, 8 of 12 with ties as half
    low, high = wilson(7, 10)
    low_half, high_half = wilson(8, 12)
    sign_p = 2 * sum(math.comb(10, k) for k in range(7, 11)) / 2**10  # = 0.34375
    gap = 400 * math.log10((8 / 12) / (4 / 12))
    assert shown.two == f"### {t('lb_two_heading', 'en')}\n\n" + t(
        "lb_two_body", "en", a="m1", b="m2", rate="70.0%", low=f"{100 * low:.1f}%", high=f"{100 * high:.1f}%",
        rate_half="66.7%", low_half=f"{100 * low_half:.1f}%", high_half=f"{100 * high_half:.1f}%",
        p=f"{sign_p:.3g}", gap=f"{gap:.0f}", gap_low=f"{400 * math.log10(low_half / (1 - low_half)):.0f}",
        gap_high=f"{400 * math.log10(high_half / (1 - high_half)):.0f}")
    width, height = shown.chart["value"].size
    assert shown.chart["visible"] and width > 600 and height > 300


def test_dimensions_topics_and_three_models(board):
    me, _ = annotator(board.url)
    # content says m1, language says m2, overall decides for m1
    _vote_many(board.url, me, 4, content="left", language="right", overall="left", topic="pension")
    _vote_many(board.url, me, 2, content="left", language="left", model_b="m3", topic="id-card")
    assert _wlt(_refresh(board, dimension="content"), "m1") == "6 / 0 / 0"
    assert _wlt(_refresh(board, dimension="language"), "m1") == "2 / 4 / 0"
    overall = _refresh(board, dimension="overall")
    assert _wlt(overall, "m1") == "6 / 0 / 0" and _wlt(overall, "m3") == "0 / 2 / 0"
    assert overall.two == ""  # three models: no head-to-head summary
    assert overall.topics["choices"] == [(t("lb_all_topics", "en"), ""), ("id-card", "id-card"), ("pension", "pension")]
    pension = _refresh(board, dimension="language", topic="pension")
    assert _wlt(pension, "m2") == "4 / 0 / 0" and len(pension.table["value"]) == 2 and pension.topics["value"] == "pension"
    assert "m3" not in pension.table["value"].to_string()
    gone = _refresh(board, topic="no-such-topic")  # a topic that disappeared falls back to all topics
    assert gone.topics["value"] == "" and len(gone.table["value"]) == 3


def test_flagged_annotators_can_be_left_out_and_cleared_and_banned_ones_never_count(board):
    honest, _ = annotator(board.url)
    biased, _ = annotator(board.url)
    _vote_many(board.url, honest, 7, content="left")  # m1 wins
    _vote_many(board.url, honest, 3, content="right")
    # always the left answer, whichever model it is: a side-bias flag, and no preference between the models
    _vote_many(board.url, biased, 10, content="left", position="b")
    _vote_many(board.url, biased, 10, content="left", position="a")
    assert _wlt(_refresh(board, exclude=True), "m1") == "7 / 3 / 0"
    shown = _refresh(board, exclude=True)
    assert t("lb_excluded", "en", n=1) in shown.summary
    assert _wlt(_refresh(board, exclude=False), "m1") == "17 / 13 / 0"
    with session_scope(board.url) as s:  # an admin cleared the flag
        flag_reviews.set_cleared(session=s, annotator_id=biased, cleared=True, admin_id=None)
    assert _wlt(_refresh(board, exclude=True), "m1") == "17 / 13 / 0"
    with session_scope(board.url) as s:
        accounts.set_ban(session=s, annotator_id=biased, banned=True, reason="always left")
    assert _wlt(_refresh(board, exclude=False), "m1") == "7 / 3 / 0"


def test_refresh_is_cached_by_the_hash_of_the_battles(board):
    me, _ = annotator(board.url)
    _vote_many(board.url, me, 3, content="left")
    first = _refresh(board)
    assert board.tab.cache.fits == 1
    again = _refresh(board, "kk")  # same battles, another language: no new fit, same numbers
    assert board.tab.cache.fits == 1
    assert list(again.table["value"].iloc[:, 2]) == list(first.table["value"].iloc[:, 2])
    assert again.table["value"].columns[0] == t("lb_col_rank", "kk")
    # the figure is drawn in the language asked (its texts differ), from the same fit
    assert list(again.chart["value"].getdata()) != list(first.chart["value"].getdata())
    cast(board.url, me, content="right")
    assert _wlt(_refresh(board), "m1") == "3 / 1 / 0" and board.tab.cache.fits == 2
    _refresh(board, dimension="content")  # another dimension is another board
    assert board.tab.cache.fits == 3


# --- the Judge section: the same report as `kazarena agreement` in database mode ---

JUDGE = [("left", "model_a"), ("left", "model_a"), ("right", "model_b"), ("right", "model_a"), ("tie", "tie"),
         ("left", "model_b"), ("tie", "model_a"), ("right", "model_b")]  # (human vote, judge verdict)


def _judged_arena(url: str) -> dict[str, str]:
    """Battles voted as in JUDGE with the judge's verdicts on both dimensions; battle id -> verdict."""
    from db.models import JudgeVerdict
    me, _ = annotator(url)
    verdicts = {}
    for content, verdict in JUDGE:
        battle_id = cast(url, me, content=content, language=content)["battle_id"]
        verdicts[battle_id] = verdict
        with session_scope(url) as s:
            for dimension in ("content", "language"):
                for order in ("ab", "ba"):  # both orders agree: a consistent verdict
                    s.add(JudgeVerdict(battle_id=battle_id, item_id=battle_id, judge_model="qwen-judge",
                                       prompt_hash="h", dimension=dimension, order=order, verdict=verdict,
                                       consistent=True))
    return verdicts


def test_judge_section_says_when_there_are_no_verdicts(board):
    for lang in ("kk", "ru", "en"):
        shown = board.tab.judge_section(lang)
        assert t("lb_judge_none", lang) in shown and t("lb_judge_heading", lang) in shown
    me, _ = annotator(board.url)
    cast(board.url, me, content="left")  # votes but still no verdicts
    assert t("lb_judge_none", "en") in board.tab.judge_section("en")


def test_judge_section_shows_the_cli_kappa_confusion_and_bias(board, monkeypatch):
    from app.cli.agreement import build_db_report
    from app.settings import get_settings
    from app.ui.leaderboard import ROUNDS, SEED
    from arena.records import voted_battle_rows

    judge_by_battle = _judged_arena(board.url)
    shown = board.tab.judge_section("en")
    monkeypatch.setenv("KAZARENA_DATABASE_URL", board.url)
    get_settings.cache_clear()
    try:
        cli = build_db_report(judge_model=None, dimensions=["content", "language"], self_model=None,
                              judge_weight=1.0, rounds=ROUNDS, seed=SEED, level=0.95)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "qwen-judge" in shown and t("lb_judge_note", "en") in shown and t("lb_judge_none", "en") not in shown
    content, language = shown.split(f"#### {t('dim_content', 'en')}")[1].split(f"#### {t('dim_language', 'en')}")
    for dimension, text in (("content", content), ("language", language)):
        x = cli["dimensions"][dimension]["overall"]["three_class"]
        assert x["n"] == len(JUDGE)
        assert f"| {t('lb_judge_three', 'en')} | {len(JUDGE)} | {x['kappa']:.3f} [{x['ci_low']:.3f}, " \
               f"{x['ci_high']:.3f}] | {x['raw_agreement']:.3f} |" in text
        # confusion counted here from the votes as stored and the verdicts as inserted
        with session_scope(board.url) as s:
            human = {r["battle_id"]: r[f"winner_{dimension}"] for r in voted_battle_rows(session=s)}
        short = {"model_a": "A", "model_b": "B", "tie": "tie"}
        assert set(human) == set(judge_by_battle)
        labels = x["confusion"]["labels"]
        for row in labels:
            counts = [sum(1 for b in human if short[judge_by_battle[b]] == row and short[human[b]] == col)
                      for col in labels]
            assert f"| {row} | " + " | ".join(map(str, counts)) + " |" in text
        assert "| position |" in text  # the bias table
    # the 8 votes: judge agrees on 5 (left/A twice, right/B twice, tie/tie once)
    assert cli["dimensions"]["content"]["overall"]["three_class"]["raw_agreement"] == 5 / 8


def test_robustness_reliability_and_weekly_ratings_are_shown_in_the_language_asked(board):
    from datetime import timedelta

    from db.models import Vote

    me, _ = annotator(board.url)
    _vote_many(board.url, me, 12, content="left")
    _vote_many(board.url, me, 6, content="right")
    shown = _refresh(board, "ru")
    assert shown.scrutiny.startswith(f"### {t('lb_scrutiny_heading', 'ru')}")
    assert t("lb_margins_intro", "ru") in shown.scrutiny and t("lb_crowd_heading", "ru") in shown.scrutiny
    assert "Model One · 0.5B · instruct / Model Two · 270M · base: " in shown.scrutiny  # the labels people see
    assert shown.weekly["visible"] is False  # one week of votes is not a line yet
    with session_scope(board.url) as s:  # half of the votes a fortnight earlier: two weeks to draw
        for vote in s.query(Vote).order_by(Vote.id).limit(9):
            vote.created_at = vote.created_at - timedelta(days=14)
    shown = _refresh(board, "kk")
    width, height = shown.weekly["value"].size
    assert shown.weekly["visible"] and width > 400 and height > 250
    assert t("lb_groups_none", "kk") in shown.scrutiny


def test_the_board_explains_itself_counts_what_it_left_out_and_downloads_as_csv(board):
    import pandas as pd

    me, _ = annotator(board.url)
    _vote_many(board.url, me, 5, content="left", language="right", overall="left", topic="pension")
    _vote_many(board.url, me, 3, content="left", topic="id-card")
    shown = _refresh(board, "kk", dimension="content", topic="pension")
    assert t("lb_explain", "kk") in shown.summary
    # 3 votes are on another topic; every vote here has a content label
    assert t("lb_left_out", "kk", annotators=0, flagged=0, no_vote=0, other_topic=3) in shown.summary
    assert "(UTC)" in shown.summary.splitlines()[-1]
    frame = pd.read_csv(shown.csv["value"])
    assert shown.csv["visible"] and set(frame["model"]) == {"m1", "m2"} and frame["votes"].tolist() == [5, 5]
    assert frame.loc[frame["model"] == "m1", "wins"].item() == 5
