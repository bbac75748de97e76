"""The experiments' sentences in English and Japanese (CLI, dashboard and report).

Kept beside the feature, in the style of :mod:`hyouka.i18n.cli` (every key in both catalogs,
``str.format`` fields; a test checks it)."""

from __future__ import annotations

from hyouka.i18n.cli import Lang

EN: dict[str, str] = {
    "unit.user": "users",
    "unit.session": "sessions",
    "unit.conversation": "conversations",
    "better.higher": "higher is better",
    "better.lower": "lower is better",
    "v.better": (
        "{b} is better than {a} on `{metric}` ({better}): {diff} (anytime-valid {level}% CI "
        "{low} to {high}) over {nb} vs {na} {units}; decided at {stop} {units}, valid however "
        "often anyone looked"
    ),
    "v.worse": (
        "{b} is worse than {a} on `{metric}` ({better}): {diff} (anytime-valid {level}% CI "
        "{low} to {high}) over {nb} vs {na} {units}; decided at {stop} {units}, valid however "
        "often anyone looked"
    ),
    "v.open": (
        "Not decided yet on `{metric}` for {b} vs {a}: {diff} (anytime-valid {level}% CI {low} "
        "to {high}) over {nb} vs {na} {units}; keep it running — looking again tomorrow is "
        "allowed"
    ),
    "v.few": (
        "Too few {units} yet on `{metric}` for {b} vs {a} ({nb} and {na} with data); the test "
        "starts at {min} per variant"
    ),
    "v.drift": (
        "`{metric}` for {b} vs {a}: the intervals of successive looks do not overlap (the "
        "effect is changing over time): {diff} now; no verdict"
    ),
    "v.bonferroni": (
        "Decisions and intervals are Bonferroni-adjusted over {m} tests ({k} outcome(s) × {c} "
        "comparison(s) with the control): each at α = {alpha}"
    ),
    "srm.bad": (
        "Sample ratio mismatch: {counts} {units} where the allocation expects {expected} "
        "(e-value {e}, χ² p {p}). The assignment or the logging loses units of some variant; "
        "the comparisons below may be biased — find the cause before trusting them"
    ),
    "srm.ok": "Sample ratio as allocated: {counts} {units} (expected {expected}; χ² p {p})",
    "g.breach": (
        "Guardrail `{metric}` breached by {b}: {diff} over {a} (anytime-valid CI {low} to "
        "{high}), allowed {allowed}"
    ),
    "g.watch": (
        "Guardrail `{metric}` to watch for {b}: {diff} over {a} (CI {low} to {high}) is above "
        "the allowed {allowed}, not yet proven"
    ),
    "g.ok": (
        "Guardrail `{metric}` holds for {b}: {diff} over {a} (CI {low} to {high}), "
        "allowed {allowed}"
    ),
    "g.few": "Guardrail `{metric}` for {b}: too few {units} with data yet ({nb} and {na})",
    "n.switched": (
        "{n} {units} saw more than one variant (their bucket moved when the weights changed); "
        "each counts in the variant it saw first"
    ),
    "n.orphans": (
        "{n} outcome event(s) came from {units} with no exposure and were left out (e.g. "
        "unit '{example}')"
    ),
    "n.none": "No exposures yet: the experiment is {status}",
    "h.title": "Experiment {name} · {status} · revision {revision} · ramp {ramp}%",
    "h.variant": "variant",
    "h.units": "units",
    "h.share": "share",
    "h.metric": "metric",
    "h.mean": "mean (95% CI, clustered)",
    "h.verdicts": "Verdicts",
    "h.guardrails": "Guardrails",
    "h.srm": "Sample ratio",
    "h.notes": "Notes",
}

JA: dict[str, str] = {
    "unit.user": "ユーザー",
    "unit.session": "セッション",
    "unit.conversation": "会話",
    "better.higher": "高いほど良い",
    "better.lower": "低いほど良い",
    "v.better": (
        "{b} は {a} より `{metric}`（{better}）で良い: {diff}"
        "（常時有効 {level}%CI {low}〜{high}）、"
        "{nb} 対 {na} {units}; {stop} {units}の時点で決着。何度途中で見ても有効"
    ),
    "v.worse": (
        "{b} は {a} より `{metric}`（{better}）で悪い: {diff}"
        "（常時有効 {level}%CI {low}〜{high}）、"
        "{nb} 対 {na} {units}; {stop} {units}の時点で決着。何度途中で見ても有効"
    ),
    "v.open": (
        "`{metric}` の {b} 対 {a} はまだ決着していない: {diff}"
        "（常時有効 {level}%CI {low}〜{high}）、"
        "{nb} 対 {na} {units}。続けてください（明日また見てもかまいません）"
    ),
    "v.few": (
        "`{metric}` の {b} 対 {a} はまだ{units}が少ない（データあり {nb} と {na}）。"
        "検定は各バリアント {min} から始まります"
    ),
    "v.drift": (
        "`{metric}` の {b} 対 {a}: 途中の区間同士が重ならない（効果が時間とともに変わっている）。"
        "現在 {diff}。判定なし"
    ),
    "v.bonferroni": (
        "判定と区間は {m} 個の検定（結果指標 {k} 個 × 対照との比較 {c} 個）で Bonferroni 補正済み: "
        "各 α = {alpha}"
    ),
    "srm.bad": (
        "サンプル比の不一致 (SRM): 割当では {expected} のはずが {counts} {units}"
        "（e値 {e}、χ² p {p}）。割当かログがあるバリアントの単位を落としています。"
        "以下の比較は偏っている可能性があり、原因を直すまで信用しないでください"
    ),
    "srm.ok": "サンプル比は割当どおり: {counts} {units}（期待 {expected}、χ² p {p}）",
    "g.breach": (
        "ガードレール `{metric}` を {b} が超過: {a} より {diff}（常時有効 CI {low}〜{high}）、"
        "許容 {allowed}"
    ),
    "g.watch": (
        "ガードレール `{metric}` は {b} で要注意: {a} より {diff}（CI {low}〜{high}）が許容 "
        "{allowed} を上回るが、まだ確定ではない"
    ),
    "g.ok": (
        "ガードレール `{metric}` は {b} で守られている: {a} より {diff}（CI {low}〜{high}）、"
        "許容 {allowed}"
    ),
    "g.few": "ガードレール `{metric}` の {b}: データのある{units}がまだ少ない（{nb} と {na}）",
    "n.switched": (
        "{n} {units}が複数のバリアントを見ました（重みの変更でバケットが移動）。"
        "それぞれ最初に見たバリアントで数えています"
    ),
    "n.orphans": (
        "露出のない{units}からの結果イベント {n} 件は除外しました（例: ユニット '{example}'）"
    ),
    "n.none": "まだ露出がありません: 実験の状態は {status}",
    "h.title": "実験 {name} · {status} · リビジョン {revision} · ランプ {ramp}%",
    "h.variant": "バリアント",
    "h.units": "単位数",
    "h.share": "割当",
    "h.metric": "指標",
    "h.mean": "平均（95%CI、単位でクラスタ化）",
    "h.verdicts": "判定",
    "h.guardrails": "ガードレール",
    "h.srm": "サンプル比",
    "h.notes": "注記",
}

CATALOGS = {"en": EN, "ja": JA}


def m(lang: Lang, key: str, **fields: object) -> str:
    template = CATALOGS.get(lang, EN).get(key) or EN[key]
    return template.format(**fields)
