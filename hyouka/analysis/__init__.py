"""hyouka.analysis: ``hyouka compare``, ``agreement`` and ``ranking`` on top of hyouka.stats.

The modules here read the store (``data``), shape the arrays the pure statistics engine takes,
and return frozen dataclasses; the CLI only formats them (``verdict`` writes the sentences).

- :func:`compare_variants`: is B better than A on each check metric, or is it the gacha?
- :func:`rank_votes`: Bradley–Terry ratings from pairwise votes, with sequential stop rules.
- :func:`campaign_agreement`: how much raters agree, where not, who prefers what, and whether
  the LLM judge can stand in for the people.
"""

from hyouka.analysis.compare import (
    ArmEstimate,
    CompareResult,
    MetricComparison,
    PairComparison,
    PowerPlan,
    SeedLevel,
    compare_variants,
)
from hyouka.analysis.humans import (
    AgreementReport,
    AgreementSection,
    DisputedItem,
    GroupSplit,
    RaterPairKappa,
    RaterReport,
    campaign_agreement,
)
from hyouka.analysis.judges import JudgeReport, PPIResult
from hyouka.analysis.ranking import PairSequential, RankingReport, SourceRanking, rank_votes

__all__ = [
    "AgreementReport",
    "AgreementSection",
    "ArmEstimate",
    "CompareResult",
    "DisputedItem",
    "GroupSplit",
    "JudgeReport",
    "MetricComparison",
    "PPIResult",
    "PairComparison",
    "PairSequential",
    "PowerPlan",
    "RankingReport",
    "RaterPairKappa",
    "RaterReport",
    "SeedLevel",
    "SourceRanking",
    "campaign_agreement",
    "compare_variants",
    "rank_votes",
]
