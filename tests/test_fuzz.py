"""The fuzz targets of tests/fuzz_targets.py, a few hundred cases each (the fast profile; the
long one is benchmarks/fuzz_long.py). The property: hyouka's own error with a location, exit 0
or 2, or a 4xx: never a traceback, a 500 or a hang."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pg import pg_session_url  # noqa: F401

from tests.fuzz_targets import TARGETS, Target


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_fuzz_target(target: Target) -> None:
    @settings(
        max_examples=target.fast,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy)
    def run(case: Any) -> None:
        target.check(case)

    run()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.fuzz_targets import web_env

    tmp = tmp_path_factory.mktemp("fuzzweb")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'store.db'}"
    else:
        url = str(request.getfixturevalue("pg_session_url"))
    env = web_env(tmp / "project", url)
    yield env
    env.app.state.hyouka.store.close()


def test_fuzz_every_http_endpoint(web: Any) -> None:
    from tests.fuzz_targets import check_web, web_requests

    @settings(
        max_examples=WEB_FAST, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(web_requests(web))
    def run(req: Any) -> None:
        check_web(web, req)

    run()


WEB_FAST = 200
