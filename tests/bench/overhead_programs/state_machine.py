# An Enum-driven state machine with a match statement.
import enum


class State(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"


def advance(state, event):
    match (state, event):
        case (State.IDLE, "start"):
            return State.RUNNING
        case (State.RUNNING, "pause"):
            return State.PAUSED
        case (State.PAUSED, "resume"):
            return State.RUNNING
        case (State.RUNNING, "finish"):
            return State.DONE
        case (State.DONE, _):
            return State.IDLE
        case _:
            return state


events = ["start", "pause", "resume", "noise", "finish", "reset"]
state = State.IDLE
visits = {s: 0 for s in State}
for i in range(40000):
    state = advance(state, events[(i * 5) % 6])
    visits[state] += 1
[state.value, {s.value: n for s, n in visits.items()}]
