"""Schemathesis over the whole OpenAPI (but the endless live feed), as an admin token.

No answer may be a 5xx and nothing may log a traceback, on SQLite and on PostgreSQL. The
operations are driven with hypothesis directly (schemathesis' pytest fixture loader does not
work with this pytest), a bounded number of examples each.
"""

from __future__ import annotations

import logging

import pytest
import schemathesis
from api_kit import World, bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.api.app import create_app

pytestmark = pytest.mark.timeout(300)

#: examples per operation (17 operations, two backends: keeps the test well under a minute)
EXAMPLES = 30


def test_fuzz_no_server_error(world: World, caplog: pytest.LogCaptureFixture) -> None:
    inc = world.record("inc-fuzz")
    world.add_media(inc, "clips/f.mp4", b"abc")
    world.user("ann", "operator")
    app = create_app(world.ops, world.config, media_dir=world.media_dir)
    headers = bearer(world.token("fuzzer", "admin"))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app).exclude(path="/api/events")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for op in operations:

        @given(case=op.as_strategy(), data=st.data())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case, data: st.DataObject) -> None:
            caplog.clear()
            response = case.call(headers={**headers, **(case.headers or {})})
            bad = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
            if response.status_code >= 500 or bad:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} "
                    f"{str(case.body)[:80]} -> {response.status_code}: {response.text[:200]}"
                )

        with caplog.at_level(logging.WARNING):
            run()
    assert not failures, "\n".join(sorted(set(failures))[:30])
