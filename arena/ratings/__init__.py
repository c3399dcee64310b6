"""Ratings from pairwise battles: Bradley-Terry, its intervals, and the leaderboard.

Plain arrays in, frozen dataclasses out. One model per module:
``bradley_terry`` (choix ILSR), ``length_control`` (length as a covariate),
``bootstrap`` and ``sandwich`` (intervals), ``two_models`` (head-to-head statistics),
``leaderboard`` (assembly), ``plot`` (figure; import it explicitly, it loads matplotlib).
"""

from arena.ratings.bradley_terry import Anchor, fit_bradley_terry
from arena.ratings.leaderboard import Leaderboard, build_leaderboard, build_leaderboards

__all__ = ["Anchor", "Leaderboard", "build_leaderboard", "build_leaderboards", "fit_bradley_terry"]
