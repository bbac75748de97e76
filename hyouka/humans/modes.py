"""What people do with a campaign's items: the one list the config, the CLI and the web share.

It imports nothing, so the CLI can offer ``--mode`` choices without loading the store.
"""

from __future__ import annotations

from typing import Literal, get_args

CampaignMode = Literal["pairwise", "rating", "pairwise+rating"]
MODES: tuple[str, ...] = get_args(CampaignMode)
