"""Fine-tuned vs vanilla through run_generation: per-item scores, paired rows, echo and Kazakh share, the loss."""

from types import SimpleNamespace

import numpy as np
import pytest

from eval.comparison import compare_pair, item_scores
from eval.generation import GenerationItem
from eval.metrics import chrf_pp
from eval.paired import paired_bootstrap
from eval.runner import check_pairs, run_generation

ITEMS = [
    GenerationItem("g1", "Жеке куәлік неше жылға беріледі?", "Жеке куәлік он жыл мерзімге беріледі.", "documents",
                   "govset"),
    GenerationItem("g2", "Абай қай жылы туған?", "Абай Құнанбайұлы 1845 жылы туған.", "history", "cultset"),
    GenerationItem("g3", "Жеке куәлікті қайдан алуға болады?", "Жеке куәлікті ХҚКО-да алуға болады.", "documents",
                   "govset"),
    GenerationItem("g4", "Наурыз қашан тойланады?", "Наурыз наурыздың 21-22 күндері тойланады.", "holidays",
                   "cultset"),
]


class Server:
    """Hand-written chat and completions responders: the tuned model answers with the reference and
    gives every prompt character log-probability -0.1; the vanilla one echoes the question and gives -0.5."""

    def __init__(self):
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.answer))
        self.completions = SimpleNamespace(create=self.echo)

    @staticmethod
    def answer(*, model, messages, temperature, max_tokens):
        question = messages[-1]["content"]
        text = next(i.reference for i in ITEMS if i.instruction == question) if model == "tuned" else question
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))])

    @staticmethod
    def echo(*, model, prompt, max_tokens, echo, logprobs, temperature):
        lp = -0.1 if model == "tuned" else -0.5
        return SimpleNamespace(choices=[SimpleNamespace(index=k, text=p + ".", logprobs=SimpleNamespace(
            tokens=list(p + "."), token_logprobs=[None] + [lp] * len(p), text_offset=list(range(len(p) + 1))))
            for k, p in enumerate(prompt)])


class Template:
    bos_token, bos_token_id = None, None

    def apply_chat_template(self, messages, tokenize, add_generation_prompt=False):
        text = "".join(f"<{m['role']}>{m['content'].strip()}</{m['role']}>" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")


def test_run_generation_compares_each_pair_like_for_like():
    run = run_generation(Server(), ["vanilla", "tuned"], ITEMS, pairs=[("tuned", "vanilla")], tokenizer=Template(),
                         rounds=300, seed=4, concurrency=2)
    rows = {(r.model, r.metric, r.subset): r for r in run.rows}
    # per model: echo rate, Kazakh share (Wilson) and loss per response token
    assert rows[("vanilla", "echo_rate", None)].value == 1.0 and rows[("tuned", "echo_rate", None)].value == 0.0
    assert rows[("tuned", "kk_share", None)].value == 1.0 and rows[("tuned", "kk_share", None)].n == 4
    assert rows[("tuned", "loss", None)].value == pytest.approx(0.1)
    assert rows[("vanilla", "loss", None)].value == pytest.approx(0.5)
    assert len(rows[("tuned", "echo_rate", None)].details["samples"]) == 3
    # the pair: tuned minus vanilla, overall, by set and by topic
    loss = rows[("tuned", "loss_diff", None)]
    assert (loss.value, loss.ci_low, loss.ci_high) == pytest.approx((-0.4, -0.4, -0.4))
    assert loss.details["opponent"] == "vanilla" and loss.details["excludes_zero"] is True
    echo = rows[("tuned", "echo_rate_diff", "set:govset")]
    assert (echo.value, echo.n, echo.details["mean_tuned"], echo.details["mean_vanilla"]) == (-1.0, 2, 0.0, 1.0)
    assert rows[("tuned", "rouge_l_diff", "topic:history")].n == 1
    chrf = rows[("tuned", "chrf_pp_diff", None)]
    vanilla_chrf = [chrf_pp(i.instruction, i.reference) for i in ITEMS]
    assert chrf.value == pytest.approx(100 - np.mean(vanilla_chrf))
    expected = paired_bootstrap([100.0] * 4, vanilla_chrf, rounds=300, seed=4)
    assert (chrf.ci_low, chrf.ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    assert {r.subset for r in run.rows if r.metric == "kk_share_diff"} == {
        None, "set:govset", "set:cultset", "topic:documents", "topic:history", "topic:holidays"}
    assert ("vanilla", "rouge_l_diff", None) not in rows
    assert run.comparisons[0].tuned == "tuned" and run.checks["vanilla"][0]["echo"] is True


def test_without_a_tokenizer_there_is_no_loss():
    run = run_generation(Server(), ["vanilla", "tuned"], ITEMS, pairs=[("tuned", "vanilla")], rounds=100)
    assert not any(r.metric in ("loss", "loss_diff") for r in run.rows)
    assert any(r.metric == "rouge_l_diff" for r in run.rows)


def test_items_without_a_loss_drop_out_of_the_loss_difference():
    a = item_scores("a", ITEMS[:2], [i.reference for i in ITEMS[:2]], [None, SimpleNamespace(per_token=0.2)])
    b = item_scores("b", ITEMS[:2], ["", ""], [SimpleNamespace(per_token=0.9), SimpleNamespace(per_token=0.5)])
    loss = dict(compare_pair(a, b, ITEMS[:2], rounds=50).diffs)["loss"]
    assert loss[0].n == 1 and loss[0].diff == pytest.approx(-0.3)


def test_pairs_must_name_evaluated_models():
    with pytest.raises(ValueError, match="names base, not among the models evaluated"):
        check_pairs(["tuned"], [("tuned", "base")])
    with pytest.raises(ValueError, match="with itself"):
        check_pairs(["tuned"], [("tuned", "tuned")])
