"""Text metrics with real values, including each Japanese pitfall of japanese-eval.md §3."""

from __future__ import annotations

import random

import pytest

from hyouka.scorers.metrics_text import (
    bleu,
    char_f1,
    chrf,
    exact_match,
    japanese_ratio,
    levenshtein_distance,
    levenshtein_similarity,
    llm_jp_eval_char_f1,
    rouge_l,
    tokens,
)
from hyouka.text.tokenize import TOKENIZER_ID

# japanese-eval.md §3.3: the sacreBLEU test pair.
HYP = "生成されたテキストの評価はとても難しい。"
REF = "生成テキストの評価は難しい。"


# --- exact match ---------------------------------------------------------------------------


def test_exact_match_ignores_fullwidth_digits_by_default() -> None:
    assert exact_match("１２３", "123") == 1.0
    assert exact_match("１２３", "123", "strict") == 0.0


def test_exact_match_treats_both_wave_dashes_alike() -> None:
    assert exact_match("5～9", "5〜9") == 1.0
    assert exact_match("5～9", "5〜9", "llm-jp-eval") == 0.0  # NFKC alone: "5~9" vs "5〜9"


def test_exact_match_with_and_without_punctuation_stripping() -> None:
    assert exact_match("東京。", "東京") == 0.0
    assert exact_match("東京。", "東京", {"strip_punctuation": True}) == 1.0
    assert exact_match("「東京」。", "東京", "loose") == 1.0


def test_exact_match_on_halfwidth_katakana_and_enclosed_digits() -> None:
    assert exact_match("ｶﾞｷﾞ", "ガギ") == 1.0
    assert exact_match("①", "1") == 1.0  # NFKC folds the enclosed digit
    assert exact_match("①", "1", "strict") == 0.0


def test_exact_match_accepts_any_reference() -> None:
    assert exact_match("大阪", ["東京", "おおさか", "大阪"]) == 1.0
    assert exact_match("京都", ["東京", "大阪"]) == 0.0


def test_metrics_refuse_an_empty_reference_list() -> None:
    with pytest.raises(ValueError, match="no reference given"):
        exact_match("東京", [])
    with pytest.raises(ValueError, match="no reference given"):
        char_f1("東京", [])
    with pytest.raises(ValueError, match="no reference given"):
        llm_jp_eval_char_f1("東京", [])


# --- bag-of-characters F1 --------------------------------------------------------------------


def test_char_f1_ignores_order() -> None:
    assert char_f1("京東", "東京") == 1.0


def test_char_f1_counts_punctuation_unless_stripped() -> None:
    assert char_f1("東京。", "東京") == pytest.approx(0.8)  # P = 2/3, R = 1
    assert char_f1("東京。", "東京", "loose") == 1.0


def test_char_f1_on_thousands_separator() -> None:
    assert char_f1("1,000円", "1000円") == pytest.approx(10 / 11)  # P = 5/6, R = 1
    assert char_f1("1,000円", "1000円", "loose") == 1.0


def test_char_f1_normalises_fullwidth_and_halfwidth_forms() -> None:
    assert char_f1("１２３", "123") == 1.0
    assert char_f1("１２３", "123", "strict") == 0.0
    assert char_f1("ﾃｽﾄ", "テスト") == 1.0


def test_char_f1_counts_repeated_characters_with_multiplicity() -> None:
    # common = min(3,1) for あ = 1: P = 1/3, R = 1/1
    assert char_f1("あああ", "あ") == pytest.approx(0.5)


def test_char_f1_takes_the_best_reference() -> None:
    # against 東京: P = 2/5, R = 1 -> 4/7; against 大阪: 0
    assert char_f1("東京タワー", ["大阪", "東京"]) == pytest.approx(4 / 7)
    assert char_f1("東京タワー", ["大阪", "東京", "東京タワー"]) == 1.0


def test_char_f1_counts_spaces_like_jglue() -> None:
    assert char_f1("東京 タワー", "東京タワー") == pytest.approx(2 * (5 / 6) / (5 / 6 + 1))
    assert char_f1("東京 タワー", "東京タワー", {"whitespace": "remove"}) == 1.0


def test_char_f1_on_empty_strings() -> None:
    assert char_f1("", "") == 1.0
    assert char_f1("", "東京") == 0.0
    assert char_f1("東京", "") == 0.0
    assert char_f1("大阪", "東京") == 0.0


