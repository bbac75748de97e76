"""Human evaluation through the front door: campaigns, people, API keys, judgments.

A new campaign's unset fields come from the project's ``human:`` section (mode, overlap,
rubric and instructions — a project file's text when they name one —, tags), its seed from the
project's ``seed``, and the rest from :class:`~hyouka.humans.CampaignSpec`: the CLI
(``hyouka campaigns create``) and the admin page (``/admin/campaigns``) both call
:meth:`Campaigns.create`, so the same inputs make the same campaign
(tests/test_front_door.py).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyouka import humans
from hyouka.errors import HyoukaError
from hyouka.facades.scope import Scope
from hyouka.humans.campaigns import RunOverview
from hyouka.humans.modes import DEFAULT_ASSIGNMENT_MINUTES
from hyouka.store.store import RunInfo


@dataclass(frozen=True)
class CampaignDefaults:
    """What a new campaign gets for each field left unset."""

    mode: str
    overlap: int
    rubric: str | None
    instructions: str | None
    tags: tuple[str, ...]
    seed: int
    assignment_minutes: int


class Campaigns:
    """Create, list, open and close campaigns; their progress and dashboards."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def defaults(self) -> CampaignDefaults:
        human = self.scope.human
        return CampaignDefaults(
            mode=human.mode,
            overlap=human.overlap,
            rubric=self.scope.text(human.rubric),
            instructions=self.scope.text(human.instructions),
            tags=tuple(human.tags) or humans.DEFAULT_TAGS,
            seed=self.scope.seed,
            assignment_minutes=DEFAULT_ASSIGNMENT_MINUTES,
        )

    def spec(
        self,
        name: str,
        *,
        mode: str | None = None,
        variants: Sequence[str] = (),
        cases: Sequence[str] = (),
        overlap: int | None = None,
        rubric: str | None = None,
        instructions: str | None = None,
        tags: Sequence[str] | None = None,
        seed: int | None = None,
        max_samples: int | None = None,
        assignment_minutes: int | None = None,
        groups: Sequence[str] = (),
        judge_first: str | None = None,
        only_unsettled: bool = False,
    ) -> humans.CampaignSpec:
        """The campaign these inputs describe: None takes the default (:meth:`defaults`);
        ``rubric`` / ``instructions`` naming a project file take its text, "" means none."""
        d = self.defaults()
        return humans.CampaignSpec(
            name=name,
            mode=d.mode if mode is None else mode,
            variants=tuple(variants),
            cases=tuple(cases),
            overlap=d.overlap if overlap is None else overlap,
            rubric=d.rubric if rubric is None else (self.scope.text(rubric) or None),
            instructions=(
                d.instructions if instructions is None else (self.scope.text(instructions) or None)
            ),
            tags=d.tags if tags is None else tuple(tags),
            seed=d.seed if seed is None else seed,
            max_samples=max_samples,
            assignment_minutes=(
                d.assignment_minutes if assignment_minutes is None else assignment_minutes
            ),
            groups=tuple(groups),
            judge_first=judge_first or None,
            only_unsettled=only_unsettled,
        )

    def create(self, name: str, *, run: str = "latest", **options: Any) -> humans.Campaign:
        """A campaign over run ``run``'s outputs (options: those of :meth:`spec`)."""
        found = self.run(run)
        return humans.create_campaign(
            self.scope.store, self.scope.name, found.id, self.spec(name, **options)
        )

    def run(self, ref: str = "latest") -> RunInfo:
        return self.scope.store.get_run(ref, self.scope.name)

    def overview(self, run: RunInfo) -> RunOverview:
        """The run's variants and cases (what a new campaign can choose from)."""
        return humans.run_overview(self.scope.store, run.id)

    def list(self, status: str | None = None) -> builtins.list[humans.Campaign]:
        return humans.list_campaigns(self.scope.store, self.scope.name, status)

    def get(self, ref: int | str) -> humans.Campaign:
        return humans.get_campaign(self.scope.store, self.scope.name, ref)

    def set_status(self, ref: int | str, status: str) -> humans.Campaign:
        return humans.set_campaign_status(self.scope.store, self.scope.name, ref, status)

    def progress(self, campaign: humans.Campaign) -> humans.CampaignProgress:
        return humans.campaign_progress(self.scope.store, campaign)

    def annotators(self, campaign: humans.Campaign) -> builtins.list[humans.AnnotatorProgress]:
        return humans.annotator_progress(self.scope.store, campaign)

    def items(self, campaign: humans.Campaign) -> builtins.list[humans.ItemProgress]:
        return humans.item_progress(self.scope.store, campaign)

    def outcomes(self, campaign: humans.Campaign) -> builtins.list[humans.VariantOutcome]:
        return humans.variant_outcomes(self.scope.store, campaign)

    def complaints(self, campaign: humans.Campaign) -> builtins.list[humans.JudgmentRemark]:
        return humans.latest_complaints(self.scope.store, campaign)

    def tags(self, campaign: humans.Campaign) -> builtins.list[tuple[str, str, int]]:
        return humans.tag_counts(self.scope.store, campaign)


