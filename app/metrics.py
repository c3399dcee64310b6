"""Prometheus metrics, exposed at GET /metrics."""

from prometheus_client import Counter, Histogram

REQUESTS = Counter("kazarena_requests_total", "Model requests", ["model", "endpoint", "status"])
TOKENS = Counter("kazarena_tokens_total", "Tokens processed", ["model", "kind"])  # kind: prompt | completion
LATENCY = Histogram(
    "kazarena_request_latency_seconds", "Whole-request latency", ["model", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TTFT = Histogram(
    "kazarena_time_to_first_token_seconds", "Time to the first streamed token", ["model", "endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

VOTE_BATCH = Histogram(
    "kazarena_vote_batch_size", "Votes written per transaction by the vote writer",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


def observe(model: str, endpoint: str, status: str, latency_s: float, prompt_tokens: int = 0,
            completion_tokens: int = 0, ttft_s: float | None = None) -> None:
    REQUESTS.labels(model, endpoint, status).inc()
    LATENCY.labels(model, endpoint).observe(latency_s)
    if prompt_tokens:
        TOKENS.labels(model, "prompt").inc(prompt_tokens)
    if completion_tokens:
        TOKENS.labels(model, "completion").inc(completion_tokens)
    if ttft_s is not None:
        TTFT.labels(model, endpoint).observe(ttft_s)
