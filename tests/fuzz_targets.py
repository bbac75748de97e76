"""Fuzz targets: hypothesis generators of hostile input and the property each must hold.

The property (issue 12): the CLI exits 0, or 2 with a message that names the file (and line);
a loader returns data or raises hyouka's own error with a location; the web server answers a
4xx with a clear message, never a 500 and never a traceback; nothing hangs or exhausts memory.

Targets (``TARGETS``): each is a strategy and a ``check`` that raises AssertionError on a
violation. ``tests/test_fuzz.py`` runs them with a few hundred cases in the normal suite;
``benchmarks/fuzz_long.py`` runs them with ≥ 10,000 each and prints the figures.
"""

from __future__ import annotations

import json
import re
import string
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import strategies as st

from hyouka.bounds import text_problem
from hyouka.config import load_config
from hyouka.datasets import load_dataset
from hyouka.errors import ConfigError, DatasetError
from hyouka.hashing import canonical_json, content_hash
from hyouka.yamlsource import parse_yaml

# -- hostile primitives ------------------------------------------------------------------------

BIG_INTS = [2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40]
SPECIAL_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ufeff",
    "\r\n",
    "\u2028",
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2",
    "@SUM(A1)",
    "\t=x",
    "[/]",
    "[bold red]x",
    "{{ q }}",
    "{% for %}",
    "../../etc/passwd",
    "%00",
    "9223372036854775808",
    "-1",
    "1e999",
    "NaN",
    "on",
    "yes",
    "~",
    "null",
    "true",
    "<script>alert(1)</script>",
    "日本語テキスト",
    "🙂" * 50,
    "x" * 300,
    "y" * 70_000,
]
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
controls = st.characters(max_codepoint=0x1F)
any_char = st.one_of(st.characters(), surrogates, controls)

nasty_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=any_char, max_size=12),
    st.sampled_from(SPECIAL_TEXT),
)
nasty_int = st.one_of(
    st.integers(-5, 5),
    st.integers(),
    st.sampled_from(BIG_INTS),
    st.integers(min_value=10**50, max_value=10**60),
)
nasty_scalar = st.one_of(
    st.none(),
    st.booleans(),
    nasty_int,
    st.floats(),  # nan and ±inf included
    nasty_text,
)


