"""The report's words in English and Japanese (every key exists in both; a test checks it)."""

from __future__ import annotations

EN: dict[str, str] = {
    "title": "hyouka report",
    "subtitle": "Project {project} · run {run} · {date}",
    "generated": "Generated {when} by hyouka {version}. One file: it opens offline.",
    "nav": "Contents",
    "summary": "Summary",
    "variant": "Variant",
    "version": "Version",
    "samples": "Samples",
    "errors": "Errors",
    "p50": "p50 latency",
    "cost": "Cost",
    "cases": "{n} cases · {k} sample(s) per case · seed {seed}",
    "variants": "Variants with confidence intervals",
    "variants_help": (
        "Each variant's mean on each check with its 95% interval. Intervals respect that "
        "samples of one case are not independent (Wilson for one pass/fail per case, else a "
        "case-level bootstrap)."
    ),
    "metric": "Metric",
    "mean": "Mean",
    "interval": "95% interval",
    "method": "Method",
    "forest": "Paired differences against the baseline",
    "forest_help": (
        "B − A per case over all samples, with a case-level bootstrap interval; filled marks are "
        "significant after Holm's correction over {n} tests. Right of the dashed line: B is "
        "higher (better unless the metric is lower-is-better)."
    ),
    "baseline": "Baseline: {name}",
    "difference": "Difference",
    "p_adjusted": "Holm p",
    "share_b": "Cases favouring B",
    "significant": "significant",
    "not_significant": "not significant",
    "gacha": "The gacha: per-case spread of samples",
    "gacha_help": (
        "Every sample of every case on {metric} (the {shown} cases of {n} whose samples differ "
        "most). Dots are samples, ticks are case means: when the dots of one variant spread "
        "wider than the gap between variants, one run's ranking is luck."
    ),
    "within_sd": "Typical sample-to-sample spread (SD within a case)",
    "ranking": "Bradley–Terry ranking from pairwise votes",
    "ranking_help": (
        "Elo-scale strengths (1000 = average) from {source} votes, with bootstrap intervals; "
        "rank 1 + the number of variants clearly ahead. Ties and 'both bad' count as half."
    ),
    "source_human": "human",
    "source_judge": "LLM judge",
    "rank": "Rank",
    "rating": "Rating",
    "votes": "{n} votes; 'both bad' {rate}",
    "agreement": "Rater agreement and the most disputed items",
    "agreement_help": (
        "How much the people agree beyond chance, with bootstrap intervals over items; 1 is "
        "perfect, 0 is chance. The disputed items are where a rubric or a guideline is unclear."
    ),
    "campaign": "Campaign {name}: {n} judgments",
    "judged_run": "People and judges judged run {run}; their numbers below come from it.",
    "kind_pairwise": "pairwise verdicts",
    "kind_rating": "1–5 ratings",
    "coefficient": "Coefficient",
    "estimate": "Estimate",
    "items_raters": "{items} items, {raters} raters",
    "disputed": "Most disputed",
    "case": "Case",
    "said": "What each person said",
    "judge_human": "LLM judge vs human agreement",
    "judge_help": (
        "Each judge's verdicts against the human majority on the same items: accuracy (Wilson "
        "interval) and Cohen's κ (bootstrap). A judge that agrees about as well as the humans "
        "agree with each other can stand in for them."
    ),
    "judge": "Judge",
    "accuracy": "Accuracy",
    "kappa": "κ",
    "human_alpha": "Humans' own α",
    "complaints": "Complaint log",
    "complaints_help": (
        "Every group of complaints and where it stands: open (no check yet), check accepted "
        "(it runs on every variant), fixed (a later version passes it), or rejected."
    ),
    "complaint": "Complaint",
    "raised": "Raised",
    "status": "Status",
    "st_open": "open",
    "st_proposed": "open (check proposed)",
    "st_accepted": "check accepted",
    "st_fixed": "fixed in {variant} on {date}",
    "st_rejected": "rejected",
    "triggered_by": "still triggered by {variants}",
    "pending": "Not proposed yet",
    "triggered": "Complaints each variant still triggers",
    "triggered_none": "triggers no accepted complaint check",
    "failing": "{failed}/{n} samples fail",
    "speed": "Loop speed",
    "speed_help": (
        "From a complaint to the first variant version that passes its check. Median time to "
        "fix: {median} ({fixed} fixed, {accepted} accepted but not fixed yet, {open} open)."
    ),
    "days": "{d:.1f} days",
    "hours": "{h:.1f} hours",
    "minutes": "{m:.0f} minutes",
    "no_fix_yet": "no fix yet",
    "fixed_mark": "fixed",
    "open_mark": "still open",
    "empty": "Nothing to show: {why}",
    "none": "none",
    "note_one_variant": "the run has one variant: nothing to compare",
    "note_no_votes": "no pairwise votes yet",
    "note_no_humans": "no human judgments yet",
    "note_no_judges": "no LLM judge verdicts on the items people judged",
    "note_no_overlap": "fewer than two people judged the same items",
    "note_no_complaints": "no complaints yet",
    "examples": "Example outputs behind each difference",
    "examples_help": (
        "For each difference, the cases that push it the most (largest B − A the way it went), "
        "with the first sample of each side."
    ),
    "example_title": "{b} vs {a} on {metric}",
    "example_case": "case {case}: B − A {diff}",
    "input": "Input",
}

