"""What a shard's report says about the shard: which of how many, of which plan (report 2.4).

`harness.engine.shard` cuts the plan and fills this; `harness.results.shards` checks, when reports are
merged, that the shards of each plan are all there, once each. It lives in `core` because the report
saves it (`Report.shard`); a report without it is a whole run, as every report before 2.4 was.
"""

from __future__ import annotations

from harness.core import model
from harness.core.model import Saved


class ShardInfo(Saved):
    index: int  # 1-based: shard `index` of `count`
    count: int
    plan: str  # a digest of the whole plan's run keys and scenarios: the same in every shard of one run
    planned: int  # runs in the whole plan
    runs: int  # runs in this shard
    units: int  # scenario x model units in the whole plan (a shard holds whole units; some may hold none)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


# `Report` holds one: it finds it in its module's namespace when first built (see the end of
# `harness.core.model`).
model.ShardInfo = ShardInfo  # type: ignore[misc]
