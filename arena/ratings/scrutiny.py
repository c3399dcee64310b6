"""What a leaderboard should be read with: how hard its ranks are to rig, who may be rigging them,
what the ratings are when voters are weighted by reliability, and whether a contestant changed.

One call on the same ``BattleTable`` the board was fitted on; each part is a model of its own
module (``robustness``, ``crowd_bt``, ``over_time``) and is left out (None) when the battles
lack what it needs: who voted (coordination, CrowdBT) or when (ratings over time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from arena.battle_table import BattleTable
from arena.ratings.crowd_bt import CrowdBTFit, fit_crowd_bt
from arena.ratings.leaderboard import _finite
from arena.ratings.over_time import ChangeAlarm, RatingsOverTime, change_alarms, ratings_over_time
from arena.ratings.pairs import PairCounts
from arena.ratings.robustness import CoordinationReport, FlipMargin, coordinated_voters, flip_margins

__all__ = ["Scrutiny", "scrutinize"]


@dataclass(frozen=True)
class Scrutiny:
    margins: tuple[FlipMargin, ...]
    coordination: CoordinationReport | None
    crowd: CrowdBTFit | None
    over_time: RatingsOverTime | None
    alarms: tuple[ChangeAlarm, ...]

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON: what each part found, not its internal arrays."""
        out: dict[str, Any] = {
            "flip_margins": [dict(asdict(m), described=m.describe()) for m in self.margins],
            "coordinated_groups": None if self.coordination is None else [asdict(g) for g in self.coordination.groups],
            "flagged_voters": None if self.coordination is None else [asdict(f) for f in self.coordination.flags],
            "reliability_weighted": None,
            "over_time": None,
            "change_alarms": [asdict(a) for a in self.alarms],
        }
        if self.crowd is not None:
            out["reliability_weighted"] = {
                "method": "CrowdBT (Chen et al. 2013), beside the plain fit",
                "ratings": dict(zip(self.crowd.models, self.crowd.ratings().tolist(), strict=True)),
                "reliability": dict(zip(self.crowd.annotators, self.crowd.reliability.tolist(), strict=True)),
                "converged": self.crowd.converged,
            }
        if self.over_time is not None:
            out["over_time"] = {"period": self.over_time.period, "level": self.over_time.level,
                                "rows": [asdict(r) for r in self.over_time.rows]}
        return _finite(out)


def scrutinize(table: BattleTable, *, period: str = "W") -> Scrutiny:
    """Flip margins always; coordination and CrowdBT with an annotator column; ratings over time with tstamps."""
    margins = flip_margins(PairCounts.from_table(table))
    coordination = crowd = over_time = None
    alarms: tuple[ChangeAlarm, ...] = ()
    if table.annotator is not None:
        coordination = coordinated_voters(table.model_a, table.model_b, table.outcome, table.annotator, table.models)
        crowd = fit_crowd_bt(table.model_a, table.model_b, table.outcome, table.annotator, table.models)
    if table.tstamp is not None:
        when = pd.to_datetime(table.tstamp, unit="s").to_numpy()
        arrays = (table.model_a, table.model_b, table.outcome, when, table.models)
        over_time = ratings_over_time(*arrays, period=period)
        alarms = change_alarms(*arrays, period=period)
    return Scrutiny(margins=margins, coordination=coordination, crowd=crowd, over_time=over_time, alarms=alarms)
