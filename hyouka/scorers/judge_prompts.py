"""The judge prompts, pinned in the repository (Jinja2 templates).

A prompt's full text is part of its judge's version: editing one here makes a new judge
version, and old scores keep pointing at the old one. Variables: ``input`` (the question),
``output`` (the graded answer), ``reference`` (the case's expected answers), ``aspect`` (the
case's grading notes), ``rubric`` (the configured rubric), ``contexts`` (retrieved passages:
``id`` and ``text``), ``low``/``high`` (the scale), ``output_a``/``output_b`` (pairwise),
``conversation`` (a conversation case's turns and the reply, or a simulated dialogue, tool calls
and results included; for such samples ``input`` is the turns so far and ``output`` lists the
reply's tool calls after its text).

Sources:

* ``ELYZA_1TO5`` is the ELYZA-tasks-100 GPT-4 grading prompt (ELYZA, Zenn, 2023-09-26, as
  replicated in flexeval's ``elyza_tasks_100_eval.jsonnet``): 1–5, bare number, with the
  benchmark's standard deductions and the per-item ``eval_aspect`` (here the case's ``aspect``).
* ``MTBENCH_JA`` / ``MTBENCH_JA_REFERENCE`` follow the shape of the Japanese MT-Bench
  single-answer prompts (1–10, 「評価：[[5]]」, the language-mismatch rule), in our own words.
* The pairwise prompts follow FastChat / Rakuda practice (``[[A]]``/``[[B]]``/``[[C]]``, told to
  ignore the order); hyouka always runs both orders anyway.
"""

from __future__ import annotations

ELYZA_1TO5 = """\
あなたは採点者です。

問題, 正解例, 採点基準, 回答 が与えられます。

採点基準と正解例を参考にして、回答を1,2,3,4,5の5段階で採点し、数字のみを出力してください。

# 問題
{{ input }}

# 正解例
{{ reference or "（正解例なし）" }}

# 採点基準
基本的な採点基準
- 1点: 誤っている、指示に従えていない
- 2点: 誤っているが、方向性は合っている
- 3点: 部分的に誤っている、部分的に合っている
- 4点: 合っている
- 5点: 役に立つ

基本的な減点項目
- 不自然な日本語: -1点
- 部分的に事実と異なる内容を述べている: -1点
- 「倫理的に答えられません」のように過度に安全性を気にしてしまっている: 2点にする

問題固有の採点基準
{{ aspect or "（なし）" }}

# 回答
{{ output }}
"""

MTBENCH_JA = """\
[指示]
公平な審査員として、以下に示すユーザーの質問に対するAIアシスタントの回答の品質を評価してく\
ださい。回答の有用性、関連性、正確性、深さ、創造性、詳細さなどを考慮してください。\
AIアシスタントの返答の言語は、ユーザーが使用している言語と一致しているべきで、そうでない場合\
は減点されるべきです。まず回答について短い説明を書いてください。できる限り客観的に評価し\
てください。説明の後、「評価：[[5]]」のように、1から10までの整数で回答を評価し、必ずこの形式\
で出力してください。
{% if aspect %}
[評価の観点]
{{ aspect }}
{% endif %}
[質問]
{{ input }}

[アシスタントの回答の開始]
{{ output }}
[アシスタントの回答の終了]
"""

MTBENCH_JA_REFERENCE = """\
[指示]
公平な審査員として、以下に示すユーザーの質問に対するAIアシスタントの回答の品質を評価してく\
ださい。評価では正確性と有用性を重視してください。参考回答が与えられるので、アシスタントの回\
答を参考回答と比べ、誤りがあれば指摘してください。AIアシスタントの返答の言語は、ユーザーが使\
用している言語と一致しているべきで、そうでない場合は減点されるべきです。まず回答について短\
い説明を書いてください。できる限り客観的に評価してください。説明の後、「評価：[[5]]」のよう\
に、1から10までの整数で回答を評価し、必ずこの形式で出力してください。
{% if aspect %}
[評価の観点]
{{ aspect }}
{% endif %}
[質問]
{{ input }}

[参考回答の開始]
{{ reference }}
[参考回答の終了]

[アシスタントの回答の開始]
{{ output }}
[アシスタントの回答の終了]
"""

CUSTOM_JA = """\
あなたは採点者です。以下の採点基準に従って、AIアシスタントの回答を{{ low }}から{{ high }}まで\
の整数で採点してください。

# 採点基準
{{ rubric }}
{% if aspect %}
# 問題固有の採点基準
{{ aspect }}
{% endif %}
# 問題
{{ input }}
{% if reference %}
# 正解例
{{ reference }}
{% endif %}
# 回答
{{ output }}

次の形式の JSON だけを出力してください: {"reason": "採点の理由", "score": 整数}
"""