# --- llm-jp-eval compatibility ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("京東", "東京", 0.50),  # order matters: it is not an F1
        ("1,000円", "1000円", 0.73),  # the comma becomes a split point
        ("東京。", "東京", 1.00),  # punctuation is dropped
    ],
)
def test_llm_jp_eval_char_f1_matches_the_measured_table(
    pred: str, gold: str, expected: float
) -> None:
    assert llm_jp_eval_char_f1(pred, gold) == expected


def test_llm_jp_eval_char_f1_applies_nfkc_and_fuzzywuzzy_quirks() -> None:
    assert llm_jp_eval_char_f1("１０００円", "1000円") == 1.0  # NFKC first
    assert llm_jp_eval_char_f1("Tokyo", "tokyo") == 1.0  # full_process lowercases
    assert llm_jp_eval_char_f1("café", "caf") == 1.0  # force_ascii deletes U+0080..U+00FF
    assert llm_jp_eval_char_f1("。", "、") == 1.0  # both empty after processing
    assert llm_jp_eval_char_f1("東京", "。") == 0.0
    assert llm_jp_eval_char_f1("5～9", "5〜9") == 1.0  # ~ and 〜 are both split points


def test_llm_jp_eval_char_f1_rounds_to_whole_percent() -> None:
    # LCS("東京都", "東京") = 2: 2*2/5 = 0.8 exactly; "東京都庁" vs "東京": 4/6 -> 67
    assert llm_jp_eval_char_f1("東京都", "東京") == 0.8
    assert llm_jp_eval_char_f1("東京都庁", "東京") == 0.67


def test_llm_jp_eval_char_f1_takes_the_best_reference() -> None:
    assert llm_jp_eval_char_f1("京東", ["大阪", "東京"]) == 0.5


# --- edit distance -------------------------------------------------------------------------


def test_levenshtein_distance_and_similarity() -> None:
    assert levenshtein_distance("東京都", "東京") == 1
    assert levenshtein_similarity("東京都", "東京") == pytest.approx(2 / 3)
    assert levenshtein_distance("１２３", "123") == 0
    assert levenshtein_distance("１２３", "123", "strict") == 3
    assert levenshtein_distance("東京都", ["大阪府", "東京都"]) == 0
    assert levenshtein_similarity("京東", ["大阪", "東京"]) == 0.0  # two substitutions
    assert levenshtein_similarity("", "") == 1.0


# --- tokenisation, BLEU, chrF, ROUGE-L -------------------------------------------------------


def test_word_tokens_come_from_unidic_lite() -> None:
    assert TOKENIZER_ID == "fugashi-unidic-lite"
    assert tokens(REF) == ("生成", "テキスト", "の", "評価", "は", "難しい", "。")
    assert tokens(REF, "char") == tuple(REF)
    assert tokens("a b  c", "whitespace") == ("a", "b", "c")
    with pytest.raises(ValueError, match="unknown tokenizer 'mecab'"):
        tokens(REF, "mecab")  # type: ignore[arg-type]


def test_bleu_on_japanese_words_is_not_zero_where_whitespace_bleu_is() -> None:
    assert bleu(HYP, REF) == pytest.approx(0.290, abs=5e-4)  # sacreBLEU ja-mecab: 29.0
    assert bleu(HYP, REF, tokenizer="char") == pytest.approx(0.502, abs=5e-4)  # sacreBLEU: 50.2
    # A whitespace tokeniser sees one "word" per sentence: BLEU 0, the §3.3 pitfall.
    assert bleu(HYP, REF, tokenizer="whitespace") == 0.0


def test_bleu_bounds_and_multiple_references() -> None:
    assert bleu(REF, REF) == pytest.approx(1.0)
    assert bleu("大阪", REF) == 0.0
    assert bleu(HYP, ["大阪に行く。", REF]) == pytest.approx(bleu(HYP, REF))
    assert bleu("", "") == 1.0
    assert bleu("", REF) == 0.0


