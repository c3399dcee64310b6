"""Held-out loss per response token: the chat prompt, the offset arithmetic, the client."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from eval.heldout_loss import ChatPrompt, chat_prompt, heldout_losses, load_tokenizer, response_loss
from eval.mcq.scoring import EchoedPrompt

GEMMA = Path("~/.cache/kazarena/models/gemma-3-270m").expanduser()

# Gemma 3's tokens of the chat below (as its tokenizer splits it), then one generated token
HEAD = ["<bos>", "<start_of_turn>", "user", "\n", "А", "бай", " кі", "м", "?", "<end_of_turn>", "\n",
        "<start_of_turn>", "model", "\n"]
REF = ["А", "бай", " —", " а", "қ", "ын", "."]
TAIL = ["<end_of_turn>", "\n"]
TEXT = "".join(HEAD + REF + TAIL)
PROMPT = ChatPrompt(TEXT, len("".join(HEAD)), len("".join(HEAD + REF)))


def echoed(tokens, logprobs, text):
    offsets, at = [], 0
    for tok in tokens:
        offsets.append(at)
        at += len(tok)
    return EchoedPrompt(text, tuple(tokens), tuple(logprobs), tuple(offsets))


def test_only_the_reference_tokens_count():
    tokens = HEAD + REF + TAIL + ["Иә"]
    lps = [None] + [-0.5] * (len(HEAD) - 1) + [-1.0, -2.0, -0.5, -0.25, -4.0, -1.5, -0.75] + [-9.0, -9.0, -9.0]
    loss = response_loss(echoed(tokens, lps, TEXT + "Иә"), PROMPT)
    assert loss.tokens == 7 and loss.nll == pytest.approx(10.0) and loss.per_token == pytest.approx(10 / 7)


def test_a_bos_the_server_added_shifts_the_offsets():
    prompt = ChatPrompt(TEXT[len("<bos>"):], PROMPT.ref_start - 5, PROMPT.ref_end - 5)
    tokens = HEAD + REF + TAIL + ["."]  # the server's tokens still start with its own <bos>
    lps = [None] + [-0.5] * (len(HEAD) - 1) + [-1.0] * 7 + [-9.0] * 3
    loss = response_loss(echoed(tokens, lps, prompt.text + "."), prompt)
    assert (loss.tokens, loss.nll) == (7, pytest.approx(7.0))


def test_a_token_across_the_reference_start_counts_and_no_tokens_means_plain_offsets():
    tokens = HEAD[:-1] + ["\nА"] + REF[1:] + TAIL  # "\n" and "А" merged into one token
    lps = [None] + [-0.5] * (len(HEAD) - 2) + [-3.0] + [-1.0] * 6 + [-9.0, -9.0]
    e = echoed(tokens, lps, TEXT)
    assert response_loss(e, PROMPT).nll == pytest.approx(9.0)
    bare = EchoedPrompt(e.text, (), e.token_logprobs, e.text_offset)
    assert response_loss(bare, PROMPT) == response_loss(e, PROMPT)


def test_misaligned_tokens_are_refused():
    tokens = HEAD + ["�", "�"] + REF[1:] + TAIL  # an undecodable byte pair shifts every later offset
    lps = [None] + [-1.0] * (len(tokens) - 1)
    with pytest.raises(ValueError, match="do not spell the reference"):
        response_loss(echoed(tokens, lps, TEXT), PROMPT)
    with pytest.raises(ValueError, match="monotone"):
        response_loss(EchoedPrompt(TEXT, (), (None, -1.0), (3, 1)), ChatPrompt(TEXT, 2, 3))


class FakeCompletions:
    """A hand-written /v1/completions responder: one token per character, logprob -(index % 3) / 10."""

    def __init__(self):
        self.calls = []

    def create(self, *, model, prompt, max_tokens, echo, logprobs, temperature):
        self.calls.append(dict(model=model, n=len(prompt), max_tokens=max_tokens, echo=echo, logprobs=logprobs,
                               temperature=temperature))
        choices = []
        for k, text in reversed(list(enumerate(prompt))):
            text += "!"  # the one generated token
            lps = [None] + [-(i % 3) / 10 for i in range(1, len(text))]
            choices.append(SimpleNamespace(index=k, text=text, logprobs=SimpleNamespace(
                tokens=list(text), token_logprobs=lps, text_offset=list(range(len(text))))))
        return SimpleNamespace(choices=choices)


def test_heldout_losses_asks_for_prompt_logprobs_and_keeps_the_order():
    completions = FakeCompletions()
    client = SimpleNamespace(completions=completions)
    prompts = [ChatPrompt(f"q{k}: answer number {k}", 4, 4 + 6 + k % 3) for k in range(7)]
    got = heldout_losses(client, "m", prompts, batch_size=3, concurrency=2)
    for p, loss in zip(prompts, got, strict=True):
        expected = [(i % 3) / 10 for i in range(p.ref_start, p.ref_end)]
        assert loss.tokens == len(expected) and loss.nll == pytest.approx(sum(expected))
    assert sorted(c["n"] for c in completions.calls) == [1, 3, 3]
    assert all(c["echo"] is True and c["logprobs"] == 0 and c["max_tokens"] == 1 and c["temperature"] == 0
               for c in completions.calls)


class BosTokenizer:
    """Stands in for a tokenizer whose template writes <s> and whose encoder adds <s> too."""

    bos_token, bos_token_id = "<s>", 1

    def apply_chat_template(self, messages, tokenize, add_generation_prompt=False):
        text = "<s>" + "".join(f"[{m['role']}] {m['content'].strip()} [end]\n" for m in messages)
        return text + ("[assistant] " if add_generation_prompt else "")

    def __call__(self, text):
        return {"input_ids": [1, 42]}


def test_chat_prompt_drops_a_bos_the_server_will_add():
    p = chat_prompt(BosTokenizer(), "Абай кім?", " Абай — ақын. ")
    assert p.text == "[user] Абай кім? [end]\n[assistant] Абай — ақын. [end]\n"
    assert p.text[p.ref_start:p.ref_end] == "Абай — ақын."


@pytest.mark.skipif(not GEMMA.is_dir(), reason="the prepared Gemma tokenizer is not here")
def test_chat_prompt_with_the_gemma_template():
    p = chat_prompt(load_tokenizer(GEMMA), "Абай кім?", "Абай — ақын.")
    assert p.text == TEXT and (p.ref_start, p.ref_end) == (PROMPT.ref_start, PROMPT.ref_end)


def test_load_tokenizer_refuses_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        load_tokenizer(tmp_path / "nope")
