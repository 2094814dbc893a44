# Tries: build date/datetime/time from a pickled state of the program's bytes, the C
# constructors' branch that checks only the month (the hour for time). Year 0 makes
# weekday() negative, and ctime() then indexes its static DayNames table out of bounds:
# it prints another table's string or crashes the worker (attack pass 65: a01, a10; plain
# CPython 3.13.0 too). Must: a state out of the ordinary constructors' ranges is refused
# (ValueError: repairs' datetime_states.c); the ordinary constructors, a valid
# state and a round trip through copy keep working.
import copy
import datetime

outcome = []
for make in (
    lambda: datetime.datetime(bytes([0, 0, 1, 3, 0, 0, 0, 0, 0, 0])),
    lambda: datetime.date(bytes([0, 0, 1, 5])),
    lambda: datetime.time(bytes([0, 255, 255, 0, 0, 0])),
    lambda: datetime.datetime(bytes([7, 228, 1, 1, 0x80 | 5, 0, 0, 0, 0, 0])),  # hour 133 (pass 67)
):
    try:
        made = make()
        outcome.append(("made", made.isoformat()))
    except ValueError:
        outcome.append("ValueError")
moment = datetime.datetime(2024, 2, 29, 12, 30)
outcome.append(copy.copy(moment) == moment and moment.ctime() == "Thu Feb 29 12:30:00 2024")
outcome.append(datetime.date(bytes([7, 232, 2, 29])).isoformat())
outcome
