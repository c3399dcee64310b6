"""One thread that writes the arena's votes, many to a transaction when they arrive together.

Requests hand their ballot to the writer and await the answer. The writer takes
whatever is queued (up to `max_batch`), writes it with `cast_votes` (three
reads, one insert, one update, one commit) and answers every waiting request
once the commit is durable. At rest a batch holds one vote and costs what a
single vote costs; under load the per-vote cost falls with the batch size, and
no request waits on a thread pool or on SQLite's busy handler.
"""

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from app.errors import ServiceError
from app.metrics import VOTE_BATCH
from app.services.votes import RateCheck, VoteRequest, cast_votes
from db.session import session_scope

log = logging.getLogger(__name__)
_STOP = object()
Waiter = tuple[VoteRequest, asyncio.AbstractEventLoop, asyncio.Future[dict[str, Any]]]


class VoteWriter:
    def __init__(self, database_url: str, *, max_comment: int, labels: Callable[[], dict[str, str]],
                 rate_check: RateCheck | None = None, max_batch: int = 256) -> None:
        self.url, self.max_comment, self.labels, self.rate_check = database_url, max_comment, labels, rate_check
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Waiter | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.largest_batch = 0

    async def submit(self, request: VoteRequest) -> dict[str, Any]:
        """The vote's reveal once it is committed; raises ServiceError when it is refused."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._queue.put((request, loop, future))
        # Shielded: a client that goes away does not take the answer with it (the vote may be committed).
        return await asyncio.shield(future)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vote-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[Waiter] = [first]  # type: ignore[list-item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[Waiter]) -> None:
        VOTE_BATCH.observe(len(batch))
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            with session_scope(self.url) as session:
                results: list[Any] = cast_votes(session, [r for r, _, _ in batch], max_comment=self.max_comment,
                                                labels=self.labels(), rate_check=self.rate_check)
        except Exception as exc:  # noqa: BLE001 - every waiter must hear back; none was acknowledged
            log.exception("writing %d votes failed", len(batch))
            results = [ServiceError("unavailable", "vote_not_stored", f"the vote could not be stored ({type(exc).__name__}); "
                                  "send it again with the same idempotency key")] * len(batch)
        for (_, loop, future), result in zip(batch, results, strict=True):
            try:
                loop.call_soon_threadsafe(_settle, future, result)
            except RuntimeError:  # that request's event loop has closed: nobody is waiting
                pass


def _settle(future: asyncio.Future[dict[str, Any]], result: Any) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
