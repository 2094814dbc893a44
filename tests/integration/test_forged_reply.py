"""A worker that writes its own reply: the API applies the job's limits to it anyway.

The programs run in real workers of the unguarded template (plain ``exec``, the real
builtins: what a program that escaped the language layer gets, see
tests/support/unguarded_template.py). Each writes a reply frame of its own on the
channel, claiming nothing was cut, and then exits: the reply it forged is the only one
the pool reads.
"""

from __future__ import annotations

import asyncio

import pytest

from src.language.catalogue import CATALOGUE
from src.protocol import MAX_ERROR_TYPE_CHARS
from src.sandbox.pool import ExecutionPool, RunOutcome
from tests.support.jobs import job
from tests.support.unguarded_template import ENTRY

MAX_RESULT_BYTES = 4096
MAX_ERROR_CHARS = 2000  # tests.support.jobs

FORGER = """
import json, os
frame = json.dumps(reply).encode()
data = len(frame).to_bytes(4, "big") + frame
while data:
    data = data[os.write(3, data):]
os._exit(0)
"""


def run_forged(reply: dict[str, object], prelude: str = "") -> RunOutcome:
    """``reply`` written by the worker as its own; ``prelude`` runs first (it may change it)."""

    async def main() -> RunOutcome:
        pool = ExecutionPool(sorted(CATALOGUE), 1, template_entry=ENTRY)
        await pool.start()
        try:
            return await pool.run(
                job(prelude + FORGER, {"reply": reply}, max_result_bytes=MAX_RESULT_BYTES),
                10,
                stdout_budget=4096,
                stderr_budget=4096,
                flood_factor=4,
            )
        finally:
            await pool.stop()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def oversized() -> RunOutcome:
    """Within the frame size the protocol allows, but over every limit of the job."""
    return run_forged(
        {
            "success": False,
            "result": "x" * (3 * MAX_RESULT_BYTES),
            "result_truncated": False,
            "error": {"type": "E" * (2 * MAX_ERROR_TYPE_CHARS), "message": "m" * (3 * MAX_ERROR_CHARS), "line": 1},
            "limit": None,
        }
    )


def test_a_forged_result_over_the_limit_is_not_returned(oversized: RunOutcome) -> None:
    assert oversized.reply["result"] is None


def test_a_forged_result_over_the_limit_is_marked_truncated(oversized: RunOutcome) -> None:
    assert oversized.reply["result_truncated"] is True


def test_a_forged_error_message_is_cut_to_the_limit(oversized: RunOutcome) -> None:
    error = oversized.reply["error"]
    assert error is not None
    assert error["message"] == "m" * MAX_ERROR_CHARS


def test_a_forged_error_type_is_cut_to_the_limit(oversized: RunOutcome) -> None:
    error = oversized.reply["error"]
    assert error is not None
    assert error["type"] == "E" * MAX_ERROR_TYPE_CHARS


def test_a_forged_reply_within_the_limits_is_taken_as_it_is() -> None:
    """The sibling: the same forger, within the limits, shows the frame is what is read."""
    outcome = run_forged({"success": True, "result": "forged", "result_truncated": False, "error": None, "limit": None})
    assert (outcome.reply["result"], outcome.reply["result_truncated"]) == ("forged", False)


def test_a_forged_reply_no_worker_writes_is_a_crashed_worker() -> None:
    # A lone surrogate, which the worker's converter always escapes; built in the worker,
    # since a job cannot carry one.
    reply: dict[str, object] = {
        "success": True,
        "result": None,
        "result_truncated": False,
        "error": None,
        "limit": None,
    }
    outcome = run_forged(reply, prelude='reply["result"] = chr(0xD800)\n')
    error = outcome.reply["error"]
    assert error is not None
    assert (outcome.reply["result"], error["type"]) == (None, "WorkerCrashed")