class People:
    """Annotators and admins: add (with their sign-in link), list, disable, new links."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def add(
        self, name: str, group: str = "", admin: bool = False, role: str | None = None
    ) -> tuple[humans.Annotator, str]:
        """The new person and their sign-in token (shown once). ``role``: annotator, admin
        or editor (the team's workbench without the campaign admin pages)."""
        return humans.add_annotator(self.scope.store, self.scope.name, name, group, admin, role)

    def list(self) -> builtins.list[humans.Annotator]:
        return humans.list_annotators(self.scope.store, self.scope.name)

    def groups(self) -> builtins.list[str]:
        """The annotator groups there are (what a campaign can be limited to)."""
        return sorted({p.group for p in self.list() if p.group})

    def set_disabled(self, name: str, disabled: bool) -> humans.Annotator:
        return humans.set_disabled(self.scope.store, self.scope.name, name, disabled)

    def reset_link(self, name: str) -> str:
        """A new sign-in token for ``name`` (the old one stops working)."""
        return humans.reset_link(self.scope.store, self.scope.name, name)

    @staticmethod
    def signin_link(base_url: str, token: str) -> str:
        return humans.signin_link(base_url, token)


class ApiKeys:
    """Keys for production apps that send user feedback."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def add(self, name: str) -> tuple[humans.ApiKey, str]:
        """The new key and its secret (shown once)."""
        return humans.add_api_key(self.scope.store, self.scope.name, name)

    def list(self) -> builtins.list[humans.ApiKey]:
        return humans.list_api_keys(self.scope.store, self.scope.name)

    def disable(self, name: str) -> None:
        humans.disable_api_key(self.scope.store, self.scope.name, name)


class Judgments:
    """People's (and judges' and production's) judgments, to read and to export."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def rows(
        self,
        campaign: humans.Campaign | None = None,
        source: str | None = None,
        history: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """One row per judgment with what was judged (see :data:`humans.JUDGMENT_COLUMNS`)."""
        return humans.judgment_rows(
            self.scope.store, self.scope.name, campaign=campaign, source=source, history=history
        )

    def pairs(self, campaign: humans.Campaign) -> Iterator[dict[str, Any]]:
        """prompt/chosen/rejected rows for the items the people's votes settled."""
        if not campaign.pairwise:
            raise HyoukaError(f"campaign '{campaign.name}' is rating-only: it has no pairs")
        return humans.preference_pairs(self.scope.store, campaign)

    def export(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        campaign: str | int | None = None,
        source: str | None = None,
        history: bool = False,
        pairs: bool = False,
    ) -> int:
        """Write judgments (or, with ``pairs``, a campaign's preference pairs) to ``path``."""
        from hyouka.export import write_rows

        found = self.scope_campaign(campaign)
        if pairs:
            if source or history:
                raise HyoukaError(
                    "--pairs uses the people's current votes: drop --source and --history"
                )
            if found is None:
                raise HyoukaError("--pairs needs --campaign NAME (a pairwise campaign)")
            return write_rows(self.pairs(found), path, fmt, humans.PAIR_COLUMNS)
        rows = self.rows(found, source, history)
        return write_rows(rows, path, fmt, humans.JUDGMENT_COLUMNS)

    def scope_campaign(self, ref: str | int | None) -> humans.Campaign | None:
        return None if ref is None else humans.get_campaign(self.scope.store, self.scope.name, ref)

    def list(self, **options: Any) -> builtins.list[dict[str, Any]]:
        """A page of judgments (options of :func:`hyouka.humans.list_judgments`)."""
        return humans.list_judgments(self.scope.store, self.scope.name, **options)
