"""MCQ scoring: the prompt, the argmax on hand-made log-likelihoods, continuation tokens, batching."""

import threading
import time
from types import SimpleNamespace

import httpx
import openai
import pytest

from eval.mcq import (
    CompletionsScorer,
    MCQItem,
    continuation_logprob,
    continuations,
    evaluate_items,
    format_prompt,
    predict,
)


def test_prompt_is_the_mmlu_zero_shot_format():
    prompt = format_prompt("  Астана қай елдің астанасы?\n", ["Қазақстан", "Қырғызстан", "Өзбекстан"])
    assert prompt == "Астана қай елдің астанасы?\nA. Қазақстан\nB. Қырғызстан\nC. Өзбекстан\nAnswer:"
    assert continuations(5) == [" A", " B", " C", " D", " E"]
    with pytest.raises(ValueError, match="2 to 8 options"):
        format_prompt("Q", ["only one"])


def test_argmax_on_hand_made_loglikelihoods():
    assert predict([-3.2, -1.1, -2.0, -5.0]) == 1
    assert predict([-0.5, -0.7]) == 0
    assert predict([-9.0, -9.0, -8.99999]) == 2
    assert predict([-1.0, -2.0, -1.0]) == 0  # a tie goes to the first, as numpy.argmax (and lm-eval) do
    assert predict([-7.0, -6.0, -5.0, -4.0, -3.0, -2.0, -1.0, -8.0]) == 6  # 8 options (UNT has up to H)
    with pytest.raises(ValueError, match="no log-likelihoods"):
        predict([])
    with pytest.raises(ValueError, match="NaN"):
        predict([-1.0, float("nan")])


def test_continuation_tokens_are_found_by_text_offset():
    # "ab:" + " A": tokens "ab" @0, ":" @2, " A" @3 (clean boundary at 3)
    assert continuation_logprob([None, -1.0, -0.25], [0, 2, 3], context_chars=3, prompt_chars=5) == -0.25
    # multi-token continuation " AB" split as " A" @3, "B" @5
    assert continuation_logprob([None, -1.0, -0.25, -0.5], [0, 2, 3, 5], 3, 6) == -0.75
    # a token straddling the boundary (":" + " " merged as ": " @2) belongs to the continuation
    assert continuation_logprob([None, -1.0, -0.25, -0.5], [0, 2, 4, 5], 3, 6) == -1.75
    # a generated token (offset at the prompt's end, when max_tokens > 0) is left out
    assert continuation_logprob([None, -1.0, -0.25, -9.0], [0, 2, 3, 5], 3, 5) == -0.25
    with pytest.raises(ValueError, match="first token"):
        continuation_logprob([None, -1.0], [0, 2], 0 + 1, 3)
    with pytest.raises(ValueError, match="monotone"):
        continuation_logprob([None, -1.0, -2.0], [0, 3, 2], 2, 4)


class ScriptedScorer:
    """Returns hand-made log-likelihoods keyed by the option text in the prompt."""

    def __init__(self, table):
        self.table = table
        self.calls = []

    def __call__(self, requests, *, progress=False):
        self.calls.append(list(requests))
        return [self.table[(ctx.split("\n")[0], cont)] for ctx, cont in requests]