JA: dict[str, str] = {
    "title": "hyouka レポート",
    "subtitle": "プロジェクト {project} · 実行 {run} · {date}",
    "generated": "{when} に hyouka {version} で作成。1 ファイルでオフラインでも開けます。",
    "nav": "目次",
    "summary": "概要",
    "variant": "バリアント",
    "version": "バージョン",
    "samples": "サンプル数",
    "errors": "エラー",
    "p50": "応答時間 p50",
    "cost": "コスト",
    "cases": "{n} ケース · 1 ケースあたり {k} サンプル · シード {seed}",
    "variants": "バリアントごとの結果と信頼区間",
    "variants_help": (
        "各チェックでの各バリアントの平均と 95% 区間。同じケースのサンプルは独立ではないことを"
        "考慮しています（1 ケース 1 回の合否は Wilson、それ以外はケース単位のブートストラップ）。"
    ),
    "metric": "指標",
    "mean": "平均",
    "interval": "95% 区間",
    "method": "方法",
    "forest": "ベースラインとの対応のある差",
    "forest_help": (
        "ケースごとに全サンプルで B − A を求め、ケース単位のブートストラップで区間を出しています。"
        "塗りつぶしの印は Holm 補正（{n} 件の検定）後も有意な差です。点線より右は B が高い"
        "（低いほど良い指標を除き、B が良い）。"
    ),
    "baseline": "ベースライン: {name}",
    "difference": "差",
    "p_adjusted": "Holm 補正 p",
    "share_b": "B が良いケースの割合",
    "significant": "有意",
    "not_significant": "有意でない",
    "gacha": "ガチャ：ケースごとのサンプルのばらつき",
    "gacha_help": (
        "{metric} について、各ケースの全サンプル（{n} ケースのうち、サンプル間の差が大きい "
        "{shown} ケース）。点がサンプル、縦線がケース平均です。同じバリアントの点の広がりが"
        "バリアント間の差より大きければ、1 回の実行での順位は運です。"
    ),
    "within_sd": "ケース内のサンプル間のばらつき（標準偏差）",
    "ranking": "一対比較の投票による Bradley–Terry ランキング",
    "ranking_help": (
        "{source}の投票から求めた強さ（Elo 尺度、1000 が平均）とブートストラップ区間。"
        "順位は「はっきり上回るバリアントの数 + 1」。引き分けと「両方だめ」は 0.5 として数えます。"
    ),
    "source_human": "人",
    "source_judge": "LLM 審査員",
    "rank": "順位",
    "rating": "レーティング",
    "votes": "{n} 票・「両方だめ」{rate}",
    "agreement": "評価者間の一致と意見が割れた項目",
    "agreement_help": (
        "偶然を超えて評価者がどれだけ一致しているか（項目単位のブートストラップ区間つき）。"
        "1 が完全一致、0 が偶然と同程度。意見が割れた項目は、採点基準や指示が曖昧な箇所です。"
    ),
    "campaign": "キャンペーン {name}: {n} 件の判定",
    "judged_run": "人と審査員が判定したのは実行 {run} です。以下の数値はその実行のものです。",
    "kind_pairwise": "一対比較の判定",
    "kind_rating": "1〜5 の評価",
    "coefficient": "係数",
    "estimate": "推定値",
    "items_raters": "{items} 項目・評価者 {raters} 人",
    "disputed": "意見が最も割れた項目",
    "case": "ケース",
    "said": "各評価者の判定",
    "judge_human": "LLM 審査員と人の一致",
    "judge_help": (
        "同じ項目での人の多数決と各審査員の判定の一致：正解率（Wilson 区間）と Cohen の κ"
        "（ブートストラップ）。人同士と同程度に一致する審査員なら、人の代わりに使えます。"
    ),
    "judge": "審査員",
    "accuracy": "正解率",
    "kappa": "κ",
    "human_alpha": "人同士の α",
    "complaints": "苦情の記録",
    "complaints_help": (
        "苦情のグループごとの状態：未対応（チェックなし）、チェック採用（全バリアントで実行）、"
        "修正済み（後のバージョンが合格）、却下。"
    ),
    "complaint": "苦情",
    "raised": "報告日",
    "status": "状態",
    "st_open": "未対応",
    "st_proposed": "未対応（チェック提案中）",
    "st_accepted": "チェック採用",
    "st_fixed": "{date} に {variant} で修正",
    "st_rejected": "却下",
    "triggered_by": "まだ該当: {variants}",
    "pending": "未提案",
    "triggered": "各バリアントがまだ該当する苦情",
    "triggered_none": "採用済みの苦情チェックにすべて合格",
    "failing": "{n} サンプル中 {failed} 件が不合格",
    "speed": "改善の速さ",
    "speed_help": (
        "苦情から、そのチェックに合格する最初のバリアントのバージョンまで。修正までの時間の"
        "中央値: {median}（修正済み {fixed} 件、採用済み・未修正 {accepted} 件、"
        "未対応 {open} 件）。"
    ),
    "days": "{d:.1f} 日",
    "hours": "{h:.1f} 時間",
    "minutes": "{m:.0f} 分",
    "no_fix_yet": "まだ修正なし",
    "fixed_mark": "修正済み",
    "open_mark": "未修正",
    "empty": "表示できるデータがありません: {why}",
    "none": "なし",
    "note_one_variant": "この実行のバリアントは 1 つだけで、比較できません",
    "note_no_votes": "一対比較の投票がまだありません",
    "note_no_humans": "人の判定がまだありません",
    "note_no_judges": "人が判定した項目に LLM 審査員の判定がありません",
    "note_no_overlap": "同じ項目を判定した人が 2 人未満です",
    "note_no_complaints": "苦情はまだありません",
    "examples": "差の根拠になった出力例",
    "examples_help": (
        "各差について、その向きに最も強く効いたケース(B − A が最も大きい順)と、両側の最初の"
        "サンプルの出力です。"
    ),
    "example_title": "{metric} での {b} と {a}",
    "example_case": "ケース {case}: B − A {diff}",
    "input": "入力",
}

CATALOGS = {"en": EN, "ja": JA}


class Words:
    """``w("key", **fields)``: the text in the report's language."""

    def __init__(self, lang: str) -> None:
        self.lang = "ja" if lang == "ja" else "en"
        self.table = CATALOGS[self.lang]

    def __call__(self, key: str, **fields: object) -> str:
        return (self.table.get(key) or EN[key]).format(**fields)
