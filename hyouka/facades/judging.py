"""The annotator's side of human evaluation through the front door: the open campaigns a
person may judge, their next item, showing it, submitting a judgment, skipping.

The judging screens (``hyouka/web/routes_judge.py``) call only this; it hands the calls to
:mod:`hyouka.humans` with the project's store, so the rules live in one place (serving in
``humans/assign.py``, validation and storage in ``humans/judging.py``). Nothing here names a
variant: what an annotator sees stays blind.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from hyouka import humans
from hyouka.facades.scope import Scope
from hyouka.humans.items import ItemCache, ItemView
from hyouka.humans.judging import ItemSides


class Judging:
    """What one person does in the judging screens (``person`` is their annotator id)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def open_campaigns(self, person: humans.Annotator) -> builtins.list[humans.Campaign]:
        """The open campaigns ``person`` may judge (their group's, or everyone's)."""
        found = humans.list_campaigns(self.scope.store, self.scope.name, status="open")
        return [c for c in found if c.open_to(person)]

    def campaign(self, campaign_id: int) -> humans.Campaign:
        return humans.get_campaign(self.scope.store, self.scope.name, campaign_id)

    def done(self, campaign_id: int, person: int) -> int:
        """How many items of the campaign ``person`` has judged."""
        return humans.my_done(self.scope.store, campaign_id, person)

    def standing(self, campaign_id: int, person: int) -> tuple[int, str | None]:
        """(items judged, public id of the last one) of ``person`` in the campaign."""
        return humans.my_standing(self.scope.store, campaign_id, person)

    def next_item(self, campaign: humans.Campaign, person: int) -> humans.Assignment | None:
        """The person's open item, else a new one; None when nothing is left for them."""
        return humans.next_assignment(self.scope.store, campaign, person)

    def mine(self, public_id: str, person: int) -> tuple[humans.Campaign, humans.Assignment]:
        """One of the person's assignments, with its campaign (NotFound for anyone else's)."""
        return humans.assignment_and_campaign(self.scope.store, self.scope.name, public_id, person)

    def view(self, assignment: humans.Assignment, cache: ItemCache | None = None) -> ItemView:
        """What the screen shows for the assignment: input, outputs left/right, turns."""
        return humans.item_view(self.scope.store, assignment, cache)

    def previous(self, assignment: humans.Assignment, person: int) -> dict[str, Any] | None:
        """The person's current judgment of the item (None for an open assignment)."""
        if assignment.status == "open":  # judging it marks it done: no judgment yet
            return None
        return humans.current_judgment(self.scope.store, assignment.item_id, person)

    @staticmethod
    def screen_values(judgment: Mapping[str, Any], sides: ItemSides) -> dict[str, Any]:
        """A stored judgment as the screen's left/right form values."""
        return humans.screen_values(judgment, sides)

    def submit(
        self,
        campaign: humans.Campaign,
        public_id: str,
        person: int,
        data: humans.JudgmentInput,
        view: ItemView,
    ) -> None:
        """Validate and store the judgment (HumanEvalError with a message code when refused);
        a mark on a conversation turn records that turn's text."""
        if data.mark_turn is not None:
            from hyouka.convo.judging import with_marked_text

            data = with_marked_text(view, data)
        humans.submit_judgment(self.scope.store, campaign, public_id, person, data, view.sides)

    def skip(self, public_id: str, person: int) -> humans.Assignment:
        """Give the item back (it is not offered to this person again)."""
        return humans.skip_assignment(self.scope.store, public_id, person)
