"""A small arena database with Kazakh text and planted personal data, for the export tests.

Inserted straight through the ORM. What `fill` returns says which rows the export
must keep by default and which flags bring the others back.
"""

import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from db.models import Annotator, Battle, ContestantEvent, ConversationTask, JudgeVerdict, Message, Vote
from db.session import session_scope

# Planted personal data. The IIN's check digit is right (900101 300 12 → 6; see test_pii).
IIN = "900101300126"
PHONE_1, PHONE_1_DIGITS = "+7 (701) 123-45-67", "7011234567"
PHONE_2, PHONE_2_DIGITS = "8 747 765 43 21", "7477654321"
EMAIL = "asel.nurlanovna@mail.kz"
CARD, CARD_DIGITS = "4400 4301 2345 6789", "4400430123456789"
PASSPORT = "N12345678"
ID_CARD = "045678912"
USERNAMES = ("asel_nurlankyzy", "bolat.troll", "dana_admin")
PASSWORD_HASH = "$argon2id$v=19$m=65536$planted-hash-never-exported"
# Everything that must not appear in any exported string (digits-only forms included).
PLANTED = (IIN, PHONE_1, PHONE_1_DIGITS, PHONE_2, PHONE_2_DIGITS, EMAIL, CARD, CARD_DIGITS, PASSPORT,
           ID_CARD, *USERNAMES, PASSWORD_HASH)

PROMPT = f"Сәлеметсіз бе! Менің ЖСН-ім {IIN}, телефоным {PHONE_1}. Зейнетақыны қалай алуға болады?"
ANSWER_A = f"Зейнетақы туралы ақпаратты {EMAIL} мекенжайына жазыңыз немесе eGov порталына кіріңіз."
ANSWER_B = "Зейнетақы 63 жастан бастап төленеді, 2024 жылы орташа мөлшері 120 000 теңге болды."
COMMENT = f"А жауабы жақсы. Менің картам {CARD}, паспорт {PASSPORT} — оны жазбаңыздар."


LEDGER_EARLY = timedelta(hours=6)  # ledger events come from start-ups before that day's vote


def at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Filled:
    annotator_ids: dict[str, int]  # username -> id
    default_votes: frozenset[int]  # vote ids exported with default options
    gold_vote: int
    flagged_vote: int
    banned_vote: int


