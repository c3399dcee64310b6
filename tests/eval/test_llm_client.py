"""The shared OpenAI-compatible client (eval/llm_client.py): retries, backoff, errors and costs.

Against the hand-written responder of tests/eval/judge_server.py on a real socket.
"""

import asyncio
import time

import openai
import pytest

from eval.llm_client import (
    OFFICIAL_OPENAI_URL,
    EndpointChoice,
    LLMEndpoint,
    Reply,
    Tally,
    chat,
    is_openai_url,
    make_client,
    resolve_endpoint,
)
from tests.eval.judge_server import JudgeServer, completion, error

MESSAGES = [{"role": "user", "content": "Қазақстанның астанасы қай қала?"}]


def ask(endpoint: LLMEndpoint, tally: Tally | None = None, **extra) -> Reply:
    async def go() -> Reply:
        client = make_client(endpoint)
        try:
            return await chat(client, endpoint, MESSAGES, temperature=0.5, tally=tally, **extra)
        finally:
            await client.close()

    return asyncio.run(go())


def test_backs_off_on_429_then_succeeds():
    def busy_twice(body, n):
        return error(429, "slow down") if n < 2 else (200, completion("Астана", prompt_tokens=12, completion_tokens=3))

    with JudgeServer(busy_twice) as server:
        endpoint = LLMEndpoint(base_url=server.base_url, model="m", backoff_s=0.05, max_tokens=7)
        tally = Tally()
        start = time.monotonic()
        reply = ask(endpoint, tally)
        elapsed = time.monotonic() - start
    assert reply == Reply(text="Астана", prompt_tokens=12, completion_tokens=3, requests=3)
    assert elapsed >= 0.05 + 0.10  # waits of backoff_s * 2**attempt before the 2nd and 3rd try
    assert (tally.requests, tally.prompt_tokens, tally.completion_tokens, tally.cost_usd) == (3, 12, 3, 0.0)
    body = server.bodies[-1]
    assert (body["model"], body["temperature"], body["max_tokens"], body["messages"]) == ("m", 0.5, 7, MESSAGES)


def test_gives_up_after_max_retries_with_the_servers_error():
    with JudgeServer(lambda body, n: error(503, "upstream overloaded")) as server:
        tally = Tally()
        with pytest.raises(openai.InternalServerError, match="upstream overloaded") as caught:
            ask(LLMEndpoint(base_url=server.base_url, model="m", backoff_s=0.01, max_retries=2), tally)
    assert caught.value.status_code == 503
    assert server.calls == 3 and tally.requests == 3  # one try and two retries, all counted
    assert (tally.prompt_tokens, tally.cost_usd) == (0, 0.0)


def test_no_retry_on_400():
    with JudgeServer(lambda body, n: error(400, "maximum context length is 1024 tokens")) as server:
        with pytest.raises(openai.BadRequestError, match="maximum context length"):
            ask(LLMEndpoint(base_url=server.base_url, model="m", backoff_s=0.01))
    assert server.calls == 1


def test_timeouts_are_retried():
    with JudgeServer(lambda body, n: (200, completion("late")), delay_s=0.5) as server:
        with pytest.raises(openai.APITimeoutError):
            ask(LLMEndpoint(base_url=server.base_url, model="m", backoff_s=0.01, max_retries=1, timeout_s=0.1))
    assert server.calls == 2


def test_extra_fields_reach_the_server():
    with JudgeServer(lambda body, n: (200, completion("1"))) as server:
        ask(LLMEndpoint(base_url=server.base_url, model="m"), extra_body={"structured_outputs": {"choice": ["1"]}})
    assert server.bodies[0]["structured_outputs"] == {"choice": ["1"]}


