"""Agreement statistics: judge vs people, among annotators, judge bias, rank agreement.

Plain label lists and rows in, frozen dataclasses out (see each module).
"""

from arena.agreement.bias import (
    PreferenceResult,
    language_preference,
    length_preference,
    position_preference,
    self_preference,
)
from arena.agreement.files import LabelFileError, LabelPairs, load_label_pairs, read_label_file
from arena.agreement.kappa import (
    GroupAgreement,
    KappaCI,
    KappaResult,
    PairAgreement,
    agreement_by_group,
    bootstrap_kappa_ci,
    cohen_kappa,
    json_number,
    pair_agreement,
)
from arena.agreement.labels import LABELS, normalize_label
from arena.agreement.multi import (
    AlphaResult,
    FleissResult,
    PairwiseKappa,
    fleiss_kappa,
    fleiss_kappa_from_ratings,
    krippendorff_alpha,
    krippendorff_alpha_from_ratings,
    pairwise_cohen_kappa,
    reliability_matrix,
)
from arena.agreement.rank import RankAgreement, rank_agreement

__all__ = [
    "LABELS",
    "AlphaResult",
    "FleissResult",
    "GroupAgreement",
    "KappaCI",
    "KappaResult",
    "LabelFileError",
    "LabelPairs",
    "PairAgreement",
    "PairwiseKappa",
    "PreferenceResult",
    "RankAgreement",
    "agreement_by_group",
    "bootstrap_kappa_ci",
    "cohen_kappa",
    "fleiss_kappa",
    "fleiss_kappa_from_ratings",
    "json_number",
    "krippendorff_alpha",
    "krippendorff_alpha_from_ratings",
    "language_preference",
    "length_preference",
    "load_label_pairs",
    "normalize_label",
    "pair_agreement",
    "pairwise_cohen_kappa",
    "position_preference",
    "rank_agreement",
    "read_label_file",
    "reliability_matrix",
    "self_preference",
]
