"""The CLI: hyouka compare / ranking / agreement print what the API returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hyouka.analysis import verdict as V
from hyouka.api import Workspace
from hyouka.cli.main import cli
from tests.test_analysis_compare import noisy_project
from tests.test_analysis_humans import HumanStore, store  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace]:
    root = tmp_path_factory.mktemp("cli")
    return root, noisy_project(root)


def _run(args: list[str], root: Path, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "-p", str(root)], env={"HYOUKA_LANG": "", **env})
    return result.exit_code, result.stdout, result.stderr


def test_compare_prints_tables_and_the_english_verdict(project: tuple[Path, Workspace]) -> None:
    root, ws = project
    code, out, _ = _run(["compare", "A", "B", "--lang", "en"], root)
    assert code == 0
    m = ws.compare("A", "B").metric("correct")
    assert f"A → B · 40 cases · seed {ws.get_run().seed}" in out
    assert "• B is better than A on `correct`: " in out
    assert f"{round(m.share_favouring_b * 100)}% of cases favour B" in out
    assert "• A and B scored the same on all 40 cases on `half`." in out
    assert "p-values and the intervals beside the verdicts are Holm-adjusted across 3 tests " in out
    assert f"{V.level_text(m.difference.level)}%" in out  # each row shows its interval's level


def test_compare_speaks_japanese_from_the_environment(project: tuple[Path, Workspace]) -> None:
    root, _ = project
    code, out, _ = _run(["compare", "A", "C", "-m", "correct"], root, HYOUKA_LANG="ja")
    assert code == 0
    assert "• `correct` ではノイズと区別できない: " in out
    assert "の差を見極めるには、あと約 " in out and "ケース" in out


def test_compare_json_has_every_number_and_the_seed(project: tuple[Path, Workspace]) -> None:
    root, ws = project
    code, out, _ = _run(["compare", "A", "B", "--json", "--seed", "7", "--lang", "ja"], root)
    assert code == 0
    data = json.loads(out)
    assert (data["seed"], data["lang"], data["correction"], data["n_tests"]) == (7, "ja", "holm", 3)
    (pair,) = data["comparisons"]
    correct = next(m for m in pair["metrics"] if m["metric"] == "correct")
    for key in ("a", "b", "difference", "sign", "permutation", "mcnemar", "gacha", "p_value",
                "p_adjusted", "significant", "power", "seed_level", "verdict",
                "share_favouring_b"):  # fmt: skip
        assert key in correct, key
    # The interval is analytic; the seed drives only the reference permutation test.
    assert correct["difference"]["method"] == "t-calibrated"
    assert correct["permutation"]["detail"] == "seed=7"
    for key in ("mean", "low", "high", "se", "method", "n_cases", "within_sd"):
        assert correct["a"][key] is not None, key
    assert set(correct["gacha"]) >= {"ratio", "prob_b_beats_a", "pooled_within_sd"}
    assert set(correct["power"]) >= {"cases_needed", "more_cases", "samples_per_case_needed"}
    assert correct["verdict"].startswith("B は A より `correct` で良い")
    expected = ws.compare("A", "B", seed=7).metric("correct")
    assert correct["difference"]["low"] == expected.difference.low
    assert correct["p_adjusted"] == expected.p_adjusted


def test_compare_unknown_variant_is_a_clear_error(project: tuple[Path, Workspace]) -> None:
    root, _ = project
    code, _, err = _run(["compare", "A", "nope"], root)
    assert code == 2
    assert "no variant or family 'nope'" in err and "A, B, C" in err


def test_ranking_and_agreement_commands(store: HumanStore) -> None:  # noqa: F811
    root = Path(store.ws.project.root)
    code, out, _ = _run(["ranking", "ab", "--lang", "en", "--boot", "100"], root)
    assert code == 0
    assert "human votes: Bradley–Terry ranking (60 votes, seed 0)" in out
    assert "• A vs B: " in out and "both bad: 2% of human votes." in out
    code, out, _ = _run(["ranking", "ab", "--json", "--source", "judge", "--boot", "100"], root)
    data = json.loads(out)
    assert [s["source"] for s in data["sources"]] == ["judge"]
    assert data["sources"][0]["bt"]["n_votes"] == 60 and data["sources"][0]["sentences"]
    code, out, _ = _run(["agreement", "ab", "--lang", "ja", "--min-overlap", "5"], root)
    assert code == 0
    assert "キャンペーン ab: 一致度（一対比較の勝者、名義尺度、12 アイテム、評価者 5 人）" in out
    assert "operators は B を好む、researchers は A を好む" in out
    code, out, _ = _run(["agreement", "ab", "--json", "--boot", "100", "--min-labels", "10"], root)
    data = json.loads(out)
    assert [s["kind"] for s in data["sections"]] == ["pairwise", "rating"]
    assert data["sections"][0]["alpha"]["n_boot"] == 100
    assert data["sentences"]["groups"] and data["ppi"] and data["judges"]
