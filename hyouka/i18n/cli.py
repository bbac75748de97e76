"""The CLI's plain-language messages in English and Japanese.

Language: ``--lang`` wins, then ``HYOUKA_LANG``, then the locale in ``LC_ALL`` / ``LC_MESSAGES``
/ ``LANG`` (``ja_JP.UTF-8`` → Japanese); anything else is English. Every key exists in both
catalogs (a test checks it), and placeholders are ``str.format`` fields.
"""

from __future__ import annotations

import os
from typing import Literal

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

EN: dict[str, str] = {
    # -- hyouka compare: verdict sentences
    "compare.better": (
        "{b} is better than {a} on `{metric}`{lower}: {diff} ({level}% CI {low} to {high}), "
        "{share}% of cases favour {b}"
    ),
    "compare.worse": (
        "{b} is worse than {a} on `{metric}`{lower}: {diff} ({level}% CI {low} to {high}), "
        "{share}% of cases favour {a}"
    ),
    "compare.spread": "; the difference is {ratio}× the sample-to-sample spread",
    "compare.noise": (
        "Not distinguishable from noise on `{metric}`{lower}: {diff} ({level}% CI {low} to {high})"
    ),
    "compare.more": "; about {cases} more cases{alts} would settle a {delta} difference",
    "compare.equivalent": (
        "; the whole interval lies within ±{delta}, so any real difference is smaller than {delta}"
    ),
    "compare.undecided": (
        "; the interval still reaches beyond ±{delta}, so it shows neither a difference nor "
        "equivalence within ±{delta}"
    ),
    "compare.alts": " (or {items})",
    "compare.alt_sep": ", or ",
    "compare.alt_samples": "{k} samples per case",
    "compare.alt_seeds": "{n} more seeds",
    "compare.same": "{a} and {b} scored the same on all {n} cases on `{metric}`",
    "compare.lower": " (lower is better)",
    "compare.seed": (
        "Across seeds ({na} vs {nb}) on `{metric}`: {diff} ({level}% CI {low} to {high}), p {p}"
    ),
    "compare.seed_more": "; about {n} more seeds per arm would settle a {delta} difference",
    "compare.few_seeds": (
        "; with 3 or fewer seeds per arm the t-test leans on normality (an exact permutation "
        "test cannot even reach p < 0.1)"
    ),
    "compare.seed_but": (
        "But across seeds ({na} vs {nb}), which is what carries over to a new fine-tune, "
        "`{metric}` is not clearly different: {diff} ({level}% CI {low} to {high}), p {p}"
    ),
    "compare.holm": (
        "p-values and the intervals beside the verdicts are Holm-adjusted across {n} tests "
        "({metrics}): each such interval is at the level Holm tested its metric at, so it "
        "excludes 0 exactly when the verdict says there is a difference; “more cases” plans "
        "for α/{n}; the A and B columns are not adjusted"
    ),
    "compare.holm_pairs": (
        "p-values and the intervals beside the verdicts are Holm-adjusted across {n} tests "
        "({metrics} × {pairs} comparisons): each such interval is at the level Holm tested "
        "its metric at, so it excludes 0 exactly when the verdict says there is a difference; "
        "“more cases” plans for α/{n}; the A and B columns are not adjusted"
    ),
    "compare.n_metrics": "{n} metrics",
    "compare.n_metrics_one": "{n} metric",
    "compare.skipped": "`{metric}` was not compared: {why}",
    "compare.skip.too-few": (
        "only {n} case(s) have scores on both sides, at least {min} are needed ({a}: {mean_a} "
        "over {na} case(s), {b}: {mean_b} over {nb})"
    ),
    "compare.skip.only-a": "only {a} has scores ({na} case(s), mean {mean_a})",
    "compare.skip.only-b": "only {b} has scores ({nb} case(s), mean {mean_b})",
    "compare.skip.none": "neither {a} nor {b} has an ok score",
    "compare.header": "run {run} · {a} → {b} · {cases} cases · seed {seed}",
    "compare.dropped": "{n} case(s) had scores for only one side and were left out",
    "compare.no_metrics": (
        "{a} and {b} share no check metric in run {run}; add checks to hyouka.yaml and run "
        "`hyouka run` again"
    ),
    "col.metric": "metric",
    "col.diff": "B − A",
    "col.ci": "{level}% CI",
    "col.p": "p (adj.)",
    "col.test": "test",
    "col.b_wins": "B better",
    "col.spread": "÷ spread",
    "col.draw": "P(B wins draw)",
    "col.mean": "mean",
    "col.samples": "samples/case",
    "col.level": "CI level",
    "col.rule": "rule",
    "col.cases": "cases",
    "compare.rules": "per-case checks, rule by rule (each covers few cases: shown, not tested)",
    # -- hyouka ranking
    "source.human": "human",
    "source.judge": "judge",
    "ranking.title": "{source} votes: Bradley–Terry ranking ({n} votes, seed {seed})",
    "ranking.none": "no {source} votes",
    "ranking.unfit": "{source} votes cannot be ranked: {reason}",
    "ranking.boot": (
        "{level}% intervals and ± SE from {n_boot} bootstrap rounds that resample {what}"
    ),
    "ranking.sandwich": (
        "{level}% intervals and ± SE: sandwich, robust to correlation within {what}"
    ),
    "ranking.what.rater": "the {n} raters (a rater's votes share their taste)",
    "ranking.what.case": "the {n} cases (votes on one case share it)",
    "ranking.what.vote": "single votes (too few raters or cases to resample)",
    "ranking.prior": (
        "{items}: never lost or never won against the others, so the votes bound the rating on "
        "one side only (shown as ≥ or ≤); the estimate leans on a weak N(0, {sd}²) prior on "
        "the log-odds scale"
    ),
    "ranking.settled": "{pair}: settled, {winner} preferred (e = {e}); you can stop voting",
    "ranking.not_settled": "{pair}: not settled yet, about {n} more votes",
    "ranking.no_lean": "{pair}: not settled yet, no lean either way after {n} decisive votes",
    "ranking.both_bad": "both bad: {rate}% of {source} votes",
    "ranking.wtl": "head to head ({source}): row's wins / ties / losses",
    "col.rank": "rank",
    "col.variant": "variant",
    "col.elo": "Elo",
    "col.se": "± SE",
    "col.share": "share",
    "col.votes": "votes",
    # -- hyouka agreement
    "agreement.title": "campaign {campaign}: agreement ({kind}, {items} items, {raters} raters)",
    "agreement.kind.pairwise": "pairwise winners, nominal",
    "agreement.kind.rating": "1–5 ratings, ordinal",
    "agreement.disputed": "most disputed items",
    "agreement.failed": "(no value in {n} of {boot} resamples; above 5% no interval is given)",
    "agreement.raters": "raters against the others",
    "agreement.groups": "preference by annotator group",
    "agreement.group_prefers": "{group} prefer {winner}",
    "agreement.group_even": "{group}: no clear preference",
    "agreement.groups_differ": "groups differ: χ² p {p}",
    "agreement.groups_same": "no evidence the groups differ (χ² p {p})",
    "agreement.judge": (
        "judge {judge} vs human majority ({kind}, {n} items): accuracy {acc}% ({acc_low}–"
        "{acc_high}%), κ {kappa} ({k_low} to {k_high})"
    ),
    "agreement.judge_hh": "; the humans among themselves: α {alpha}",
    "agreement.ppi": (
        "PPI++ {what}: {est} ({level}% CI {low} to {high}) from {n} human and {big_n} "
        "judge-only items; humans alone: {classic} ± {classic_se}; worth {eff} human labels"
    ),
    "agreement.ppi_few": (
        "PPI++ {what} not estimated: {n} human-labelled items, at least {min} are needed for an "
        "interval that covers (fewer under-cover; --min-labels lowers the floor)"
    ),
    "agreement.ppi_failed": "PPI++ {what} not estimated: {reason}",
    "agreement.ppi.win_rate": "human win rate of {b} over {a}",
    "agreement.ppi.mean": "human rating of {variant}",
    "agreement.ppi.diff": "human rating {b} − {a}",
    "agreement.none": "no human judgments in campaign {campaign} yet",
    "col.coef": "coefficient",
    "col.estimate": "estimate",
    "col.rater": "rater",
    "col.group": "group",
    "col.items": "items",
    "col.bias": "bias",
    "col.agree": "agreement",
    "col.dalpha": "Δα",
    "col.both_bad": "both bad",
    "col.case": "case",
    "col.pair": "outputs",
    "col.said": "what each rater said",
    "col.human_judge": "human \\ judge",
    "col.recall": "judge agrees [95% CI]",
    "col.b_rate": "{b} win rate (ties ½) [95% CI]",
    # -- tables, runs, errors (hyouka run / show / runs)
    "table.dropped": "not shown at this width: {cols} (--json has every field)",
    "run.line": (
        "run {run} ({how}): {done} samples, {calls} calls, {cached} cached, "
        "{skipped} already stored, {errors} errors"
    ),
    "run.new": "new",
    "run.resumed": "resumed",
    "run.bad_rows": "skipped {n} bad row(s):",
    "show.line": "run {run} · {status} · seed {seed} · {samples} sample(s) per case",
    "errors.head": "{n} of {total} samples failed; {k} distinct cause(s):",
    "errors.cause": "{count} × {status} in {variants}",
    "errors.example": "e.g. case {case} #{sample} of {variant}",
    "errors.more": (
        "… {k} more cause(s), {n} samples: `hyouka export {run} -o samples.csv` has every message"
    ),
    "errors.all_failed": (
        "Every sample of run {run} failed: nothing to score or compare. Fix the cause above and "
        "run the same command again (exit code 1)."
    ),
    "config.problems": "{n} problems in the configuration; nothing was run:",
    "config.problem": "a problem in the configuration; nothing was run:",
    "progress.line": (
        "{name}: {done}/{total} samples ({pct}%) · {rate}/s · {errors} errors · {elapsed} s{eta}"
    ),
    "progress.eta": " · about {eta} s left",
    "progress.start": "{name}: {total} samples to produce ({cached} cached, {skipped} stored)",
    # -- hyouka demo
    "demo.found": "what the demo found",
    "demo.best": "{project}: best: {best} — {rest}",
    "demo.no_best": "{project}: no clear best — {best} has the highest mean pass rate: {rest}",
    "demo.no_checks": "{project}: too few shared cases or checks to compare the variants",
    "demo.better_than": "better than {other} on {n}",
    "demo.better": "better on {n}",
    "demo.worse_than": "worse than {other} on {n}",
    "demo.worse": "worse on {n}",
    "demo.noise_than": "not distinguishable from {other} on {n}",
    "demo.noise": "not distinguishable on {n}",
    "demo.checks": "{n} checks",
    "demo.check": "1 check",
    "demo.sep": "; ",
    "demo.part_sep": ", ",
    "demo.verdicts": "{a} → {b}, each check (hyouka compare {a} {b})",
    "compare.noise_pair": (
        "{b} vs {a}: not distinguishable from noise on `{metric}`{lower}: {diff} ({level}% CI "
        "{low} to {high})"
    ),
    # -- hyouka import
    "import.done": (
        "imported {path} ({format}) as run {run}: {samples} samples of {variants}, {scores} "
        "scores, {takes} judge takes"
    ),
    "import.errors": "{n} sample(s) failed in the tool that made them (stored with status error)",
    "import.cases_matched": "cases matched by id in dataset(s): {names}",
    "import.cases_inline": "cases from inline inputs: dataset '{name}' (a new version)",
    "import.skipped": "{n} bad row(s) left out (--skip-bad-rows):",
    "import.already": (
        "{path} was already imported ({format}, sha256 {hash}) as run {run} on {when}: "
        "nothing to do"
    ),
    "import.bad": "{path}: {n} bad row(s) ({good} good); nothing was imported:",
    "import.bad_more": "… and {n} more",
    "import.bad_advice": "Fix the rows, or pass --skip-bad-rows to import the good ones only.",
    "import.bad_none": "No row is good: nothing to import.",
    "import.next": "next: hyouka show {run} · hyouka score {run} · hyouka compare A B --run {run}",
}