def test_cost_accounting():
    gpt4o = LLMEndpoint(base_url="https://api.openai.com/v1", model="gpt-4o")
    tally = Tally()
    tally.add_tokens(gpt4o, 1_000_000, 100_000)  # 1M in at $2.50 + 0.1M out at $10
    tally.add_tokens(gpt4o, 200_000, 0)
    assert (tally.prompt_tokens, tally.completion_tokens) == (1_200_000, 100_000)
    assert tally.cost_usd == pytest.approx(2.50 + 1.00 + 0.50)
    # a dated snapshot is priced as its family, unless it has a price of its own
    assert LLMEndpoint(base_url=gpt4o.base_url, model="gpt-4o-mini-2024-07-18").price() == (0.15, 0.60)
    assert LLMEndpoint(base_url=gpt4o.base_url, model="gpt-4o-2024-05-13").cost_usd(10**6, 10**6) == 20.0
    assert LLMEndpoint(base_url="http://localhost:8000/v1", model="gpt-4o").cost_usd(10**6, 10**6) == 0.0
    # one unknown price makes the total unknown, and it stays unknown
    mystery = LLMEndpoint(base_url="https://example.org/v1", model="mystery")
    assert mystery.cost_usd(10, 10) is None
    tally.add_tokens(mystery, 10, 10)
    tally.add_tokens(gpt4o, 10, 10)
    assert tally.cost_usd is None and tally.prompt_tokens == 1_200_020


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"base_url": "127.0.0.1:8000"}, "http"), ({"model": " "}, "model"), ({"concurrency": 0}, "concurrency"),
    ({"max_tokens": 0}, "max_tokens"), ({"max_retries": -1}, "max_retries"), ({"backoff_s": -1}, "backoff_s"),
])
def test_bad_endpoints_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LLMEndpoint(**{"base_url": "http://127.0.0.1:8000/v1", "model": "m", **kwargs})


# ---------------------------------------------------------------- resolve_endpoint: the one rule

OPENAI = {"OPENAI_API_KEY": "sk-openai"}


def test_resolve_defaults_to_gpt4o_at_openai_only_with_the_openai_key():
    assert resolve_endpoint(env=OPENAI) == EndpointChoice(OFFICIAL_OPENAI_URL, "gpt-4o", "sk-openai")
    with pytest.raises(ValueError, match="base-url"):
        resolve_endpoint(env={})
    with pytest.raises(ValueError, match="base-url"):
        resolve_endpoint("", "", "", env={"OPENAI_API_KEY": ""})  # empty strings count as not given


def test_resolve_never_sends_the_openai_key_elsewhere():
    other = resolve_endpoint("https://llm.example.org/v1", "m", env=OPENAI)
    assert other.api_key == "EMPTY"
    assert resolve_endpoint("https://llm.example.org/v1", "m", env=OPENAI, server_key="srv").api_key == "srv"
    # ...while the server key never goes to OpenAI, whose host is recognised however the URL is written
    for url in ("https://api.openai.com/v1", "https://api.openai.com/v1/", "https://API.openai.com"):
        assert resolve_endpoint(url, env=OPENAI, server_key="srv") == EndpointChoice(url, "gpt-4o", "sk-openai")
    assert not is_openai_url("https://api.openai.com.evil.example/v1") and is_openai_url(OFFICIAL_OPENAI_URL)


def test_resolve_an_explicit_key_goes_wherever_base_url_points():
    assert resolve_endpoint(env=OPENAI, api_key="sk-mine").api_key == "sk-mine"
    assert resolve_endpoint("http://10.0.0.5:8000/v1", "m", "k", env=OPENAI, server_key="srv").api_key == "k"


def test_resolve_model_rules_and_the_local_fallback():
    with pytest.raises(ValueError, match=r"give the judge model \(--model\) for http://10.0.0.5:8000/v1"):
        resolve_endpoint("http://10.0.0.5:8000/v1", env=OPENAI, model_name="judge model (--model)")
    asked = []

    def first_model() -> str:
        asked.append(1)
        return "local-m"

    local = dict(local_base_url="http://127.0.0.1:8000/v1", local_model=first_model)
    assert resolve_endpoint(env={}, **local) == EndpointChoice("http://127.0.0.1:8000/v1", "local-m", "EMPTY")
    assert resolve_endpoint(model="given", env={}, server_key="srv", **local).model == "given"
    assert len(asked) == 1  # the local model is looked up only when needed
    assert resolve_endpoint(env=OPENAI, **local).base_url == OFFICIAL_OPENAI_URL  # the OpenAI key wins over local
