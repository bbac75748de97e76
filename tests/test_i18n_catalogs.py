"""One catalog format for the CLI, the web app and the report (issue 11 item 5): every domain
has an English and a Japanese JSON catalog with the same keys and the same ``{fields}``, the
Japanese one is Japanese, and every key the code asks for literally exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from hyouka.i18n import DOMAINS, LANGS, catalog, messages, resolve_lang
from hyouka.i18n.cli import t

ROOT = Path(__file__).parents[1] / "hyouka"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_both_locales_have_the_same_keys_and_fields(domain: str) -> None:
    en, ja = catalog(domain, "en"), catalog(domain, "ja")
    assert len(en) > 25
    assert sorted(set(en) ^ set(ja)) == []
    for key, text in en.items():
        assert text.strip() and ja[key].strip(), key
        assert _fields(text) == _fields(ja[key]), (domain, key)
        text.format(**{f: 1 for f in _fields(text)})  # a broken template raises here
        ja[key].format(**{f: 1 for f in _fields(text)})


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_japanese_catalog_is_written_in_japanese(domain: str) -> None:
    en, ja = catalog(domain, "en"), catalog(domain, "ja")
    has_kana = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    untranslated = [
        k for k in en if re.search(r"[a-z]{4} [a-z]{3}", en[k]) and not has_kana.search(ja[k])
    ]
    assert untranslated == [], (domain, untranslated[:5])


def _literal_keys(pattern: str, files: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in files:
        found |= set(re.findall(pattern, path.read_text("utf-8")))
    return found


def test_every_cli_key_the_code_asks_for_exists() -> None:
    files = [p for p in ROOT.rglob("*.py") if "web" not in p.parts]
    used = _literal_keys(r"""\bt\(\s*[\w.]+,\s*["']([\w.-]+)["']""", files)
    assert len(used) > 60
    missing = sorted(k for k in used if k not in catalog("cli", "en"))
    assert missing == []


def test_every_report_key_the_code_asks_for_exists() -> None:
    files = [*(ROOT / "report").glob("*.py"), ROOT / "report" / "template.html"]
    used = _literal_keys(r"""\bw\(\s*["']([\w.-]+)["']""", files)
    assert len(used) > 40
    used -= {"key"}  # the docstring's example
    # w("kind_" + kind): a prefix; its expansions are literal keys elsewhere in the catalog
    prefixes = {k for k in used if k.endswith("_")}
    assert all(any(c.startswith(p) for c in catalog("report", "en")) for p in prefixes)
    missing = sorted(k for k in used - prefixes if k not in catalog("report", "en"))
    assert missing == []


def test_one_loader_one_fallback_rule() -> None:
    for domain in DOMAINS:
        ja = messages(domain, "ja")
        assert ja("no.such.key") == "no.such.key"
        assert messages(domain, "xx").locale == "en"
    assert t("ja", "demo.check") == "1 項目"
    assert t("en", "demo.checks", n=3) == catalog("cli", "en")["demo.checks"].format(n=3)


def test_cli_language_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HYOUKA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert resolve_lang() == "en"
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert resolve_lang() == "ja"
    monkeypatch.setenv("HYOUKA_LANG", "en")
    assert resolve_lang() == "en"
    assert resolve_lang("ja") == "ja"
    assert set(LANGS) == {"en", "ja"}


def _cli(*args: str, **env: str) -> str:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "hyouka", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80", "HYOUKA_LANG": "en", **env},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_tables_and_messages_follow_the_language(tmp_path: Path) -> None:
    from tests.conftest import write_project

    cfg = {
        "name": "ja-cli", "samples": 2,
        "providers": {"e": {"type": "echo"}},
        "variants": {"a": {"provider": "e", "prompt": "{{ q }}"},
                     "b": {"provider": "e", "prompt": "答え: {{ q }}"}},
        "checks": [{"type": "contains", "value": "答え", "metric": "answers"}],
    }  # fmt: skip
    root = write_project(tmp_path, cfg, [{"id": f"c{i}", "vars": {"q": f"q{i}"}} for i in range(3)])
    p = ("-p", str(root))
    _cli("run", *p)
    ja_show = _cli("--lang", "ja", "show", *p)  # the group's --lang: every message
    assert "バリアント別" in ja_show and "チェック: 合格率（平均スコア）" in ja_show
    assert "不合格のチェック" in ja_show and "ケース c0 #0" in ja_show
    en_show = _cli("show", *p)
    assert "per variant" in en_show and "failed checks" in en_show and "バリアント" not in en_show
    ja_runs = _cli("runs", *p, HYOUKA_LANG="ja")  # the environment
    assert "状態" in ja_runs and "完了" in ja_runs and "finished" not in ja_runs
    assert "完了" in _cli("runs", *p, HYOUKA_LANG="", LANG="ja_JP.UTF-8")  # the locale
    out = _cli("export", *p, "--lang", "ja", "-o", str(tmp_path / "s.csv"))
    assert "12 サンプルを" in out and "書き出しました" in out
    added = _cli("--lang", "ja", "annotators", "add", "hanako", "-g", "ops", *p)
    assert "hanako を追加しました（評価者、グループ「ops」）" in added
    people = _cli("--lang", "ja", "annotators", "list", *p)
    assert "名前" in people and "有効" in people
    assert "name" in _cli("annotators", "list", *p)
