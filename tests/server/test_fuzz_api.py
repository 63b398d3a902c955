"""Schemathesis over every operation of a real server's ``/openapi.json``.

Each generated request goes to a real ``tidings serve`` process, authenticated (the
user's token; staff routes with the admin's), and every answer must pass every check
schemathesis has, on every operation, with no exclusion: no 5xx, a documented status,
content type, headers and body, valid requests accepted, invalid requests refused,
``Allow`` on 405. Where a rule no JSON Schema can state applies (a signature, a sniffed
upload, a period's arithmetic), the positive cases obey it as a client would
(``fuzz_user_rules``, ``fuzz_staff_rules``); every other field stays fuzzed.

The bounded run (``FUZZ_CI_EXAMPLES`` examples per operation) is part of the normal
test run; ``make fuzz`` runs the marked long one with ``TIDINGS_FUZZ_EXAMPLES`` (500).
The number of cases run is printed at the end of the module.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case

from tests.server.fuzz_server import ADMIN, CHANNEL, USER, FuzzServer
from tests.server.fuzz_staff_rules import satisfy_staff_rules
from tests.server.fuzz_user_rules import obey_user_rules

FUZZ_CI_EXAMPLES = 10
"""Examples per operation in the bounded run of the normal test suite."""
FUZZ_LONG_EXAMPLES = int(os.environ.get("TIDINGS_FUZZ_EXAMPLES", "500"))
FUZZ_PHASES = (Phase.explicit, Phase.generate, Phase.shrink)
STAFF_PREFIXES = ("/api/v1/admin", "/api/v1/banks", "/api/v1/mod", "/api/v1/jobs", "/hma")
FRESH_DEVICE_PATHS = ("/api/v1/accounts/logout", "/api/v1/accounts/delete",
                      "/api/v1/accounts/devices/{device_id}")
"""Operations that may end the session they are called with use a device of their own."""

_counts: dict[str, int] = {}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[FuzzServer]:
    server = FuzzServer(tmp_path_factory.mktemp("fuzz") / "data")
    started = time.monotonic()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if _counts:
            capture = request.config.pluginmanager.get_plugin("capturemanager")
            with capture.global_and_fixture_disabled():
                print(f"\nschemathesis: {sum(_counts.values())} cases over {len(_counts)} "
                      f"operations in {time.monotonic() - started:.1f} s")


REFUSALS = [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
"""Answers that refuse invalid data: schemathesis' list and 413. A string at ``maxLength``
+ 1 of non-ASCII characters can outgrow ``MAX_BODY_BYTES`` (1 MiB) before any model sees
it; the 413 refuses it as a 422 would (the long run counted it "accepted")."""


@pytest.fixture(scope="module")
def api_schema(fuzz_server: FuzzServer) -> Any:
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}})
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", config=config)


_doomed: list[str] = []
"""A device token for the operations that may end it; replaced once one succeeds."""


def _headers(server: FuzzServer, case: Case) -> dict[str, str]:
    path = case.operation.path
    if path in FRESH_DEVICE_PATHS:
        if not _doomed:
            _doomed.append(server.login(USER, "doomed"))
        token = _doomed[0]
    elif path.startswith(STAFF_PREFIXES):
        token = server.admin_token
    else:
        token = server.user_token
    return {"Authorization": f"Bearer {token}"}


def _aim_at_real_objects(server: FuzzServer, case: Case) -> None:
    """Every other case names objects that exist, so the code behind the 404 runs."""
    key = case.operation.label
    if _counts.get(key, 0) % 2 or not case.path_parameters:
        return
    params = case.path_parameters
    if "handle" in params:
        params["handle"] = CHANNEL
    if "number" in params:
        params["number"] = server.objects["numbers"][0]
    if "post_id" in params:  # staff routes name the internal id
        params["post_id"] = server.objects["posts"][0]
    if "gid" in params:
        params["gid"] = server.objects["group"]["id"]
    if "name" in params and case.operation.path.startswith("/api/v1/admin/users"):
        params["name"] = USER


def _headers_broken(case: Case) -> bool:
    """A negative case whose headers break the schema: it may leave out or garble the
    Authorization header on purpose (the bearer scheme is a required header), so it is
    sent with its headers as generated, not with the fixture's token."""
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return headers is not None and headers.mode is GenerationMode.NEGATIVE


def _run(server: FuzzServer, case: Case) -> None:
    _aim_at_real_objects(server, case)
    # positive cases do what a client must where no schema can say it (the two modules)
    obey_user_rules(server, case)
    satisfy_staff_rules(server, case)
    _counts[case.operation.label] = _counts.get(case.operation.label, 0) + 1
    headers = {} if _headers_broken(case) else _headers(server, case)
    response = case.call(base_url=server.url, headers=headers, timeout=30)
    if case.operation.path in FRESH_DEVICE_PATHS and response.status_code < 300:
        _doomed.clear()  # that device may be gone now: the next such case logs in again
    case.validate_response(response, checks=None)


def _fuzz(server: FuzzServer, api_schema: Any, examples: int, *,
          derandomize: bool = False) -> None:
    """Every operation, positive and negative examples; all failures listed at the end."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
                  suppress_health_check=list(HealthCheck), phases=FUZZ_PHASES)
        def check(case: Case) -> None:
            _run(server, case)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported below
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 80, f"only {operations} operations in /openapi.json"
    assert not failures, "\n\n".join(failures)


def test_api_fuzz_bounded(fuzz_server: FuzzServer, api_schema: Any) -> None:
    # The same cases every run (Hypothesis' derandomize): CI answers for the code, not
    # for a draw; the long run below (``-m fuzz``) explores fresh cases each time.
    _fuzz(fuzz_server, api_schema, FUZZ_CI_EXAMPLES, derandomize=True)


@pytest.mark.fuzz
def test_api_fuzz_long(fuzz_server: FuzzServer, api_schema: Any) -> None:
    _fuzz(fuzz_server, api_schema, FUZZ_LONG_EXAMPLES)


def test_admin_is_staff(fuzz_server: FuzzServer) -> None:
    """The fixture's staff token really is an admin's (else staff routes stop at 403)."""
    r = httpx.get(fuzz_server.url + "/api/v1/accounts/me",
                  headers={"Authorization": f"Bearer {fuzz_server.admin_token}"})
    assert r.json()["username"] == ADMIN and r.json()["role"] == "admin"

