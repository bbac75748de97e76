"""Human evaluation: annotators, campaigns, serving items, judgments, production feedback.

Pure functions over a :class:`hyouka.store.store.Store`. The CLI and the web's admin pages and
JSON API reach them through the front door (``ws.campaigns``, ``ws.people``, … of
:mod:`hyouka.facades`); the annotator screens call the per-request ones (sessions,
assignments, judgments, production feedback) directly. Every write goes through
:func:`hyouka.store.tx.write_tx` (one writer on SQLite).

>>> person, token = add_annotator(store, "support-bot", "tanaka", group="operators")
>>> campaign = create_campaign(store, "support-bot", run.id, CampaignSpec(name="round-1"))
>>> a = next_assignment(store, campaign, person.id)
>>> submit_judgment(store, campaign, a.public_id, person.id,
...                 JudgmentInput(idempotency_key="k1", winner="left"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyouka._lazy import lazy_exports

if TYPE_CHECKING:
    from hyouka.humans.access import (
        ApiKey,
        SigninLimit,
        add_api_key,
        api_key_by_secret,
        disable_api_key,
        end_session,
        list_api_keys,
        record_signin_failure,
        session_annotator,
        signin_blocked,
        start_session,
    )
    from hyouka.humans.assign import (
        Assignment,
        assignment_and_campaign,
        get_assignment,
        last_judged,
        left_sample,
        my_standing,
        next_assignment,
        reclaim_expired,
        skip_assignment,
    )
    from hyouka.humans.campaigns import (
        DEFAULT_TAGS,
        Campaign,
        CampaignSpec,
        build_items,
        create_campaign,
        get_campaign,
        list_campaigns,
        run_overview,
        set_campaign_status,
    )
    from hyouka.humans.dashboard import (
        AnnotatorProgress,
        CampaignProgress,
        ItemProgress,
        JudgmentRemark,
        VariantOutcome,
        annotator_progress,
        campaign_progress,
        item_progress,
        latest_complaints,
        my_done,
        tag_counts,
        variant_outcomes,
    )
    from hyouka.humans.exports import (
        JUDGMENT_COLUMNS,
        PAIR_COLUMNS,
        judgment_rows,
        preference_pairs,
    )
    from hyouka.humans.feedback import Feedback, record_feedback
    from hyouka.humans.items import ItemCache, ItemView, item_view
    from hyouka.humans.judging import (
        VERDICTS,
        JudgmentInput,
        SubmitResult,
        current_judgment,
        screen_values,
        submit_judgment,
    )
    from hyouka.humans.modes import MODES
    from hyouka.humans.people import (
        Annotator,
        HumanEvalError,
        add_annotator,
        annotator_by_token,
        get_annotator,
        list_annotators,
        reset_link,
        set_disabled,
        set_locale,
        signin_link,
    )
    from hyouka.humans.reads import list_judgments

__all__ = [
    "DEFAULT_TAGS",
    "JUDGMENT_COLUMNS",
    "MODES",
    "PAIR_COLUMNS",
    "VERDICTS",
    "Annotator",
    "AnnotatorProgress",
    "ApiKey",
    "Assignment",
    "Campaign",
    "CampaignProgress",
    "CampaignSpec",
    "Feedback",
    "HumanEvalError",
    "ItemCache",
    "ItemProgress",
    "ItemView",
    "JudgmentInput",
    "JudgmentRemark",
    "SigninLimit",
    "SubmitResult",
    "VariantOutcome",
    "add_annotator",
    "add_api_key",
    "annotator_by_token",
    "annotator_progress",
    "api_key_by_secret",
    "assignment_and_campaign",
    "build_items",
    "campaign_progress",
    "create_campaign",
    "current_judgment",
    "disable_api_key",
    "end_session",
    "get_annotator",
    "get_assignment",
    "get_campaign",
    "item_progress",
    "item_view",
    "judgment_rows",
    "last_judged",
    "latest_complaints",
    "left_sample",
    "list_annotators",
    "list_api_keys",
    "list_campaigns",
    "list_judgments",
    "my_done",
    "my_standing",
    "next_assignment",
    "preference_pairs",
    "reclaim_expired",
    "record_feedback",
    "record_signin_failure",
    "reset_link",
    "run_overview",
    "screen_values",
    "session_annotator",
    "set_campaign_status",
    "set_disabled",
    "set_locale",
    "signin_blocked",
    "signin_link",
    "skip_assignment",
    "start_session",
    "submit_judgment",
    "tag_counts",
    "variant_outcomes",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