JA: dict[str, str] = {
    "compare.better": (
        "{b} は {a} より `{metric}`{lower} で良い: {diff} ({level}%CI {low}〜{high})、"
        "{share}% のケースで {b} が優位"
    ),
    "compare.worse": (
        "{b} は {a} より `{metric}`{lower} で悪い: {diff} ({level}%CI {low}〜{high})、"
        "{share}% のケースで {a} が優位"
    ),
    "compare.spread": "。差はサンプル間のばらつきの {ratio} 倍",
    "compare.noise": (
        "`{metric}`{lower} ではノイズと区別できない: {diff} ({level}%CI {low}〜{high})"
    ),
    "compare.more": "。{delta} の差を見極めるには、あと約 {cases} ケース{alts}必要",
    "compare.equivalent": (
        "。区間全体が ±{delta} の内側にあるので、実際に差があっても {delta} より小さい"
    ),
    "compare.undecided": (
        "。区間が ±{delta} の外まで広がっており、差があるとも ±{delta} 以内で同等とも言えない"
    ),
    "compare.alts": "（または{items}）",
    "compare.alt_sep": "、または",
    "compare.alt_samples": " 1 ケースあたり {k} サンプル",
    "compare.alt_seeds": "シードをあと {n} 本",
    "compare.same": "`{metric}` では {a} と {b} の結果が全 {n} ケースで同じ",
    "compare.lower": "（低いほど良い）",
    "compare.seed": (
        "シード単位（{na} 本 対 {nb} 本）の `{metric}`: {diff} ({level}%CI {low}〜{high})、p {p}"
    ),
    "compare.seed_more": "。{delta} の差を見極めるには、各群あと約 {n} 本のシードが必要",
    "compare.few_seeds": (
        "。各群 3 本以下では t 検定は正規分布の仮定頼み（正確な並べ替え検定では p < 0.1 に"
        "すら届かない）"
    ),
    "compare.seed_but": (
        "ただし、新しいファインチューニングに当てはまるシード単位（{na} 本 対 {nb} 本）では "
        "`{metric}` の差ははっきりしない: {diff} ({level}%CI {low}〜{high})、p {p}"
    ),
    "compare.holm": (
        "p 値と判定に添えた区間は {n} 件の検定（{metrics}）について Holm 法で補正済み。"
        "各区間は Holm 法がその指標を検定した水準の区間なので、差があると判定したときに限り "
        "0 を含まない。「あと何ケース」は α/{n} で計算。A・B 各列の区間は補正なし"
    ),
    "compare.holm_pairs": (
        "p 値と判定に添えた区間は {n} 件の検定（{metrics} × {pairs} 比較）について Holm 法で"
        "補正済み。各区間は Holm 法がその指標を検定した水準の区間なので、差があると判定したとき"
        "に限り 0 を含まない。「あと何ケース」は α/{n} で計算。A・B 各列の区間は補正なし"
    ),
    "compare.n_metrics": "{n} 指標",
    "compare.n_metrics_one": "{n} 指標",
    "compare.skipped": "`{metric}` は比較していません: {why}",
    "compare.skip.too-few": (
        "両方にスコアがあるケースが {n} 件しかなく、{min} 件以上必要（{a}: {na} ケースで "
        "{mean_a}、{b}: {nb} ケースで {mean_b}）"
    ),
    "compare.skip.only-a": "スコアがあるのは {a} だけ（{na} ケース、平均 {mean_a}）",
    "compare.skip.only-b": "スコアがあるのは {b} だけ（{nb} ケース、平均 {mean_b}）",
    "compare.skip.none": "{a} にも {b} にも正常なスコアがない",
    "compare.header": "実行 {run} · {a} → {b} · {cases} ケース · シード {seed}",
    "compare.dropped": "{n} ケースは片方にしかスコアがないため除外",
    "compare.no_metrics": (
        "実行 {run} で {a} と {b} に共通のチェック指標がありません。hyouka.yaml にチェックを"
        "追加して `hyouka run` をやり直してください"
    ),
    "col.metric": "指標",
    "col.diff": "B − A",
    "col.ci": "{level}%CI",
    "col.p": "p 補正後",
    "col.test": "検定",
    "col.b_wins": "B 優位",
    "col.spread": "差÷揺らぎ",
    "col.draw": "単発 B 勝率",
    "col.mean": "平均",
    "col.samples": "サンプル/ケース",
    "col.level": "信頼水準",
    "col.rule": "ルール",
    "col.cases": "ケース",
    "compare.rules": "ケースごとのチェック（ルール別。対象ケースが少ないため検定せず表示のみ）",
    "source.human": "人",
    "source.judge": "ジャッジ",
    "ranking.title": "{source}の票: Bradley–Terry 順位（{n} 票、シード {seed}）",
    "ranking.none": "{source}の票はまだありません",
    "ranking.unfit": "{source}の票では順位を出せません: {reason}",
    "ranking.boot": "{level}% 区間と ± SE は {what}を再標本化するブートストラップ {n_boot} 回から",
    "ranking.sandwich": "{level}% 区間と ± SE はサンドイッチ推定（{what}内の相関に頑健）",
    "ranking.what.rater": "評価者 {n} 人（同じ人の票は好みを共有する）",
    "ranking.what.case": "ケース {n} 件（同じケースの票はそのケースを共有する）",
    "ranking.what.vote": "票 1 件ずつ（評価者もケースも少なすぎるため）",
    "ranking.prior": (
        "{items}: 他に一度も負けていない（または勝っていない）ため、票から言えるのは片側の"
        "限界だけ（≥ / ≤ で表示）。推定値は対数オッズ尺度の弱い事前分布 N(0, {sd}²) に頼っている"
    ),
    "ranking.settled": "{pair}: 決着、{winner} が好まれる（e = {e}）。投票を止めてよい",
    "ranking.not_settled": "{pair}: 未決着、あと約 {n} 票",
    "ranking.no_lean": "{pair}: 未決着、勝敗のついた {n} 票でどちらにも傾いていない",
    "ranking.both_bad": "「両方悪い」: {source}の票の {rate}%",
    "ranking.wtl": "直接対決（{source}）: 行から見た 勝 / 分 / 敗",
    "col.rank": "順位",
    "col.variant": "バリアント",
    "col.elo": "Elo",
    "col.se": "± SE",
    "col.share": "シェア",
    "col.votes": "票数",
    "agreement.title": (
        "キャンペーン {campaign}: 一致度（{kind}、{items} アイテム、評価者 {raters} 人）"
    ),
    "agreement.kind.pairwise": "一対比較の勝者、名義尺度",
    "agreement.kind.rating": "1〜5 の評点、順序尺度",
    "agreement.disputed": "意見が最も割れたアイテム",
    "agreement.failed": "（{boot} 回中 {n} 回の再標本で値なし。5% を超えると区間は出さない）",
    "agreement.raters": "評価者ごとの傾向（他の評価者との比較）",
    "agreement.groups": "評価者グループ別の好み",
    "agreement.group_prefers": "{group} は {winner} を好む",
    "agreement.group_even": "{group}: 明確な好みなし",
    "agreement.groups_differ": "グループ間で好みが異なる: χ² p {p}",
    "agreement.groups_same": "グループ間の差は確認できない（χ² p {p}）",
    "agreement.judge": (
        "ジャッジ {judge} と人の多数決（{kind}、{n} アイテム）: 一致率 {acc}%（{acc_low}〜"
        "{acc_high}%）、κ {kappa}（{k_low}〜{k_high}）"
    ),
    "agreement.judge_hh": "。人どうしの α は {alpha}",
    "agreement.ppi": (
        "PPI++ による{what}: {est} ({level}%CI {low}〜{high})、人手 {n} 件とジャッジのみ "
        "{big_n} 件から推定。人手のみでは {classic} ± {classic_se}。人手ラベル {eff} 件分の精度"
    ),
    "agreement.ppi_few": (
        "PPI++ の{what}は推定していません: 人のラベルが {n} 件で、正しく覆う区間には {min} 件以上"
        "必要（少ないと区間が狭すぎる。--min-labels で下限を変更可）"
    ),
    "agreement.ppi_failed": "PPI++ の{what}は推定していません: {reason}",
    "agreement.ppi.win_rate": "{b} の {a} に対する人の勝率",
    "agreement.ppi.mean": "{variant} の人の評点",
    "agreement.ppi.diff": "人の評点の差 {b} − {a}",
    "agreement.none": "キャンペーン {campaign} にはまだ人の判定がありません",
    "col.coef": "係数",
    "col.estimate": "推定値",
    "col.rater": "評価者",
    "col.group": "グループ",
    "col.items": "件数",
    "col.bias": "甘さ",
    "col.agree": "一致率",
    "col.dalpha": "Δα",
    "col.both_bad": "両方悪い",
    "col.case": "ケース",
    "col.pair": "出力",
    "col.said": "各評価者の判定",
    "col.human_judge": "人 \\ ジャッジ",
    "col.recall": "ジャッジ一致率 [95%CI]",
    "col.b_rate": "{b} の勝率（引き分け ½）[95%CI]",
    "table.dropped": "この幅では省略: {cols}（--json で全項目）",
    "run.line": (
        "実行 {run}（{how}）: {done} サンプル、呼び出し {calls} 回、キャッシュ {cached}、"
        "保存済み {skipped}、エラー {errors}"
    ),
    "run.new": "新規",
    "run.resumed": "再開",
    "run.bad_rows": "不正な行 {n} 件を飛ばしました:",
    "show.line": "実行 {run} · {status} · シード {seed} · 1 ケースあたり {samples} サンプル",
    "errors.head": "{total} サンプル中 {n} 件が失敗。原因は {k} 種類:",
    "errors.cause": "{count} 件 {status}（{variants}）",
    "errors.example": "例: {variant} のケース {case} #{sample}",
    "errors.more": (
        "… ほかに原因 {k} 種類（{n} 件）。全メッセージは `hyouka export {run} -o samples.csv` で"
    ),
    "errors.all_failed": (
        "実行 {run} は全サンプルが失敗したため、採点も比較もできません。上の原因を直して同じ"
        "コマンドをもう一度実行してください（終了コード 1）。"
    ),
    "config.problems": "設定に {n} 件の問題があるため、何も実行していません:",
    "config.problem": "設定に問題があるため、何も実行していません:",
    "progress.line": (
        "{name}: {done}/{total} サンプル（{pct}%）· {rate} 件/秒 · エラー {errors} · {elapsed} 秒"
        "{eta}"
    ),
    "progress.eta": " · 残り約 {eta} 秒",
    "progress.start": (
        "{name}: 生成するサンプル {total} 件（キャッシュ {cached}、保存済み {skipped}）"
    ),
    "demo.found": "デモでわかったこと",
    "demo.best": "{project}: 最良は {best} — {rest}",
    "demo.no_best": ("{project}: はっきりした最良はない — 平均合格率が最も高い {best} は、{rest}"),
    "demo.no_checks": "{project}: 共通のケースかチェックが少なすぎて、バリアントを比較できません",
    "demo.better_than": "{other} より {n}で良い",
    "demo.better": "{n}で良い",
    "demo.worse_than": "{other} より {n}で悪い",
    "demo.worse": "{n}で悪い",
    "demo.noise_than": "{other} とは {n}で区別できない",
    "demo.noise": "{n}で区別できない",
    "demo.checks": "{n} 項目",
    "demo.check": "1 項目",
    "demo.sep": "；",
    "demo.part_sep": "、",
    "demo.verdicts": "{a} → {b}、チェックごと（hyouka compare {a} {b}）",
    "compare.noise_pair": (
        "{b} と {a} は `{metric}`{lower} ではノイズと区別できない: {diff} ({level}%CI "
        "{low}〜{high})"
    ),
    # -- hyouka import
    "import.done": (
        "{path}（{format}）を実行 {run} として取り込みました: {variants} のサンプル {samples} 件、"
        "スコア {scores} 件、審査員の判定 {takes} 件"
    ),
    "import.errors": "{n} 件のサンプルは元のツールで失敗していました（status error で保存）",
    "import.cases_matched": "ケースは id でデータセットと照合: {names}",
    "import.cases_inline": "インライン入力からケースを作成: データセット '{name}'（新しい版）",
    "import.skipped": "不正な {n} 行を除外しました（--skip-bad-rows）:",
    "import.already": (
        "{path} は取り込み済みです（{format}、sha256 {hash}、実行 {run}、{when}）: 何もしません"
    ),
    "import.bad": "{path}: 不正な行が {n} 行（正しい行 {good}）。何も取り込んでいません:",
    "import.bad_more": "… ほか {n} 件",
    "import.bad_advice": "行を直すか、--skip-bad-rows で正しい行だけを取り込んでください。",
    "import.bad_none": "正しい行がありません。取り込むものはありません。",
    "import.next": "次に: hyouka show {run} · hyouka score {run} · hyouka compare A B --run {run}",
}

CATALOGS: dict[Lang, dict[str, str]] = {"en": EN, "ja": JA}


def resolve_lang(explicit: str | None = None) -> Lang:
    """``explicit`` (``--lang``), else ``HYOUKA_LANG``, else the locale; default English."""
    for value in (explicit, os.environ.get("HYOUKA_LANG")):
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def t(lang: Lang, key: str, **fields: object) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in (English if ``lang`` lacks it)."""
    template = CATALOGS.get(lang, EN).get(key) or EN[key]
    return template.format(**fields)