def test_evaluate_items_picks_each_items_argmax():
    items = [
        MCQItem("q1", "Бірінші?", ("a", "b", "c", "d"), answer=2, subject="s1"),
        MCQItem("q2", "Екінші?", ("a", "b"), answer=0, subject="s2"),
        MCQItem("q3", "Үшінші?", ("a", "b", "c", "d", "e"), answer=4, subject="s1"),
    ]
    table = {("Бірінші?", " A"): -2.0, ("Бірінші?", " B"): -3.0, ("Бірінші?", " C"): -0.5, ("Бірінші?", " D"): -4.0,
             ("Екінші?", " A"): -1.5, ("Екінші?", " B"): -0.2,
             ("Үшінші?", " A"): -3.0, ("Үшінші?", " B"): -2.0, ("Үшінші?", " C"): -2.5, ("Үшінші?", " D"): -6.0,
             ("Үшінші?", " E"): -1.0}
    scorer = ScriptedScorer(table)
    preds = evaluate_items(items, scorer)
    assert len(scorer.calls) == 1 and len(scorer.calls[0]) == 11  # every option of every item in one call
    assert [p.predicted for p in preds] == [2, 1, 4]
    assert [p.correct for p in preds] == [True, False, True]
    assert preds[1].loglikelihoods == (-1.5, -0.2) and preds[2].subject == "s1"

    # with a prefix the prompt starts with the retrieved context, the question follows
    first = {("Context:", cont): v for (question, cont), v in table.items() if question == "Бірінші?"}
    prefixed = evaluate_items(items[:1], ScriptedScorer(first), prefix=lambda item: "Context:\nчанк\n\n")
    assert prefixed[0].predicted == 2


class FakeCompletions:
    """A tiny OpenAI-compatible responder: echoes each prompt as one-character tokens.

    The log-probability of a character is -(its code point % 7) / 10, so the
    expected sum for any continuation can be written down independently.
    """

    def __init__(self, delay=0.0):
        self.requests = []
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0

    def create(self, *, model, prompt, max_tokens, echo, logprobs, temperature):
        assert echo is True and logprobs == 1 and max_tokens == 0 and temperature == 0
        with self.lock:
            self.requests.append(list(prompt))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.delay)  # a slow model on purpose: overlapping calls are what is measured
        choices = []
        for i, text in reversed(list(enumerate(prompt))):  # out of order on purpose: index decides
            lps = [None] + [-(ord(ch) % 7) / 10 for ch in text[1:]]
            choices.append(SimpleNamespace(index=i, text=text, logprobs=SimpleNamespace(
                token_logprobs=lps, text_offset=list(range(len(text))), tokens=list(text))))
        with self.lock:
            self.in_flight -= 1
        return SimpleNamespace(choices=choices)


def expected(context, continuation):
    return sum(-(ord(ch) % 7) / 10 for ch in continuation)


def test_completions_scorer_batches_and_keeps_the_order():
    completions = FakeCompletions(delay=0.05)
    client = SimpleNamespace(completions=completions)
    requests = [(f"Сұрақ {k}?\nAnswer:", f" {letter}") for k in range(7) for letter in "ABCD"]
    scorer = CompletionsScorer(client, "m", batch_size=5, concurrency=3)
    got = scorer(requests)
    assert got == pytest.approx([expected(c, x) for c, x in requests])
    assert sorted(len(r) for r in completions.requests) == [3, 5, 5, 5, 5, 5]  # 28 prompts, 5 per request
    assert completions.max_in_flight > 1  # requests really ran concurrently

    one_by_one = FakeCompletions()
    got_single = CompletionsScorer(SimpleNamespace(completions=one_by_one), "m", batch_size=1, concurrency=1)(requests)
    assert got_single == got and len(one_by_one.requests) == len(requests)


def test_completions_scorer_refuses_a_server_without_prompt_logprobs():
    class NoEcho(FakeCompletions):
        def create(self, **kwargs):
            out = super().create(**kwargs)
            for c in out.choices:
                c.logprobs = None
            return out

    scorer = CompletionsScorer(SimpleNamespace(completions=NoEcho()), "m")
    with pytest.raises(RuntimeError, match="no prompt logprobs"):
        scorer([("Q?\nAnswer:", " A")])


def test_a_refused_batch_says_the_prompt_may_be_too_long():
    class TooLong:
        def create(self, **kwargs):
            request = httpx.Request("POST", "http://vllm/v1/completions")
            raise openai.BadRequestError("maximum context length is 1024 tokens",
                                         response=httpx.Response(400, request=request), body=None)

    scorer = CompletionsScorer(SimpleNamespace(completions=TooLong()), "m", batch_size=2)
    with pytest.raises(RuntimeError, match="refused a batch of 2 prompts.*may not fit the model's context"):
        scorer([("Q?\nAnswer:", " A"), ("Q?\nAnswer:", " B")])
