"""schemathesis against the local host from /api/openapi.json: no 5xx, no answer outside the document.

Bounded: a few examples per operation (positive and negative data), no shrinking, about a minute
in all. Requests carry the function key and a valid caller token (Adele: the API scope and both
app roles), so the fuzzer reaches the automations' input validation and their Graph calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import caller_tokens as ct
from tests.e2e.helpers import StackProcess, start_stack

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 30
BUDGET_S = 60.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def app_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """`devstack up` serving the real function_app on a free port."""
    stack = start_stack(tmp_path_factory.mktemp("fuzz-stack"), {"AUTOMATIONS__CONNECTION": "graph_cert"})
    yield stack
    stack.terminate()


def test_fuzz_finds_no_server_error_and_no_schema_break(app_stack: StackProcess) -> None:
    """Every described operation, fuzzed with valid credentials: 0 server errors, 0 non-conforming answers."""
    state = app_stack.state()
    ca = str(state["caBundle"])  # absolute: the test gives devstack an absolute state dir
    token = ct.user_token(state["authorityHost"], state["tenantId"], ca, ct.ADELE, fresh=True)
    base = state["baseUrl"]
    headers = {"x-functions-key": state["functionKey"], "Authorization": f"Bearer {token}"}
    plain = requests.Session()
    plain.trust_env = False
    doc = plain.get(f"{base}/openapi.json", headers=headers, timeout=30).json()
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    calls = 0
    deadline = time.monotonic() + BUDGET_S
    # An Err (an operation the document describes badly) has no .ok(): the test fails on it.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 5
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            nonlocal calls
            if time.monotonic() > deadline:
                return
            # The credentials win over whatever the fuzzer generated for those headers.
            response = case.call(base_url=base, session=plain, headers=headers, timeout=30)
            calls += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {str(exc)[:400]}"
                )

        fuzz()
    print(f"fuzz: {calls} calls over {len(operations)} operations, {len(failures)} failures")
    assert calls >= len(operations)
    assert failures == []
