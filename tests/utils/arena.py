"""Factories for arena tests: annotators with live sessions, battles ready for a vote."""

import uuid
from datetime import UTC, datetime

from app.services import accounts
from db.models import Battle
from db.session import session_scope


def annotator(url: str, username: str | None = None, role: str = "annotator") -> tuple[int, str]:
    """Register and log in; returns (annotator id, session token)."""
    name = username or f"user_{uuid.uuid4().hex[:8]}"
    with session_scope(url) as s:
        row = accounts.register(session=s, role=role, reg=accounts.Registration(
            username=name, password="құпия-сөз-123", proficiency="native", region="Алматы",
            consent=True, age_confirmed=True))
        annotator_id = row.id
    with session_scope(url) as s:
        _, token = accounts.login(session=s, username=name, password="құпия-сөз-123", ttl_hours=1)
    return annotator_id, token


def ready_battle(url: str, annotator_id: int, position: str = "a", **fields: object) -> str:
    """A battle whose answers are complete, as if both models had answered."""
    with session_scope(url) as s:
        values: dict[str, object] = dict(
            annotator_id=annotator_id, model_a="m1", model_b="m2", position=position, state="ready", turn=1,
            sampling_prob=0.5, timings={"answers_done": datetime.now(UTC).timestamp()},
            conversation_a=[{"role": "user", "content": "Сұрақ"}, {"role": "assistant", "content": "Жауап А"}],
            conversation_b=[{"role": "user", "content": "Сұрақ"}, {"role": "assistant", "content": "Жауап Б"}])
        b = Battle(**(values | fields))
        s.add(b)
        s.flush()
        return b.id


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