def test_bleu_exp_smoothing_by_hand() -> None:
    # precisions 3/4, 1/3, then 0/2 -> 1/(2*2) and 0/1 -> 1/(4*1): (1/64) ** (1/4) = 2 ** -1.5
    assert bleu("a b c d", "a b x d", tokenizer="whitespace") == pytest.approx(2**-1.5)
    # a 2-token hypothesis uses orders 1..2 only (effective order): sqrt(1 * 1/1)
    assert bleu("a b", "a b", tokenizer="whitespace") == pytest.approx(1.0)


def test_bleu_normalises_before_tokenising() -> None:
    assert bleu("ＡＩの評価は難しい。", "AIの評価は難しい。") == pytest.approx(1.0)
    assert bleu("ＡＩの評価は難しい。", "AIの評価は難しい。", "strict") < 1.0


def test_chrf_matches_sacrebleu_on_the_reference_pair() -> None:
    assert chrf(HYP, REF) == pytest.approx(0.574, abs=5e-4)  # sacreBLEU chrF: 57.4


def test_chrf_ignores_whitespace_and_takes_the_best_reference() -> None:
    assert chrf("東京 タワー", "東京タワー", "strict") == 1.0
    assert chrf("東京", ["大阪", "東京"]) == 1.0
    assert chrf("東京", "大阪") == 0.0
    assert chrf("", "") == 1.0


def test_rouge_l_matches_lins_example() -> None:
    ref = "police killed the gunman"
    assert rouge_l("police kill the gunman", ref, tokenizer="whitespace") == pytest.approx(0.75)
    assert rouge_l("the gunman kill police", ref, tokenizer="whitespace") == pytest.approx(0.5)


def test_rouge_l_on_japanese_words() -> None:
    # All 7 reference words appear in order in the 11-word hypothesis: P = 7/11, R = 1.
    assert rouge_l(HYP, REF) == pytest.approx(14 / 18)
    # Whitespace tokens: each sentence is one token and they differ.
    assert rouge_l(HYP, REF, tokenizer="whitespace") == 0.0
    assert rouge_l("難しい。", ["大阪", REF]) == pytest.approx(2 * (2 / 7) / (1 + 2 / 7))


def test_word_metrics_agree_with_sacrebleu_on_random_pairs() -> None:
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = random.Random(7)
    alphabet = "東京都の人口は約万人で日本最も多いです。aあいうbc "
    for _ in range(300):
        h = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))).strip() or "東"
        r = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))).strip() or "京"
        expected_bleu = sacrebleu.sentence_bleu(h, [r], tokenize="char").score / 100
        assert bleu(h, r, "strict", tokenizer="char") == pytest.approx(expected_bleu, abs=1e-9)
        expected_chrf = sacrebleu.sentence_chrf(h, [r]).score / 100
        assert chrf(h, r, "strict") == pytest.approx(expected_chrf, abs=1e-9)
    # And sacreBLEU's default 13a tokeniser gives 0 on the Japanese pair, as §3.3 measured.
    assert sacrebleu.sentence_bleu(HYP, [REF]).score == 0.0


# --- Japanese character ratio ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("答えは42です。", 1.0),  # digits and punctuation are not letters
        ("The answer is 東京", 2 / 13),
        ("The answer is Tokyo.", 0.0),
        ("ｶﾀｶﾅ", 1.0),  # half-width katakana
        ("ＡＢＣ", 0.0),  # full-width Latin is Latin
        ("コーヒー々〆", 1.0),
        ("123 !?", 0.0),  # no letters
        ("", 0.0),
        ("这是中文", 1.0),  # kanji-only text counts: a documented limitation
    ],
)
def test_japanese_ratio(text: str, expected: float) -> None:
    assert japanese_ratio(text) == pytest.approx(expected)


def test_japanese_ratio_skips_code_and_urls_unless_asked() -> None:
    text = "次のコードで動きます。\n```python\nprint('hello world')\n```\nhttps://example.com/docs"
    assert japanese_ratio(text) == 1.0
    assert japanese_ratio(text, ignore_code=False) < 0.5
    assert japanese_ratio("`len(x)` を使います") == 1.0


def test_japanese_ratio_never_exceeds_one_on_any_cjk_code_point() -> None:
    every = "".join(chr(c) for c in range(0x3000, 0xA000)) + "".join(
        chr(c) for c in range(0xF900, 0xFB00)
    )
    assert 0.9 < japanese_ratio(every, ignore_code=False) <= 1.0
