"""The long fuzz profile: every target of tests/fuzz_targets.py with many generated cases.

    python benchmarks/fuzz_long.py [--cases 10000] [--only yaml,config,...] [--no-postgres]
    make fuzz

Each case runs under a hang guard (``--case-timeout`` seconds, SIGALRM) and the process under
a memory cap (``--memory-gb``, RLIMIT_AS), so a hang or a memory blow-up counts as a failure
instead of stopping the run. A failure does not stop the target either (no shrinking): the
count is of cases, and the first few failing cases are printed. Prints, per target, the cases
tried, the failures, the slowest case and the time taken; then the peak memory.

Targets: yaml (any text → parse_yaml), config (hyouka.yaml → load_config), config-cli
(``hyouka variants`` and ``hyouka run``), dataset (JSONL/CSV/YAML → load_dataset, then hashing
and the store's JSON encoder), dataset-cli (``hyouka run`` on it), http-sqlite and
http-postgres (any request to any route of the web app). Target: 0 failures of ≥ 10,000 cases
each.
"""

from __future__ import annotations

import argparse
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import fuzz_targets  # noqa: E402


class Hang(Exception):
    """A case ran past the hang guard."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hang()


def run_target(
    name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None], args: Any
) -> dict[str, Any]:
    tried = 0
    failures: list[str] = []
    slowest = 0.0
    started = time.perf_counter()

    @settings(
        max_examples=args.cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[p for p in settings.default.phases if p.name != "shrink"],
    )
    @given(strategy)
    def run(case: Any) -> None:
        nonlocal tried, slowest
        tried += 1
        signal.alarm(args.case_timeout)
        t0 = time.perf_counter()
        try:
            check(case)
        except Hang:
            failures.append(f"hang (> {args.case_timeout} s): {case!r:.300}")
        except Exception as exc:  # every failure is counted and shown
            where = traceback.format_exc().strip().splitlines()[-1]
            failures.append(f"{type(exc).__name__}: {where[:300]} ← {case!r:.300}")
        finally:
            signal.alarm(0)
        slowest = max(slowest, time.perf_counter() - t0)

    run()
    return {
        "target": name,
        "cases": tried,
        "failures": failures,
        "slowest_s": slowest,
        "wall_s": time.perf_counter() - started,
    }


def web_targets(args: Any) -> list[tuple[str, Any, Any, Callable[[], None]]]:
    out = []
    tmp = Path(tempfile.mkdtemp(prefix="fuzzweb"))
    env = fuzz_targets.web_env(tmp / "sqlite", f"sqlite:///{tmp / 'store.db'}")
    out.append(
        (
            "http-sqlite",
            fuzz_targets.web_requests(env),
            lambda req, env=env: fuzz_targets.check_web(env, req),
            lambda: None,
        )
    )
    if args.postgres:
        from pg import temporary_schema

        from hyouka.store import db

        schema = temporary_schema()
        url = schema.__enter__()
        engine = db.create(url)
        db.upgrade(engine)
        engine.dispose()
        pg_env = fuzz_targets.web_env(tmp / "pg", url)
        out.append(
            (
                "http-postgres",
                fuzz_targets.web_requests(pg_env),
                lambda req, env=pg_env: fuzz_targets.check_web(env, req),
                lambda: schema.__exit__(None, None, None),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--only", default="", help="comma-separated target names")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    parser.add_argument("--case-timeout", type=int, default=60)
    parser.add_argument("--memory-gb", type=float, default=4.0)
    args = parser.parse_args()
    limit = int(args.memory_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    only = {n for n in args.only.split(",") if n}

    targets: list[tuple[str, Any, Any, Callable[[], None]]] = [
        (t.name, t.strategy, t.check, lambda: None) for t in fuzz_targets.TARGETS
    ]
    if not only or any(n.startswith("http") for n in only):
        targets += web_targets(args)
    print(f"{args.cases} cases per target; hang guard {args.case_timeout} s, memory cap "
          f"{args.memory_gb:g} GB")  # fmt: skip
    total_failures = 0
    for name, strategy, check, cleanup in targets:
        if only and name not in only:
            cleanup()
            continue
        r = run_target(name, strategy, check, args)
        cleanup()
        total_failures += len(r["failures"])
        print(
            f"{name:14} {r['cases']:6} cases, {len(r['failures'])} failures, slowest case "
            f"{r['slowest_s']:.2f} s, {r['wall_s']:.0f} s in all",
            flush=True,
        )
        for failure in r["failures"][:3]:
            print(f"    {failure}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak_mb:.0f} MB; {total_failures} failures in all")
    sys.exit(1 if total_failures else 0)


if __name__ == "__main__":
    main()