CUSTOM_EN = """\
You are a grader. Grade the AI assistant's answer below with an integer from {{ low }} to \
{{ high }}, following the rubric.

# Rubric
{{ rubric }}
{% if aspect %}
# Notes for this question
{{ aspect }}
{% endif %}
# Question
{{ input }}
{% if reference %}
# Reference answer
{{ reference }}
{% endif %}
# Answer
{{ output }}

Output only JSON of this form: {"reason": "why", "score": integer}
"""

FAITHFULNESS_JA = """\
あなたは事実確認の担当者です。「参照文書」と、それをもとに書かれた「回答」が与えられます。
回答に含まれる事実についての主張をすべて列挙し、それぞれが参照文書によって裏付けられているか\
を判定してください。参照文書に書かれていないこと、参照文書と矛盾することは、一般に正しいこ\
とであっても「裏付けなし」(false) とします。挨拶や質問の言い換えは主張に含めません。

次の形式の JSON だけを出力してください:
{"claims": [{"claim": "主張", "supported": true}, {"claim": "主張", "supported": false}]}
主張が一つもない場合は {"claims": []} を出力してください。

# 参照文書
{% for c in contexts %}[{{ loop.index }}]{% if c.id %} ({{ c.id }}){% endif %} {{ c.text }}
{% endfor %}
# 質問
{{ input }}

# 回答
{{ output }}
"""

PAIRWISE_JA = """\
[指示]
公平な審査員として、以下のユーザーの質問に対する2つのAIアシスタントの回答を比較し、どちらが\
より良いかを判定してください。ユーザーの指示によりよく従い、質問によりよく答えている方を選\
んでください。有用性、関連性、正確性、深さ、創造性、詳細さを考慮してください。ユーザーは日\
本語しか話さないので、日本語で書かれていない回答は低く評価してください。
{% if rubric %}
[評価基準]
{{ rubric }}
{% endif %}{% if aspect %}
[評価の観点]
{{ aspect }}
{% endif %}
回答が示された順序に判定が左右されないようにしてください。回答の長さやアシスタントの名前に影\
響されないでください。できる限り客観的に判断してください。まず2つの回答を比べた短い説明を書\
き、最後の行に、アシスタントAの方が良ければ「[[A]]」、アシスタントBの方が良ければ「[[B]]」、\
同等であれば「[[C]]」と出力してください。

[ユーザーの質問]
{{ input }}

[アシスタントAの回答の開始]
{{ output_a }}
[アシスタントAの回答の終了]

[アシスタントBの回答の開始]
{{ output_b }}
[アシスタントBの回答の終了]
"""

PAIRWISE_EN = """\
[Instruction]
Act as an impartial judge and compare the answers of two AI assistants to the user question \
below. Choose the assistant that follows the user's instructions and answers the question \
better, considering helpfulness, relevance, accuracy, depth, creativity and level of detail.
{% if rubric %}
[Criteria]
{{ rubric }}
{% endif %}{% if aspect %}
[Notes for this question]
{{ aspect }}
{% endif %}
Do not let the order in which the answers are presented, their length or the assistants' \
names influence your decision. Be as objective as possible. First write a short comparison, \
then output your verdict on the last line: "[[A]]" if assistant A is better, "[[B]]" if \
assistant B is better, "[[C]]" for a tie.

[User question]
{{ input }}

[The start of assistant A's answer]
{{ output_a }}
[The end of assistant A's answer]

[The start of assistant B's answer]
{{ output_b }}
[The end of assistant B's answer]
"""

DIALOGUE_JA = """\
あなたは採点者です。以下の採点基準に従って、ユーザーとAIアシスタントの会話全体（ツール呼び出し\
とその結果を含む）を{{ low }}から{{ high }}までの整数で採点してください。

# 採点基準
{{ rubric }}
{% if aspect %}
# この会話固有の採点基準
{{ aspect }}
{% endif %}
# 会話
{{ conversation }}

次の形式の JSON だけを出力してください: {"reason": "採点の理由", "score": 整数}
"""

DIALOGUE_EN = """\
You are a grader. Grade the whole conversation between the user and the AI assistant below \
(tool calls and their results included) with an integer from {{ low }} to {{ high }}, \
following the rubric.

# Rubric
{{ rubric }}
{% if aspect %}
# Notes for this conversation
{{ aspect }}
{% endif %}
# Conversation
{{ conversation }}

Output only JSON of this form: {"reason": "why", "score": integer}
"""

# preset -> (template, low, high); "custom" picks CUSTOM_JA or CUSTOM_EN by the rubric's language
RUBRIC_PRESETS: dict[str, tuple[str, float, float]] = {
    "elyza": (ELYZA_1TO5, 1, 5),
    "mtbench": (MTBENCH_JA, 1, 10),
}
REFERENCE_PRESETS: dict[str, tuple[str, float, float]] = {
    "elyza": (ELYZA_1TO5, 1, 5),
    "mtbench": (MTBENCH_JA_REFERENCE, 1, 10),
}
PAIRWISE_TEMPLATES = {"ja": PAIRWISE_JA, "en": PAIRWISE_EN}
