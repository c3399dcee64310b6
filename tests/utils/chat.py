"""Helpers for the chat tests: small test contestants on the shared vLLM server, a real
BM25 grounder over the project's GovSet documents, and a model server that breaks mid-stream."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.serving.manager import ModelManager
from app.serving.registry import ModelSpec
from eval.retrieval import BM25Index, format_grounding_block, load_documents, number_sources

GOVSET = Path(__file__).resolve().parents[2] / "data" / "govset" / "govset.jsonl"


@contextmanager
def extra_contestants(manager: ModelManager, specs: list[dict[str, Any]]) -> Iterator[list[str]]:
    """Add contestants served by existing servers (e.g. a small max_tokens) for one test module."""
    added = [ModelSpec.model_validate(s) for s in specs]
    for spec in added:
        assert spec.server and spec.name not in manager.contestants
        manager.contestants[spec.name] = spec
    try:
        yield [s.name for s in added]
    finally:
        for spec in added:
            manager.contestants.pop(spec.name, None)


class GovsetGrounder:
    """The `Grounder` protocol on a real BM25 index over data/govset (built in well under a second)."""

    def __init__(self, k: int = 3) -> None:
        self.index = BM25Index.build(load_documents(GOVSET))
        self.k = k
        self.questions: list[str] = []

    def ground(self, question: str) -> tuple[str, list[dict[str, Any]]]:
        self.questions.append(question)
        hits = self.index.search(question, k=self.k)
        sources = [{"number": s.number, "title": s.title, "source_url": s.source_url, "doc_id": s.doc_id}
                   for s in number_sources(hits)]
        return format_grounding_block(hits), sources


class BrokenStreamServer:
    """An OpenAI-compatible endpoint whose chat stream sends two tokens, then drops the connection
    (a model server crashing mid-answer). Only for testing our own error handling."""

    TOKENS = ("Сәлем", ", әлем")

    def __init__(self) -> None:
        tokens = self.TOKENS

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = b'{"object":"list","data":[{"id":"broken","object":"model"}]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, text in enumerate(tokens):
                    chunk = {"id": f"c{i}", "object": "chat.completion.chunk", "created": 0, "model": "broken",
                             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
                    data = f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.close_connection = True  # no final chunk: the stream breaks off

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "BrokenStreamServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
