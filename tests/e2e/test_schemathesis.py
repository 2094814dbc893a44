"""Schemathesis against the service's own OpenAPI, on a real server: generated requests
(valid and invalid) never get a 5xx, and every answer matches what the schema says
(status code, content type, headers, body).

Run through schemathesis's command line (its pytest plugin does not support pytest 9
yet), bounded: a fixed number of examples per operation and a fixed seed, so that a
failure reproduces, and a timeout on the whole run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import TOKEN, run_server

#: Checks that do not apply to this API, and why.
NOT_APPLICABLE = {
    # Code that matches the schema (any string) may still be refused by the validator
    # (400): a JSON schema cannot say "Python that imports only the catalogue".
    "positive_data_acceptance",
}


@pytest.mark.slow
def test_api_conforms_to_its_schema(tmp_path: Path) -> None:
    with run_server(tmp_path) as server:
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"X-Executor-Token: {TOKEN}",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(sorted(NOT_APPLICABLE)),
            "--max-examples",
            "200",
            "--seed",
            "20261123",
            "--request-timeout",
            "30",
            "--no-color",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        server_log = server.log()
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "Traceback" not in server_log, server_log[-3000:]
