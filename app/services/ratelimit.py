"""Sliding-window rate limits per annotator and per IP (in memory, per app process)."""

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit, self.window = limit, window_s
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()  # sync endpoints run in a thread pool

    def check(self, *keys: str) -> float:
        """Record a hit for every key; 0 if allowed, else seconds until the oldest hit expires."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in keys:
                hits = self._hits[key]
                while hits and now - hits[0] > self.window:
                    hits.popleft()
                if len(hits) >= self.limit:
                    waits.append(self.window - (now - hits[0]))
            if waits:
                return max(waits)
            for key in keys:
                self._hits[key].append(now)
            return 0.0
