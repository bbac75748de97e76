"""What people do with a campaign's items, and how long they may hold one: shared by the config,
the CLI and the web.

It imports nothing, so the CLI can offer ``--mode`` choices without loading the store.
"""

from __future__ import annotations

from typing import Literal, get_args

CampaignMode = Literal["pairwise", "rating", "pairwise+rating"]
MODES: tuple[str, ...] = get_args(CampaignMode)

# An unfinished item goes back to the pool after this long (CampaignSpec.assignment_minutes).
DEFAULT_ASSIGNMENT_MINUTES = 30