def nested(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


wild = st.recursive(
    nasty_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=10,
)
deep = st.integers(50, 1500).map(nested)


def alias_bomb(levels: int, width: int) -> str:
    """A "billion laughs" YAML document: ``width ** levels`` values from a few hundred bytes."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


bombs = st.builds(alias_bomb, st.integers(3, 9), st.integers(3, 10))


Draw = Callable[[st.SearchStrategy[Any]], Any]


def _mutate(text: str, draw: Draw) -> str:
    """Truncate, insert a hostile character, or leave ``text`` as it is."""
    how = draw(st.sampled_from(["keep", "keep", "cut", "insert", "bracket"]))
    if not text or how == "keep":
        return text
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at]
    if how == "bracket":
        return text[:at] + draw(st.sampled_from(["[", "{", '"', "'", "&x", "*x", ": "]))
    return text[:at] + draw(st.sampled_from(["\x00", "\t", "\ufeff", "!!python/object "]))


def _encode(text: str, draw: Draw) -> bytes:
    """UTF-8 (surrogates kept as their code points), maybe with a BOM, maybe broken bytes."""
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"]))
        raw += b"\n"
    return raw


# -- datasets ----------------------------------------------------------------------------------

FIELD_NAMES = ["id", "vars", "expected", "checks", "aspect", "tags", "gold_ids", "metadata"]
row_values: dict[str, Any] = {
    "id": st.one_of(nasty_text, nasty_int, st.sampled_from(["dup", "dup", "1"]), wild),
    "vars": st.one_of(st.dictionaries(nasty_text, wild, max_size=4), wild, deep),
    "expected": st.one_of(nasty_text, st.lists(nasty_text, max_size=3), wild),
    "checks": st.one_of(
        st.lists(st.fixed_dictionaries({"type": nasty_text}, optional={"value": wild})),
        wild,
    ),
    "aspect": wild,
    "tags": wild,
    "gold_ids": wild,
    "metadata": st.one_of(wild, deep),
}
rows = st.dictionaries(
    st.sampled_from([*FIELD_NAMES, "question", "\x00", "[/]"]),
    st.just(None),
    max_size=6,
).flatmap(lambda keys: st.fixed_dictionaries({k: row_values.get(k, wild) for k in keys}))


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["row", "row", "row", "wild", "raw", "deep", "bigint"]))
        if draw(st.integers(0, 40)) == 0:
            kind = "huge"
        if kind == "row":
            lines.append(json.dumps(draw(rows), default=str))
        elif kind == "wild":
            lines.append(json.dumps(draw(wild), default=str))
        elif kind == "raw":
            lines.append(draw(nasty_text))
        elif kind == "deep":
            n = draw(st.integers(90, 3000))
            lines.append('{"vars": {"q": ' + "[" * n + "]" * n + "}}")
        elif kind == "bigint":
            lines.append('{"vars": {"q": ' + "7" * draw(st.integers(18, 6000)) + "}}")
        else:  # a long passage on one line (up to 10 MB)
            size = draw(st.sampled_from([150_000, 1_000_000, 10_000_000]))
            lines.append(json.dumps({"vars": {"q": "長" * (size // 3)}}, ensure_ascii=False))
    return _encode("\n".join(lines), draw)


def _csv_cell(value: str) -> str:
    if any(c in value for c in ',"\n\r') or not value:
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    names = draw(
        st.lists(
            st.sampled_from([*FIELD_NAMES, "q", "vars.x", "question", "q", "", "\ufeffid"]),
            max_size=5,
        )
    )
    lines = [",".join(_csv_cell(n) for n in names)] if names or draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 5))):
        width = len(names) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        cells = []
        for _ in range(max(0, width)):
            kind = draw(st.sampled_from(["text", "text", "json", "quote"]))
            if draw(st.integers(0, 40)) == 0:
                kind = "long"
            if kind == "text":
                cells.append(_csv_cell(draw(nasty_text)))
            elif kind == "json":
                cells.append(_csv_cell(json.dumps(draw(wild), default=str)))
            elif kind == "long":
                cells.append("x" * draw(st.sampled_from([131_073, 300_000, 10_000_000])))
            else:
                cells.append('"unclosed' + draw(nasty_text))
        lines.append(",".join(cells))
    return _encode("\n".join(lines), draw)


@st.composite
def yaml_dataset_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["dump", "dump", "cases", "bomb", "raw", "bools", "deep"]))
    if kind == "bomb":
        bomb = draw(bombs)
        text = bomb + "cases:\n  - vars: {q: *a" + str(bomb.count("\n") - 1) + "}\n"
    elif kind == "raw":
        text = draw(st.text(alphabet=any_char, max_size=200))
    elif kind == "bools":
        text = "- vars: {on: 1, off: no, yes: y, 1: one, true: t}\n  id: on\n"
    elif kind == "deep":
        n = draw(st.integers(50, 2000))
        text = "- vars: {q: " + "[" * n + "]" * n + "}\n"
    else:
        items = draw(st.lists(rows, max_size=4))
        body: Any = {"cases": items} if kind == "cases" else items
        try:
            text = yaml.safe_dump(body, allow_unicode=True)
        except (yaml.YAMLError, UnicodeEncodeError, ValueError, RecursionError):
            text = json.dumps(body, default=str)
        text = _mutate(text, draw)
    return _encode(text, draw)


@dataclass(frozen=True)
class DatasetCase:
    suffix: str
    data: bytes


dataset_files = st.one_of(
    st.builds(DatasetCase, st.just(".jsonl"), jsonl_files()),
    st.builds(DatasetCase, st.just(".csv"), csv_files()),
    st.builds(DatasetCase, st.sampled_from([".yaml", ".yml"]), yaml_dataset_files()),
    st.builds(DatasetCase, st.sampled_from([".jsonl", ".csv", ".yaml"]), st.binary(max_size=200)),
)

_LOCATED = re.compile(r":\d+(:\d+)?: ")


def _walk_strings(value: Any) -> list[str]:
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return out


def check_dataset_load(case: DatasetCase) -> None:
    """Loading gives cases that every store can hold, or row problems with file and line, or
    one DatasetError naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"cases{case.suffix}"
        path.write_bytes(case.data)
        try:
            dataset = load_dataset("d", path)
        except DatasetError as exc:
            assert str(path) in str(exc), f"error without the file: {exc}"
            return
        for problem in dataset.problems:
            assert problem.location.path == str(path)
            assert problem.location.line >= 0
            assert str(problem).startswith(str(path)), str(problem)
        assert len({c.id for c in dataset.cases}) == len(dataset.cases)
        for c in dataset.cases:
            content = c.content()
            canonical_json(content)
            content_hash(content)
            orjson.dumps(content, default=str)  # the store's JSON encoder
            assert 1 <= len(c.id) <= 200
            for s in _walk_strings(content):
                assert text_problem(s) is None, (c.id, s[:20])
        dataset.version  # noqa: B018 - hashes every case


# -- YAML and hyouka.yaml ----------------------------------------------------------------------

yaml_texts = st.one_of(
    st.text(alphabet=any_char, max_size=300),
    st.text(alphabet=string.printable + "[]{}&*!|>-:?#'\"", max_size=300),
    bombs,
    st.builds(lambda n: "a: " + "[" * n, st.integers(1, 3000)),
    st.builds(lambda n: "a: " + "{b: " * n, st.integers(1, 1000)),
    st.builds(lambda k: "\n" * k + "samples: [3\n\n\n", st.integers(0, 40)),
)


def check_yaml(text: str) -> None:
    try:
        parse_yaml(text, "f.yaml")
    except ConfigError as exc:
        assert exc.location is not None and exc.location.path == "f.yaml", str(exc)


def _provider() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["echo", "openai", "nope"])},
            optional={k: wild for k in ("model", "timeout", "rpm", "concurrency", "adaptive")},
        ),
        wild,
    )