def _conv(prompt: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def fill(url: str) -> Filled:
    with session_scope(url) as s:
        asel = Annotator(username=USERNAMES[0], password_hash=PASSWORD_HASH, proficiency="native",
                         education="магистр", region=f"Алматы, тел. {PHONE_2}", consent_version="2026-11-v1")
        bolat = Annotator(username=USERNAMES[1], password_hash=PASSWORD_HASH, proficiency="B1-B2",
                          region="Шымкент", banned=True, ban_reason="random clicks", consent_version="2026-11-v1")
        dana = Annotator(username=USERNAMES[2], password_hash=PASSWORD_HASH, role="admin", proficiency="C1-C2")
        s.add_all([asel, bolat, dana])
        s.add(ConversationTask(id="cult-7", set="cultset", topic="history",
                               messages=[{"role": "user", "content": "Абылай хан туралы әңгіме..."}]))
        s.flush()

        def battle(day: int, **kw: object) -> Battle:
            fields = dict(created_at=at(day), model_a="kaz-7b", model_b="qwen-0.5b", turn=1, topic="pension",
                          position="b", sampling_prob=0.25, revision_a="r1", revision_b="r2",
                          params_a={"temperature": 0.9, "top_p": 0.95, "stop": [f"write to {EMAIL}"]},
                          params_b={"temperature": 0.9, "top_p": 0.95},
                          conversation_a=_conv(PROMPT, ANSWER_A), conversation_b=_conv(PROMPT, ANSWER_B))
            fields.update(kw)
            row = Battle(**fields)
            s.add(row)
            s.flush()
            return row

        def vote(b: Battle, who: Annotator, key: str, winner: str, **kw: object) -> Vote:
            fields = dict(battle_id=b.id, annotator_id=who.id, idempotency_key=key, winner=winner,
                          winner_content=winner if winner != "tie (bothbad)" else "tie",
                          winner_language=winner if winner != "tie (bothbad)" else "tie",
                          decided_by="content+language", consent_version="2026-11-v1",
                          created_at=b.created_at, seconds_to_vote=12.5)
            fields.update(kw)
            row = Vote(**fields)
            s.add(row)
            s.flush()
            return row

        b1 = battle(1)
        v1 = vote(b1, asel, "k-0001", "model_a", winner_language="tie", comment=COMMENT)
        b2 = battle(2, mode="continuation", task_id="cult-7", topic="history",
                    conversation_a=_conv("Абылай хан туралы әңгіме...", "Абылай хан 1711 жылы туған."),
                    conversation_b=_conv("Абылай хан туралы әңгіме...", "Білмеймін."))
        v2 = vote(b2, asel, "k-0002", "tie")
        multi_a = [*_conv(PROMPT, ANSWER_A), {"role": "user", "content": f"Тағы бір сұрақ: {ID_CARD} жеке куәлік нөмірі"},
                   {"role": "assistant", "content": "Жақсы, түсіндім."}]
        multi_b = [*_conv(PROMPT, ANSWER_B), {"role": "user", "content": f"Тағы бір сұрақ: {ID_CARD} жеке куәлік нөмірі"},
                   {"role": "assistant", "content": "Қайталап жіберіңіз."}]
        b3 = battle(3, turn=2, conversation_a=multi_a, conversation_b=multi_b)
        v3 = vote(b3, asel, "k-0003", "model_b", winner_content="model_a", winner_language="model_b",
                  winner_overall="model_b", decided_by="overall")
        gold = battle(4, gold=True, gold_better="model_a")
        v_gold = vote(gold, asel, "k-0004", "model_a")
        flagged = battle(5, flagged=True)
        v_flagged = vote(flagged, asel, "k-0005", "model_b")
        b6 = battle(6)
        v_banned = vote(b6, bolat, "k-0006", "model_b", comment=f"spam {EMAIL}")

        # Chat: a citizen's question with an ID-card number, a rated answer with a phone in the reason.
        s.add(Message(conversation_id="chat-1", turn=1, role="user", created_at=at(7), language="kk-cyrl",
                      content=f"Жеке куәлігімнің нөмірі {ID_CARD}, оны қалай ауыстырамын?"))
        s.add(Message(conversation_id="chat-1", turn=1, role="assistant", model="kaz-7b", created_at=at(7),
                      content="Жеке куәлікті ХҚКО-да ауыстыруға болады.", language="kk-cyrl", feedback=-1,
                      feedback_reason=f"маған {PHONE_2} нөміріне хабарласыңыз",
                      sources=[{"id": "gov-12", "title": "Жеке куәлік алу"}]))
        s.add(Message(conversation_id="chat-1", turn=2, role="assistant", model="kaz-7b", created_at=at(7),
                      content="Жауап жоқ.", language="kk-cyrl"))  # not rated: not exported

        for order, verdict in (("ab", "model_a"), ("ba", "model_a")):
            s.add(JudgeVerdict(battle_id=b1.id, judge_model="judge-local", prompt_hash="p" * 64, dimension="content",
                               order=order, verdict=verdict, consistent=True, created_at=at(8),
                               raw_text=f"Бірінші жауап жақсы ({EMAIL} көрсетілген). [[1]]"))
        s.add(JudgeVerdict(battle_id=gold.id, judge_model="judge-local", prompt_hash="p" * 64, verdict="model_a",
                           created_at=at(8), raw_text="[[1]]"))
        s.add(JudgeVerdict(item_id="ift-3", judge_model="judge-local", prompt_hash="q" * 64, verdict="tie",
                           created_at=at(9), raw_text="[[0]]"))
        # The contestant ledger: three models added on day 1, qwen reweighted on day 2, kaz-7b given a
        # new system prompt (with an e-mail in it) early on day 3, old-model retired on day 4 unvoted.
        def event(model: str, kind: str, when: datetime, weight: float = 1.0, revision: str = "rev-1",
                  prompt: str | None = None) -> None:
            s.add(ContestantEvent(created_at=when, model=model, event=kind, revision=revision, kind="instruct",
                                  source=f"packaged:{model}", arena_weight=weight,
                                  settings={"pipeline": "plain", "system_prompt": prompt},
                                  description="first served" if kind == "added" else kind))

        for model in ("kaz-7b", "qwen-0.5b", "old-model"):
            event(model, "added", at(1) - LEDGER_EARLY)
        event("qwen-0.5b", "weight", at(2) - LEDGER_EARLY, weight=2.0)
        event("kaz-7b", "changed", at(3) - LEDGER_EARLY, revision="rev-2", prompt=f"Сұрақтарды {EMAIL} жібер")
        event("old-model", "retired", at(4), weight=0.0)
        return Filled({a.username: a.id for a in (asel, bolat, dana)}, frozenset({v1.id, v2.id, v3.id}),
                      v_gold.id, v_flagged.id, v_banned.id)


def expected_judge(salt: str, annotator_id: int) -> str:
    """HMAC-SHA256(salt, id), written out here independently of arena.export."""
    return hmac.new(salt.encode(), str(annotator_id).encode(), hashlib.sha256).hexdigest()


def strings(value: object) -> list[str]:
    """Every string inside nested lists/dicts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return []


def file_strings(name: str, data: bytes) -> list[str]:
    """Every string cell of one exported file (parquet, JSON lines or the card)."""
    if name.endswith(".parquet"):
        return strings(pq.read_table(io.BytesIO(data)).to_pylist())
    if name.endswith(".jsonl"):
        return strings([json.loads(line) for line in data.decode().splitlines()])
    return [data.decode()]


def folder_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist())}


def leaks(files: dict[str, bytes], secrets: tuple[str, ...] = PLANTED) -> list[tuple[str, str]]:
    """(file, secret) for each planted value found in any string, also with the spacing removed."""
    found = []
    for name, data in files.items():
        for text in file_strings(name, data):
            digits = "".join(c for c in text if c.isdigit())
            for secret in secrets:
                secret_digits = "".join(c for c in secret if c.isdigit())
                if secret in text or (len(secret_digits) >= 9 and secret_digits in digits):
                    found.append((name, secret))
    return found
