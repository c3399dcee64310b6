"""Every table in one place. Later features add columns, not tables.

Conversations are stored in OpenAI message format (JSON lists of
{"role", "content"}), battles follow the public LMArena/FastChat schema where it
can (model_a, model_b, winner, conversation_a/b, turn, tstamp) plus our own
dimensions.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(
        String(16)
    )  # shown in listings; the key itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Generation(Base):
    """One model call through the API: what was asked, what came back, how long it took."""

    __tablename__ = "generations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    endpoint: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    messages: Mapped[list[Any] | None] = mapped_column(JSON)
    prompt: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str] = mapped_column(Text, default="")
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | error | cancelled
    error: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))


class Annotator(Base):
    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="annotator")  # annotator | admin
    proficiency: Mapped[str] = mapped_column(
        String(16), default=""
    )  # native | C1-C2 | B1-B2 | A1-A2
    education: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    script: Mapped[str] = mapped_column(String(16), default="cyrillic")
    consent_version: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    ban_reason: Mapped[str | None] = mapped_column(Text)
    banned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AnnotatorFlagReview(Base):
    """An admin's decision on an annotator's quality flags; the newest per annotator counts.

    Rows are never updated: clearing and reopening append, so the history stays.
    """

    __tablename__ = "annotator_flag_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # cleared | reopened
    reason: Mapped[str] = mapped_column(Text, default="")
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))  # None: decided outside the UI


class Battle(Base):
    """Two anonymous answers to the same prompt, stored whether voted or abandoned."""

    __tablename__ = "battles"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    mode: Mapped[str] = mapped_column(String(16), default="prompt")  # prompt | continuation
    annotator_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"), index=True)
    model_a: Mapped[str] = mapped_column(String(128))
    model_b: Mapped[str] = mapped_column(String(128))
    position: Mapped[str] = mapped_column(
        String(1), default="a"
    )  # which model was shown on the left
    sampling_prob: Mapped[float | None] = mapped_column(Float)
    conversation_a: Mapped[list[Any]] = mapped_column(default=list)
    conversation_b: Mapped[list[Any]] = mapped_column(default=list)
    params_a: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params_b: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision_a: Mapped[str] = mapped_column(String(128), default="")
    revision_b: Mapped[str] = mapped_column(String(128), default="")
    turn: Mapped[int] = mapped_column(Integer, default=0)
    topic: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(
        String(16), default="open"
    )  # open | ready | voted | abandoned
    gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_better: Mapped[str | None] = mapped_column(
        String(8)
    )  # model_a | model_b, for gold battles
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    identity_leak: Mapped[bool] = mapped_column(Boolean, default=False)  # an answer named its model or vendor
    events: Mapped[list[Any]] = mapped_column(default=list)  # e.g. a side replaced after an error


class Message(Base):
    """A turn of a citizen chat conversation, with feedback (battles keep their turns in `Battle`)."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    turn: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(16))  # kk-cyrl | kk-latn | ru | other
    feedback: Mapped[int | None] = mapped_column(Integer)  # +1 | -1
    feedback_reason: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[Any] | None] = mapped_column(JSON)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("battle_id", "annotator_id", name="uq_vote_battle_annotator"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    battle_id: Mapped[str] = mapped_column(ForeignKey("battles.id"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    winner_content: Mapped[str] = mapped_column(String(16))  # model_a | model_b | tie
    winner_language: Mapped[str] = mapped_column(String(16))
    winner_overall: Mapped[str | None] = mapped_column(String(16))
    winner: Mapped[str] = mapped_column(String(16))  # model_a | model_b | tie | tie (bothbad)
    decided_by: Mapped[str] = mapped_column(String(32), default="")  # content+language | overall | tie | bothbad
    both_bad: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    # {"model_a": [tag, ...], "model_b": [...]} from arena.protocol.REASONS; null when none was ticked
    reasons: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    consent_version: Mapped[str] = mapped_column(String(32), default="")
    seconds_to_vote: Mapped[float | None] = mapped_column(Float)


class JudgeVerdict(Base):
    """One judge call on one ordering of a pair; both orders are stored."""

    __tablename__ = "judge_verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    battle_id: Mapped[str | None] = mapped_column(ForeignKey("battles.id"), index=True)
    item_id: Mapped[str | None] = mapped_column(String(128), index=True)
    judge_model: Mapped[str] = mapped_column(String(128))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[str] = mapped_column(String(16), default="overall")
    order: Mapped[str] = mapped_column(String(2), default="ab")  # ab | ba
    verdict: Mapped[str] = mapped_column(String(16))  # model_a | model_b | tie | invalid
    raw_text: Mapped[str] = mapped_column(Text, default="")
    consistent: Mapped[bool | None] = mapped_column(Boolean)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)


class AnnotatorSession(Base):
    """A logged-in annotator. Only the token's hash is stored; sessions expire."""

    __tablename__ = "annotator_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConversationTask(Base):
    """An unfinished Kazakh dialogue ending with "Person 2 says: ..." for both models to continue."""

    __tablename__ = "conversation_tasks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    set: Mapped[str] = mapped_column(String(16), default="govset")  # govset | cultset
    topic: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(64))  # the IFT pair or document it came from
    messages: Mapped[list[Any]] = mapped_column(default=list)  # OpenAI format, ends on the user turn
    origin: Mapped[str] = mapped_column(String(32), default="data")  # data | generated


class EvalResult(Base):
    """One score of one model on one evaluation (a row of a paper table)."""

    __tablename__ = "eval_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    task: Mapped[str] = mapped_column(String(32))  # mcq | rag | generation | conversation
    dataset: Mapped[str] = mapped_column(String(128))
    subset: Mapped[str | None] = mapped_column(String(128))  # subject / topic
    model: Mapped[str] = mapped_column(String(128), index=True)
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ExportSecret(Base):
    """The one row (id 1) holding the salt of exported annotator ids, generated at the first export
    when KAZARENA_SECRET_SALT is not set (arena/export/salt.py says why it is kept here)."""

    __tablename__ = "export_secret"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    salt: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContestantEvent(Base):
    """The transparency ledger: a row each time a served contestant appeared, changed, was reweighted or
    stopped being served, written at start-up (app/services/ledger.py).

    Rows are never updated and each carries the contestant's whole state after the event, so the newest
    row per model is its last known state and the history survives silent edits of models.yaml.
    """

    __tablename__ = "contestant_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model: Mapped[str] = mapped_column(String(128), index=True)
    event: Mapped[str] = mapped_column(String(16))  # added | changed | weight | retired
    revision: Mapped[str] = mapped_column(String(64))  # short hash of the weights and answer-shaping settings
    source: Mapped[str] = mapped_column(Text)  # where the weights come from, e.g. packaged:<name>, lora:<dir>
    kind: Mapped[str] = mapped_column(String(16))  # base | instruct | fine-tuned
    arena_weight: Mapped[float] = mapped_column(Float)  # configured sampling weight; 0 on a retired row
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the revision hashes: weights, prompt, ...
    description: Mapped[str] = mapped_column(Text, default="")  # what changed, in words