def _variant() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {"provider": st.sampled_from(["e", "missing"]), "prompt": nasty_text},
            optional={k: wild for k in ("params", "model", "system", "family", "messages")},
        ),
        st.fixed_dictionaries({"app": nasty_text}),
        wild,
    )


config_docs = st.fixed_dictionaries(
    {"name": st.one_of(st.just("fz"), nasty_text, wild)},
    optional={
        "seed": st.one_of(nasty_int, wild),
        "samples": st.one_of(nasty_int, wild),
        "concurrency": st.one_of(nasty_int, wild),
        "judge_samples": nasty_int,
        "include": st.one_of(
            st.lists(st.sampled_from(["extra.yaml", "missing.yaml", ".", "", "sub"])), wild
        ),
        "store": nasty_text,
        "providers": st.one_of(
            st.dictionaries(st.sampled_from(["e", "\x01", ""]), _provider()), wild
        ),
        "variants": st.one_of(st.dictionaries(nasty_text, _variant(), max_size=3), wild),
        "datasets": st.one_of(
            st.dictionaries(nasty_text, st.one_of(st.just("d.jsonl"), nasty_text, wild)), wild
        ),
        "checks": st.one_of(st.lists(st.fixed_dictionaries({"type": nasty_text})), wild),
        "human": st.one_of(
            st.fixed_dictionaries({}, optional={"overlap": nasty_int, "mode": nasty_text}), wild
        ),
        "on": nasty_int,
        "extra": wild,
    },
)


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["doc", "doc", "doc", "bomb", "raw"]))
    if kind == "bomb":
        return "name: fz\n" + draw(bombs) + "variants: *a1\n"
    if kind == "raw":
        return draw(yaml_texts)
    doc = draw(config_docs)
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, UnicodeEncodeError, ValueError, RecursionError):
        text = json.dumps(doc, default=str)
    return _mutate(text, draw)


def _write_project(root: Path, config: str | bytes, dataset: bytes | None = None) -> None:
    raw = config if isinstance(config, bytes) else config.encode("utf-8", "surrogatepass")
    (root / "hyouka.yaml").write_bytes(raw)
    (root / "extra.yaml").write_text("checks: [{type: contains, value: x}]\n", "utf-8")
    (root / "sub").mkdir(exist_ok=True)
    (root / "d.jsonl").write_bytes(dataset if dataset is not None else b'{"vars": {"q": "a"}}\n')


def check_config_load(text: str) -> None:
    """``load_config`` gives a project or one ConfigError naming a file of the project."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        _write_project(root, text)
        try:
            load_config(root)
        except ConfigError as exc:
            assert exc.location is not None, str(exc)
            assert exc.location.path.startswith(str(root)), str(exc)


# -- the CLI, in process ---------------------------------------------------------------------

GOOD_CONFIG = """name: fz
providers: {e: {type: echo}}
variants: {v: {provider: e, prompt: "{{ q }}"}}
datasets: {main: DATASET}
"""


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``hyouka ARGS`` in this process; (exit code, output). An exception that escapes
    the CLI (a traceback for the user) fails the check."""
    from click.testing import CliRunner

    from hyouka.cli.main import cli

    result = CliRunner().invoke(cli, args, catch_exceptions=True, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"hyouka {' '.join(args)} raised {result.exception!r}") from (
            result.exception
        )
    return result.exit_code, result.output


