"""The fixed column layout of every exported config, with a one-line meaning per column.

Parquet files are written with exactly these schemas (so an empty export still has
typed columns) and the dataset card prints the same table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from arena.protocol import REASONS

__all__ = ["CONFIGS", "ConfigSpec"]

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
CONVERSATION = pa.list_(MESSAGE)


@dataclass(frozen=True)
class ConfigSpec:
    name: str
    description: str
    columns: tuple[tuple[str, pa.DataType, str], ...]  # (name, type, meaning)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(name, dtype) for name, dtype, _ in self.columns])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.columns)


_S, _F, _I, _B = pa.string(), pa.float64(), pa.int64(), pa.bool_()
_TAGS = pa.list_(pa.string())
_WINNER = "model_a | model_b | tie | tie (bothbad)"

BATTLES = ConfigSpec("battles", "One row per human vote, in the LMArena/FastChat battle schema plus our columns.", (
    ("question_id", _S, "battle id (random; the same in every config)"),
    ("vote_id", _I, "vote id (joins with `votes`)"),
    ("model_a", _S, "first model of the pair"),
    ("model_b", _S, "second model of the pair"),
    ("winner", _S, f"final verdict: {_WINNER}"),
    ("judge", _S, "the voter: HMAC-SHA256 of the annotator id under the export key"),
    ("conversation_a", CONVERSATION, "model_a's conversation, OpenAI message format, PII replaced"),
    ("conversation_b", CONVERSATION, "model_b's conversation, OpenAI message format, PII replaced"),
    ("turn", _I, "number of user turns in the battle"),
    ("anony", _B, "models were anonymous while the vote was cast (always true here)"),
    ("language", _S, "language tag of the first prompt (kk-cyrl | kk-latn | ru | other), null if unknown"),
    ("tstamp", _F, "vote time, Unix seconds UTC"),
    ("winner_content", _S, "vote on content: model_a | model_b | tie"),
    ("winner_language", _S, "vote on Kazakh language quality: model_a | model_b | tie"),
    ("winner_overall", _S, "explicit overall choice when content and language disagreed, else null"),
    ("decided_by", _S, "how the final verdict was reached: content+language | overall | tie | bothbad"),
    ("both_bad", _B, "the voter said both answers were bad"),
    ("position", _S, "which model was shown on the left: a | b"),
    ("sampling_prob", _F, "probability with which this pair was drawn (for inverse-propensity weighting)"),
    ("mode", _S, "prompt (the voter wrote it) | continuation (a dialogue task)"),
    ("topic", _S, "topic of the prompt or task, null if none"),
    ("source_set", _S, "govset | cultset for continuation tasks, null for voter-written prompts"),
    ("model_a_revision", _S, "model_a's revision when it answered"),
    ("model_b_revision", _S, "model_b's revision when it answered"),
    ("sampling_params_a", _S, "model_a's sampling parameters, JSON object with sorted keys"),
    ("sampling_params_b", _S, "model_b's sampling parameters, JSON object with sorted keys"),
    ("identity_leak", _B, "an answer named its own model or vendor"),
    ("gold", _B, "gold control battle (only present with --include-gold)"),
    ("gold_better", _S, "for gold battles, the known-better side"),
    ("flagged", _B, "flagged by an admin (only present with --include-flagged)"),
))

VOTES = ConfigSpec("votes", "One row per human vote, without the conversations.", (
    ("vote_id", _I, "vote id"),
    ("question_id", _S, "battle id"),
    ("judge", _S, "the voter (hashed, as in `battles`)"),
    ("model_a", _S, "first model"),
    ("model_b", _S, "second model"),
    ("winner", _S, f"final verdict: {_WINNER}"),
    ("winner_content", _S, "vote on content"),
    ("winner_language", _S, "vote on Kazakh language quality"),
    ("winner_overall", _S, "explicit overall choice, or null"),
    ("decided_by", _S, "content+language | overall | tie | bothbad"),
    ("both_bad", _B, "both answers judged bad"),
    ("comment", _S, "the voter's free-text comment, PII replaced"),
    ("reasons_a", _TAGS, f"tags the voter ticked for model_a's answer ({', '.join(REASONS)}); empty if none"),
    ("reasons_b", _TAGS, "the same for model_b's answer"),
    ("consent_version", _S, "version of the participation notice the voter had accepted"),
    ("seconds_to_vote", _F, "seconds from both answers complete to the vote"),
    ("tstamp", _F, "vote time, Unix seconds UTC"),
))

TURN_FEEDBACK = ConfigSpec("turn_feedback", "Thumbs up/down that chat users gave single answers.", (
    ("message_id", _I, "id of the rated answer"),
    ("conversation_id", _S, "the conversation, HMAC-hashed like annotator ids"),
    ("turn", _I, "turn number inside the conversation"),
    ("model", _S, "model that answered"),
    ("language", _S, "language tag of the answer"),
    ("feedback", _I, "+1 (up) or -1 (down)"),
    ("feedback_reason", _S, "optional reason, PII replaced"),
    ("prompt", _S, "the user's message of the same turn, PII replaced"),
    ("response", _S, "the rated answer, PII replaced"),
    ("sources", _S, "grounding sources shown with the answer, JSON list, PII replaced; null if none"),
    ("tstamp", _F, "time of the answer, Unix seconds UTC"),
))

JUDGMENTS = ConfigSpec("judgments", "LLM-judge verdicts; each pair is judged in both orders, one row per order.", (
    ("verdict_id", _I, "verdict id"),
    ("question_id", _S, "battle id, null for evaluation items"),
    ("item_id", _S, "evaluation item id, null for battles"),
    ("model_a", _S, "the battle's model_a, null for evaluation items"),
    ("model_b", _S, "the battle's model_b, null for evaluation items"),
    ("judge_model", _S, "the judging model"),
    ("prompt_hash", _S, "hash of the versioned judge prompt"),
    ("dimension", _S, "content | language | overall"),
    ("order", _S, "ab (model_a shown first) | ba"),
    ("verdict", _S, "model_a | model_b | tie | invalid, as stored by the judge"),
    ("consistent", _B, "both orders agreed, null if unknown"),
    ("raw_text", _S, "the judge's full reply, PII replaced"),
    ("prompt_tokens", _I, "prompt tokens of the judge call"),
    ("completion_tokens", _I, "completion tokens of the judge call"),
    ("tstamp", _F, "time of the verdict, Unix seconds UTC"),
))

ANNOTATORS = ConfigSpec("annotators", "Self-reported profile of every voter who appears in `votes`.", (
    ("judge", _S, "hashed annotator id (as in `battles` and `votes`)"),
    ("proficiency", _S, "Kazakh proficiency: native | C1-C2 | B1-B2 | A1-A2"),
    ("education", _S, "education, as the annotator gave it (PII replaced)"),
    ("region", _S, "region, as the annotator gave it (PII replaced)"),
    ("script", _S, "preferred script: cyrillic | latin"),
    ("consent_version", _S, "version of the participation notice accepted at registration"),
    ("n_votes", _I, "votes by this annotator in this export"),
))

DPO = ConfigSpec("dpo", "Preference pairs for DPO from decisive human votes (TRL conversational format).", (
    ("question_id", _S, "battle id"),
    ("vote_id", _I, "vote id"),
    ("judge", _S, "the voter (hashed)"),
    ("prompt", CONVERSATION, "messages both models saw (the conversations' common prefix)"),
    ("chosen", CONVERSATION, "the rest of the winning model's conversation"),
    ("rejected", CONVERSATION, "the rest of the losing model's conversation"),
    ("chosen_model", _S, "model that won"),
    ("rejected_model", _S, "model that lost"),
    ("decided_by", _S, "dimension that decided: content+language | content | language | overall"),
    ("winner_content", _S, "vote on content"),
    ("winner_language", _S, "vote on Kazakh language quality"),
    ("topic", _S, "topic, null if none"),
    ("language", _S, "language tag of the first prompt"),
    ("tstamp", _F, "vote time, Unix seconds UTC"),
))

WEIGHT_STEP = pa.struct([("tstamp", _F), ("arena_weight", _F)])

CONTESTANTS = ConfigSpec("contestants", "Every contestant ever served, whatever the selection: revisions, sampling "
                         "weights over time, retirement and vote counts.", (
    ("model", _S, "contestant name, as in `battles.model_a` / `model_b`"),
    ("kind", _S, "base, instruct or fine-tuned, as labelled now (or when retired)"),
    ("revision", _S, "current revision (the last one served, if retired); see the ledger section"),
    ("source", _S, "where the weights come from: packaged:, path:, hub:, external: or lora:"),
    ("served", _B, "served at the arena's last start-up"),
    ("arena_weight", _F, "configured relative chance to be drawn now (0: kept out of battles, or retired)"),
    ("added_tstamp", _F, "first served, Unix seconds UTC"),
    ("changed_tstamp", _F, "last change of revision, source or kind; null if never"),
    ("retired_tstamp", _F, "when it stopped being served; null while served"),
    ("revision_tstamp", _F, "since when the current revision has answered"),
    ("n_revisions", _I, "distinct revisions served under this name"),
    ("weight_history", pa.list_(WEIGHT_STEP), "configured weight from each `tstamp` on, one entry per change"),
    ("n_battles", _I, "battles it was drawn into, voted or not, in the whole database"),
    ("n_votes", _I, "votes on those battles in the whole database (excluded voters and battles too)"),
    ("n_votes_current_revision", _I, "those votes cast since `revision_tstamp`"),
))

CONTESTANT_EVENTS = ConfigSpec("contestant_events", "The contestant ledger as written at each start-up: one row "
                               "per contestant added, changed, reweighted or retired.", (
    ("event_id", _I, "event id, in the order written"),
    ("model", _S, "contestant name"),
    ("event", _S, "added, changed (revision, source or kind), weight (arena_weight) or retired"),
    ("revision", _S, "revision after the event (the last one served, for retired)"),
    ("source", _S, "where the weights come from, after the event"),
    ("kind", _S, "base, instruct or fine-tuned, after the event"),
    ("arena_weight", _F, "configured weight after the event (0 for retired)"),
    ("settings", _S, "what the revision hashes: weights fingerprint, pipeline, system prompt, sampling, "
                     "serving options; JSON object with sorted keys"),
    ("description", _S, "what changed, in words"),
    ("tstamp", _F, "start-up that recorded it, Unix seconds UTC"),
))

CONFIGS: Mapping[str, ConfigSpec] = {spec.name: spec for spec in (BATTLES, VOTES, TURN_FEEDBACK, JUDGMENTS,
                                                                 ANNOTATORS, DPO, CONTESTANTS, CONTESTANT_EVENTS)}
