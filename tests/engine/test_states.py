"""States: DALiuGE's integer codes and the one table of legal transitions."""

from __future__ import annotations

import pickle
from enum import StrEnum

import pytest

from liuray.engine.states import (
    APP_TRANSITIONS,
    DROP_TRANSITIONS,
    SESSION_TRANSITIONS,
    AppState,
    DropState,
    SessionState,
    check,
)
from liuray.errors import InvalidTransition

# daliuge.md section 1.3 (ddap_protocol.DROPStates, AppDROPStates, SessionStates).
DALIUGE_CODES: list[tuple[type[StrEnum], dict[str, int]]] = [
    (
        DropState,
        {
            "INITIALIZED": 0,
            "WRITING": 1,
            "COMPLETED": 2,
            "ERROR": 3,
            "EXPIRED": 4,
            "DELETED": 5,
            "CANCELLED": 6,
            "SKIPPED": 7,
        },
    ),
    (
        AppState,
        {"NOT_RUN": 0, "RUNNING": 1, "FINISHED": 2, "ERROR": 3, "CANCELLED": 4, "SKIPPED": 5},
    ),
    (
        SessionState,
        {
            "PRISTINE": 0,
            "BUILDING": 1,
            "DEPLOYING": 2,
            "RUNNING": 3,
            "FINISHED": 4,
            "CANCELLED": 5,
            "FAILED": 6,
        },
    ),
]
TABLES = [
    pytest.param(DropState, DROP_TRANSITIONS, id="drop"),
    pytest.param(AppState, APP_TRANSITIONS, id="app"),
    pytest.param(SessionState, SESSION_TRANSITIONS, id="session"),
]


@pytest.mark.parametrize(("enum", "codes"), DALIUGE_CODES, ids=["drop", "app", "session"])
def test_codes_match_daliuge(enum: type[StrEnum], codes: dict[str, int]) -> None:
    """Every member has DALiuGE's integer, and there are no extra members."""
    assert {member.name: member.code for member in enum} == codes  # type: ignore[attr-defined]


@pytest.mark.parametrize(("enum", "codes"), DALIUGE_CODES, ids=["drop", "app", "session"])
def test_from_code_round_trips(enum: type[StrEnum], codes: dict[str, int]) -> None:
    """from_code(n) is the member whose code is n."""
    for name, code in codes.items():
        assert enum.from_code(code) is enum[name]  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [-1, 8, 100])
def test_from_code_rejects_unknown_codes(code: int) -> None:
    """An out-of-range code names the valid range."""
    with pytest.raises(ValueError, match=r"DropState: no state has code .*valid 0\.\.7"):
        DropState.from_code(code)


def test_states_read_as_words() -> None:
    """States are StrEnums: logs and f-strings show words, not DALiuGE's integers."""
    assert f"{DropState.COMPLETED}" == "completed"
    assert str(AppState.NOT_RUN) == "not_run"
    assert SessionState("failed") is SessionState.FAILED


@pytest.mark.parametrize(("enum", "table"), TABLES)
def test_every_state_has_a_row(
    enum: type[StrEnum], table: dict[StrEnum, frozenset[StrEnum]]
) -> None:
    """The transition tables cover every state of their enum, and only those."""
    assert set(table) == set(enum)
    for targets in table.values():
        assert targets <= set(enum)


@pytest.mark.parametrize(("enum", "table"), TABLES)
def test_legal_transitions_return_the_target(
    enum: type[StrEnum], table: dict[StrEnum, frozenset[StrEnum]]
) -> None:
    """check() returns the new state for every legal move."""
    moves = [(start, end) for start, targets in table.items() for end in targets]
    assert moves, "a table with no legal move at all"
    for start, end in moves:
        assert check("x", start, end, table) is end  # type: ignore[type-var]


@pytest.mark.parametrize(("enum", "table"), TABLES)
def test_every_illegal_transition_names_the_legal_targets(
    enum: type[StrEnum], table: dict[StrEnum, frozenset[StrEnum]]
) -> None:
    """Each (start, end) pair missing from the table raises, listing what is allowed."""
    illegal = [(s, e) for s in enum for e in enum if e not in table[s]]
    assert len(illegal) > len(enum)
    for start, end in illegal:
        with pytest.raises(InvalidTransition) as caught:
            check("Drop 'd1'", start, end, table)  # type: ignore[type-var]
        allowed = sorted(str(s) for s in table[start]) or ["none (final state)"]
        assert caught.value.message == (
            f"Drop 'd1': cannot go {start} -> {end}; allowed from {start}: {allowed}"
        )
        assert caught.value.detail == {"start": str(start), "end": str(end)}


def test_final_states_say_so() -> None:
    """Leaving a final state is refused with 'none (final state)' as the only option."""
    with pytest.raises(InvalidTransition, match=r"allowed from error: \['none \(final state\)'\]"):
        check("App 'a'", AppState.ERROR, AppState.RUNNING, APP_TRANSITIONS)


def test_invalid_transition_survives_pickling() -> None:
    """Errors cross process boundaries with their message and structured fields."""
    with pytest.raises(InvalidTransition) as caught:
        check("Drop 'd'", DropState.COMPLETED, DropState.WRITING, DROP_TRANSITIONS)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is InvalidTransition
    assert copy.message == caught.value.message
    assert copy.detail == {"start": "completed", "end": "writing"}
