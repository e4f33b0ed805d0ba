"""Telemetry off loads no OpenTelemetry module, even on a run; on, Azure Monitor is configured lazily."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_RUN = (
    "import json, os, sys\n"
    "import function_app\n"
    "function_app.app.get_functions()\n"
    "before = sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'azure.monitor')))\n"
    "from shared import clock, telemetry\n"
    "from shared.http import new_session\n"
    "from shared.runs import Kind, Run, Status, new_run_id\n"
    "new_session().close()\n"
    "now = clock.now()\n"
    "run = Run(id=new_run_id(now), kind=Kind.JOB, name='probe', trigger='cli', status=Status.RUNNING,"
    " created=now)\n"
    "with telemetry.run_span(run, connection='graph_cert') as span:\n"
    "    span.set(run_status='succeeded')\n"
    "from shared.webhooks._inbox import InboxEvent, envelope\n"
    "envelope('signed', 'probe', [InboxEvent('e1', 'probe', None, {})])  # a receiver's message\n"
    "after = sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'azure.monitor')))\n"
    "print(json.dumps({'before': before, 'after': after, 'active': telemetry.active()}))\n"
    "sys.stdout.flush()\n"
    "os._exit(0)  # not waiting for the exporter's retries against the closed port\n"
)


def _run(**env: str) -> tuple[dict[str, object], str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("APPLICATIONINSIGHTS_", "TELEMETRY_", "IDENTITY_", "MSI_"))
    }
    out = subprocess.run(
        [sys.executable, "-c", _RUN],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"before"')]
    return json.loads(lines[-1]), out.stdout


def test_telemetry_off_imports_nothing_even_on_a_run() -> None:
    """No setting: indexing, an HTTP session, a run span, a webhook message load no OpenTelemetry module."""
    result, _ = _run()
    assert result == {"before": [], "after": [], "active": False}


def test_connection_string_configures_azure_monitor_on_first_use_not_at_import() -> None:
    """With a connection string, nothing loads at import; the first run configures it (console too)."""
    result, stdout = _run(
        APPLICATIONINSIGHTS_CONNECTION_STRING=(
            "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/"
        ),
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING="Authorization=AAD;ClientId=eae93b2c-b513-4468-a36e-aaf06544a6c2",
        IDENTITY_ENDPOINT="http://127.0.0.1:9/token",
        IDENTITY_HEADER="unused",
        TELEMETRY_CONSOLE="true",
    )
    assert result["before"] == []
    assert "azure.monitor.opentelemetry" in result["after"]  # type: ignore[operator]
    assert result["active"] is True
    assert '"name": "job probe"' in stdout
    assert '"connection": "graph_cert"' in stdout