def check_dataset_cli(case: DatasetCase) -> None:
    """``hyouka run`` (echo model) on the dataset: exit 0, or 2 naming the dataset file."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        name = f"d{case.suffix}"
        (root / "hyouka.yaml").write_text(GOOD_CONFIG.replace("DATASET", name), "utf-8")
        (root / name).write_bytes(case.data)
        code, out = invoke(["run", "-p", str(root), "--skip-bad-rows"])
        assert code in (0, 2), (code, out[-500:])
        if code == 2:
            flat = " ".join(out.split())
            assert name in flat or "hyouka.yaml" in flat, out[-500:]
        code, out = invoke(["run", "-p", str(root)])
        assert code in (0, 2), (code, out[-500:])


def check_config_cli(text: str) -> None:
    """``hyouka variants`` and ``hyouka run`` on the config: exit 0, or 2 with a location."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        _write_project(root, text)
        for args in (["variants", "-p", str(root)], ["run", "-p", str(root), "--limit", "1"]):
            code, out = invoke(args)
            assert code in (0, 2), (args, code, out[-500:])
            if code == 2 and args[0] == "variants":
                assert str(root) in " ".join(out.split()).replace(" ", "") or "hyouka.yaml" in out


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    fast: int  # cases in the normal test suite


TARGETS = [
    Target("yaml", yaml_texts, check_yaml, 100),
    Target("config", config_texts(), check_config_load, 150),
    Target("config-cli", config_texts(), check_config_cli, 10),
    Target("dataset", dataset_files, check_dataset_load, 150),
    Target("dataset-cli", dataset_files, check_dataset_cli, 10),
]


# -- every HTTP endpoint -----------------------------------------------------------------------


@dataclass
class WebEnv:
    """A project with a run, a campaign, an admin, an annotator and an API key, served by
    the app under test (built once; requests are generated against it)."""

    app: Any
    admin_token: str
    annotator_token: str
    api_key: str
    ids: dict[str, list[str]]  # real values for path parameters, by name
    routes: list[Any]


def web_env(root: Path, url: str) -> WebEnv:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from humans_env import build, form_fields, signed_in

    from hyouka import humans
    from hyouka.web import routes_admin, routes_api, routes_auth, routes_judge, routes_loop

    env = build(root, url, people=1)
    _, key = humans.add_api_key(env.store, env.project, "fuzz-app")
    _person, token = env.people[0]
    page = signed_in(env.app, token).get(f"/c/{env.campaign.id}").text
    action = form_fields(page).get("action", "/a/none")
    routes = [
        r
        for module in (routes_auth, routes_judge, routes_admin, routes_api, routes_loop)
        for r in module.router.routes
    ]
    ids = {
        "campaign_id": [str(env.campaign.id)],
        "proposal_id": ["1"],
        "public_id": [action.split("/")[2]],
        "ref": ["latest", str(env.run_id)],
        "token": [token],
        "code": ["ja", "en"],
    }
    return WebEnv(env.app, env.admin_token, token, key, ids, routes)


ID_LIKE = [
    "0",
    "1",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "1" * 5000,
    "1.5",
    "１２",
    "²",
    "abc",
    "%00",
    "..",
    "latest",
]


def _params(route: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"path": [], "query": [], "form": [], "json": [], "header": []}

    def walk(dependant: Any) -> None:
        out["path"] += [p.name for p in dependant.path_params]
        out["query"] += [p.name for p in dependant.query_params]
        out["header"] += [p.alias for p in dependant.header_params]
        for p in dependant.body_params:
            kind = "form" if type(p.field_info).__name__ == "Form" else "json"
            out[kind].append(p.name)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return out


value_text = st.one_of(nasty_text, st.sampled_from(ID_LIKE))


@dataclass(frozen=True)
class WebRequest:
    method: str
    path: str
    who: str  # admin | annotator | anonymous | apikey
    query: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...] | None
    body: Any  # JSON body, or bytes sent as is
    headers: tuple[tuple[str, str], ...]
    csrf: bool


