"""One stack serving the sample app for the whole session: starting Azurite and the emulators is slow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import SAMPLE_ENV, StackProcess, start_stack


@pytest.fixture(scope="session")
def sample_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """`devstack up --app tests.e2e.sample_app:app` on a free port, stopped at the end of the session."""
    stack = start_stack(tmp_path_factory.mktemp("sample-stack"), SAMPLE_ENV)
    yield stack
    stack.terminate()
