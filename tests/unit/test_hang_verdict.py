"""The template hang watchdog's decision, on a clock the test sets: a template is hung
only when a confirmation that ran on time still sees no answer. A blocked event loop of
the API process (long callbacks) delays the confirmation, and must never be taken for
the template's silence (it once killed a template that had answered)."""

from __future__ import annotations

from src.sandbox.template_client import HANG_CONFIRM_S, hang_verdict

TIMEOUT_S = 3.0
SENT = 100.0  # when the oldest outstanding request started waiting


def test_before_the_bound_it_waits() -> None:
    assert hang_verdict(SENT + 2.9, SENT, TIMEOUT_S, confirm_at=0.0, overdue_since=None) == "wait"


def test_past_the_bound_it_confirms_first() -> None:
    assert hang_verdict(SENT + 3.0, SENT, TIMEOUT_S, confirm_at=0.0, overdue_since=None) == "confirm"


def test_a_confirmation_on_time_without_an_answer_is_a_hang() -> None:
    confirm_at = SENT + 3.0 + HANG_CONFIRM_S
    assert hang_verdict(confirm_at + 0.001, SENT, TIMEOUT_S, confirm_at, overdue_since=SENT) == "hung"


def test_a_confirmation_the_event_loop_delayed_confirms_again() -> None:
    confirm_at = SENT + 3.0 + HANG_CONFIRM_S
    late = confirm_at + 3.6  # one iteration of the loop held by long callbacks
    assert hang_verdict(late, SENT, TIMEOUT_S, confirm_at, overdue_since=SENT) == "confirm"


def test_an_answer_after_the_confirmation_started_a_new_wait() -> None:
    # The template answered: the wait now counts from the answer, and the earlier
    # overdue mark is for another wait.
    answered = SENT + 3.05
    assert hang_verdict(answered + 1.0, answered, TIMEOUT_S, SENT + 3.1, overdue_since=SENT) == "wait"
    assert hang_verdict(answered + 3.2, answered, TIMEOUT_S, SENT + 3.1, overdue_since=SENT) == "confirm"