def web_requests(env: WebEnv) -> st.SearchStrategy[WebRequest]:
    from urllib.parse import quote

    def for_route(route: Any) -> st.SearchStrategy[WebRequest]:
        p = _params(route)
        path_values = {
            name: st.one_of(st.sampled_from(env.ids.get(name, ["1"])), value_text)
            for name in p["path"]
        }

        @st.composite
        def build(draw: st.DrawFn) -> WebRequest:
            path = route.path
            for name, strategy in path_values.items():
                value = str(draw(strategy)).encode("utf-8", "surrogatepass")
                path = path.replace("{" + name + "}", quote(value, safe=""))
            names = p["query"] + draw(st.lists(nasty_text, max_size=2))
            query = tuple(
                (n, draw(value_text)) for n in names if draw(st.booleans()) or not p["query"]
            )
            method = sorted(route.methods)[0]
            form = None
            body: Any = None
            if p["form"] or (method == "POST" and not p["json"]):
                form = tuple(
                    (n, draw(value_text))
                    for n in p["form"] + ["extra"]
                    for _ in range(draw(st.integers(0 if n != "csrf" else 1, 2)))
                )
            if p["json"]:
                body = draw(
                    st.one_of(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "thumb": st.one_of(st.sampled_from(["up", "down"]), wild),
                                "comment": st.one_of(nasty_text, wild),
                                "tags": st.one_of(st.lists(nasty_text, max_size=25), wild),
                                "input_text": st.one_of(nasty_text, wild),
                                "output_text": nasty_text,
                                "external_ref": st.one_of(nasty_text, wild),
                                "variant": st.one_of(st.sampled_from(["zzalpha-secret"]), wild),
                                "idempotency_key": st.one_of(nasty_text, wild),
                            },
                        ),
                        wild,
                        st.binary(max_size=100),
                    )
                )
            headers = tuple(
                (h, draw(value_text).encode("latin-1", "replace").decode("latin-1"))
                for h in p["header"]
                if draw(st.booleans())
            )
            who = draw(st.sampled_from(["admin", "admin", "annotator", "anonymous", "apikey"]))
            return WebRequest(method, path, who, query, form, body, headers, draw(st.booleans()))

        return build()

    return st.sampled_from(env.routes).flatmap(for_route)


_clients: dict[int, dict[str, Any]] = {}


def _client(env: WebEnv, who: str) -> Any:
    import secrets

    from fastapi.testclient import TestClient

    address = (f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.1", 5000)
    if who in ("anonymous", "apikey"):
        client = TestClient(env.app, client=address)
        if who == "apikey":
            client.headers["X-API-Key"] = env.api_key
        return client
    cached = _clients.setdefault(id(env), {})
    if who not in cached:
        token = env.admin_token if who == "admin" else env.annotator_token
        client = TestClient(env.app, client=address)
        assert client.get(f"/signin/{token}", follow_redirects=False).status_code == 303
        cached[who] = client
    return cached[who]


def check_web(env: WebEnv, req: WebRequest) -> None:
    """Any request: an answer below 500; an API error is JSON with a code and a message."""
    from hyouka.web.security import SESSION_COOKIE, csrf_token

    client = _client(env, req.who)
    form = [tuple(kv) for kv in req.form] if req.form is not None else None
    if form is not None and req.csrf and req.who in ("admin", "annotator"):
        session = client.cookies.get(SESSION_COOKIE)
        form = [(k, csrf_token(session) if k == "csrf" else v) for k, v in form]
    from urllib.parse import urlencode

    def encoded(pairs: Any) -> str:  # surrogates sent as their (broken) UTF-8 bytes
        return urlencode(list(pairs), encoding="utf-8", errors="surrogatepass")

    url = req.path + ("?" + encoded(req.query) if req.query else "")
    url = url[:16_000]  # what an HTTP server takes in a request line (uvicorn: 400 beyond)
    # header values as bytes: httpx refuses non-ASCII str values (a server can get any)
    kwargs: dict[str, Any] = {
        "headers": {k: v.encode("latin-1", "replace") for k, v in req.headers}
    }
    if form is not None:
        kwargs["content"] = encoded(form).encode("ascii")
        kwargs["headers"]["content-type"] = "application/x-www-form-urlencoded"
    elif isinstance(req.body, bytes):
        kwargs["content"] = req.body
        kwargs["headers"]["content-type"] = "application/json"
    elif req.body is not None:
        kwargs["content"] = json.dumps(req.body, default=str).encode("utf-8", "surrogatepass")
        kwargs["headers"]["content-type"] = "application/json"
    refused = env.app.state.hyouka.refused_values
    response = client.request(req.method, url, follow_redirects=False, **kwargs)
    assert response.status_code < 500, (req, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.content, req
        if response.request.url.path.startswith("/api/"):  # as sent: ".." is resolved
            payload = response.json()
            assert payload.get("error") and payload.get("message"), (req, payload)
    assert env.app.state.hyouka.refused_values == refused, (req, "the database refused a value")
    if req.path == "/signout" and req.who in _clients.get(id(env), {}):
        del _clients[id(env)][req.who]  # signed out: sign in again next time
    if req.path.startswith("/admin/annotators/status"):
        _reenable(env)


def _reenable(env: WebEnv) -> None:
    """A generated form may have disabled a fuzzing person: enable them again."""
    from hyouka import humans

    ctx = env.app.state.hyouka
    for person in humans.list_annotators(ctx.store, ctx.project):
        if person.disabled:
            humans.set_disabled(ctx.store, ctx.project, person.name, False)
