"""The pure session machine: events in, instructions out, DALiuGE's firing rules.

No threads here: each test feeds events and compares the returned instruction lists
and drop states with ``==``. The ``machine`` fixture checks the machine's invariants
after every ``handle`` and on teardown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from liuray.engine.events import (
    AppFailed,
    AppFinished,
    CancelApp,
    DataWritten,
    DropsLost,
    DropsTriggered,
    Event,
    Instruction,
    ProducerSettled,
    PublishState,
    ReleaseData,
    RunApp,
    SessionCancelled,
    SessionEnded,
)
from liuray.engine.machine import DropNode, SessionMachine, link_check
from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import GraphError, InvalidTransition

FINISHED = [SessionEnded(SessionState.FINISHED)]
FAILED = [SessionEnded(SessionState.FAILED)]

Factory = Callable[..., SessionMachine]
D = DropState
A = AppState


def states(machine: SessionMachine, *uids: str) -> dict[str, str]:
    """Drop state of data drops and execution state of apps, by uid."""
    nodes = machine.nodes
    return {u: str(nodes[u].app_state if nodes[u].is_app else nodes[u].state) for u in uids}


# --------------------------------------------------------------------------- basic runs


def test_simple_run(machine: Factory) -> None:
    """cat | sort: the root app runs, its output completes, the next app runs, the end."""
    m = machine({"cat": ("", "text"), "sort": ("text", "sorted")})
    assert m.roots() == ["cat"]
    assert m.handle(DropsTriggered(("cat",))) == [RunApp("cat")]
    assert states(m, "cat", "text", "sort") == {
        "cat": "running",
        "text": "initialized",
        "sort": "not_run",
    }
    assert m.handle(AppFinished("cat")) == [RunApp("sort")]
    assert m.nodes["text"].state is D.COMPLETED
    assert m.handle(AppFinished("sort")) == FINISHED
    assert m.state is SessionState.FINISHED
    assert states(m, "cat", "text", "sort", "sorted") == {
        "cat": "finished",
        "text": "completed",
        "sort": "finished",
        "sorted": "completed",
    }
    assert m.nodes["cat"].state is D.COMPLETED


def test_root_data_drops_complete_when_triggered(machine: Factory) -> None:
    """A data drop with no producer is completed by the trigger and fires its consumer."""
    m = machine({"grep": ("input", "matches")})
    assert m.roots() == ["input"]
    assert m.handle(DropsTriggered(("input",))) == [RunApp("grep")]
    assert m.nodes["input"].state is D.COMPLETED


def test_empty_session_ends_at_once(machine: Factory) -> None:
    """A session with no drops finishes as soon as it is triggered."""
    m = machine({})
    assert m.handle(DropsTriggered(())) == FINISHED


def test_fan_in_waits_for_every_input(machine: Factory) -> None:
    """sort waits until both cat1 and cat2 wrote their parts."""
    m = machine({"cat1": ("", "part1"), "cat2": ("", "part2"), "sort": ("part1 part2", "out")})
    assert m.handle(DropsTriggered(("cat1", "cat2"))) == [RunApp("cat1"), RunApp("cat2")]
    assert m.handle(AppFinished("cat2")) == []
    assert m.nodes["sort"].app_state is A.NOT_RUN
    assert m.handle(AppFinished("cat1")) == [RunApp("sort")]


def test_fan_out_runs_every_consumer(machine: Factory) -> None:
    """One output read by three apps starts all three."""
    m = machine({"src": ("", "d"), "x": ("d", ""), "y": ("d", ""), "z": ("d", "")})
    m.handle(DropsTriggered(("src",)))
    assert m.handle(AppFinished("src")) == [RunApp("x"), RunApp("y"), RunApp("z")]


def test_data_written_moves_to_writing(machine: Factory) -> None:
    """The first bytes make a data drop WRITING; its producer finishing completes it."""
    m = machine({"a": ("", "d")})
    m.handle(DropsTriggered(("a",)))
    assert m.handle(DataWritten("d")) == []
    assert m.nodes["d"].state is D.WRITING
    m.handle(DataWritten("d"))
    assert m.nodes["d"].state is D.WRITING
    assert m.handle(AppFinished("a")) == FINISHED
    assert states(m, "d") == {"d": "completed"}


def test_counts_by_state(machine: Factory) -> None:
    """counts() groups apps by execution state and data by drop state."""
    m = machine({"a": ("", "d"), "b": ("d", "e")})
    m.handle(DropsTriggered(("a",)))
    assert m.counts() == {"running": 1, "not_run": 1, "initialized": 2}


# --------------------------------------------------------------------------- errors


def test_error_propagates_app_to_data_to_app(machine: Factory) -> None:
    """cat fails: its output is ERROR, grep never runs and goes ERROR, and so on."""
    m = machine({"cat": ("", "text"), "grep": ("text", "lines"), "wc": ("lines", "count")})
    m.handle(DropsTriggered(("cat",)))
    assert m.handle(AppFailed("cat", "IOError: no such file")) == FAILED
    assert states(m, "cat", "text", "grep", "lines", "wc", "count") == {
        "cat": "error",
        "text": "error",
        "grep": "error",
        "lines": "error",
        "wc": "error",
        "count": "error",
    }
    assert m.nodes["cat"].error == "IOError: no such file"
    assert m.nodes["text"].error == "producer 'cat' failed"
    assert m.nodes["grep"].error == "1 of 1 inputs in error (input_error_threshold 0%)"
    assert m.state is SessionState.FAILED


def test_data_with_several_producers_waits_for_all_then_errors(machine: Factory) -> None:
    """A drop written by two apps settles only when both did; one failure makes it ERROR."""
    m = machine({"a": ("", "d"), "b": ("", "d"), "c": ("d", "")})
    m.handle(DropsTriggered(("a", "b")))
    assert m.handle(AppFailed("a", "boom")) == []
    assert m.nodes["d"].state is D.INITIALIZED
    assert m.handle(AppFinished("b")) == FAILED
    assert states(m, "d", "c") == {"d": "error", "c": "error"}


def four_inputs(machine: Factory, threshold: int) -> SessionMachine:
    return machine(
        {
            "p1": ("", "d1"),
            "p2": ("", "d2"),
            "p3": ("", "d3"),
            "p4": ("", "d4"),
            "avg": ("d1 d2 d3 d4", "mean"),
        },
        app_options={"avg": {"error_threshold": threshold}},
    )


@pytest.mark.parametrize("threshold", [25, 50, 100])
def test_input_error_threshold_tolerates_errors(machine: Factory, threshold: int) -> None:
    """1 of 4 inputs in error is 25%: an app tolerating >= 25% still runs."""
    m = four_inputs(machine, threshold)
    m.handle(DropsTriggered(("p1", "p2", "p3", "p4")))
    assert m.handle(AppFailed("p1", "bad"), AppFinished("p2"), AppFinished("p3")) == []
    assert m.handle(AppFinished("p4")) == [RunApp("avg")]
    assert m.handle(AppFinished("avg")) == FAILED  # d1 and p1 are still in error
    assert m.nodes["mean"].state is D.COMPLETED


@pytest.mark.parametrize("threshold", [0, 24])
def test_input_error_threshold_exceeded_fails_without_running(
    machine: Factory, threshold: int
) -> None:
    """1 of 4 inputs in error exceeds a threshold below 25%: ERROR, no RunApp, outputs ERROR."""
    m = four_inputs(machine, threshold)
    m.handle(DropsTriggered(("p1", "p2", "p3", "p4")))
    out = m.handle(AppFailed("p1", "bad"), AppFinished("p2"), AppFinished("p3"), AppFinished("p4"))
    assert out == FAILED
    assert states(m, "avg", "mean") == {"avg": "error", "mean": "error"}
    assert m.nodes["avg"].error == (f"1 of 4 inputs in error (input_error_threshold {threshold}%)")


# --------------------------------------------------------------------------- skips


def test_one_skipped_input_skips_the_app_and_everything_downstream(machine: Factory) -> None:
    """A skipped input skips its reader even though the other input completed.

    The skip cascades: the app's output, the next app and its output are SKIPPED, and
    the session still FINISHES (a skip is not a failure).
    """
    m = machine(
        {
            "branch": ("", "yes no"),
            "other": ("", "extra"),
            "join": ("no extra", "joined"),
            "after": ("joined", "final"),
            "use_yes": ("yes", ""),
        }
    )
    m.handle(DropsTriggered(("branch", "other")))
    assert m.handle(AppFinished("other")) == []
    assert m.handle(AppFinished("branch", skip_outputs=("no",))) == [RunApp("use_yes")]
    assert states(m, "no", "join", "joined", "after", "final") == {
        "no": "skipped",
        "join": "skipped",
        "joined": "skipped",
        "after": "skipped",
        "final": "skipped",
    }
    assert m.handle(AppFinished("use_yes")) == FINISHED


@pytest.mark.parametrize(
    ("skipped", "expected"),
    [
        (("left",), [RunApp("join")]),
        (("left", "right"), FINISHED),
    ],
    ids=["one-skipped-runs", "all-skipped-skips"],
)
def test_block_skip_skips_only_when_every_input_skipped(
    machine: Factory, skipped: tuple[str, ...], expected: list[Instruction]
) -> None:
    """With block_skip an app joining two branches runs unless *both* were skipped."""
    m = machine(
        {"b1": ("", "left"), "b2": ("", "right"), "join": ("left right", "out")},
        app_options={"join": {"block_skip": True}},
    )
    m.handle(DropsTriggered(("b1", "b2")))
    m.handle(AppFinished("b1", skip_outputs=tuple(u for u in skipped if u == "left")))
    out = m.handle(AppFinished("b2", skip_outputs=tuple(u for u in skipped if u == "right")))
    assert out == expected
    want = "running" if len(skipped) == 1 else "skipped"
    assert m.nodes["join"].app_state == want


def test_data_block_skip_waits_for_the_last_producer(machine: Factory) -> None:
    """A data drop with block_skip and two producers is SKIPPED only if both skipped it."""
    m = machine(
        {"b1": ("", "merged"), "b2": ("", "merged"), "use": ("merged", "")},
        data_options={"merged": {"block_skip": True}},
    )
    m.handle(DropsTriggered(("b1", "b2")))
    assert m.handle(AppFinished("b1", skip_outputs=("merged",))) == []
    assert m.nodes["merged"].state is D.INITIALIZED
    assert m.handle(AppFinished("b2")) == [RunApp("use")]
    assert states(m, "merged") == {"merged": "completed"}


def test_data_without_block_skip_skips_on_first_skipping_producer(machine: Factory) -> None:
    """Without block_skip one skipping producer skips the drop at once."""
    m = machine({"b1": ("", "merged"), "b2": ("", "merged"), "use": ("merged", "")})
    m.handle(DropsTriggered(("b1", "b2")))
    assert m.handle(AppFinished("b1", skip_outputs=("merged",))) == []
    assert states(m, "merged", "use") == {"merged": "skipped", "use": "skipped"}
    assert m.handle(AppFinished("b2")) == FINISHED


def test_branch_runs_the_taken_side_and_skips_the_other(machine: Factory) -> None:
    """if/else: the branch app names the output not taken; only the other side runs."""
    m = machine(
        {
            "cond": ("", "true false"),
            "then": ("true", "then_out"),
            "else": ("false", "else_out"),
            "after_else": ("else_out", "else_final"),
        }
    )
    m.handle(DropsTriggered(("cond",)))
    assert m.handle(AppFinished("cond", skip_outputs=("false",))) == [RunApp("then")]
    assert states(m, "true", "false", "else", "else_out", "after_else", "else_final") == {
        "true": "completed",
        "false": "skipped",
        "else": "skipped",
        "else_out": "skipped",
        "after_else": "skipped",
        "else_final": "skipped",
    }
    assert m.handle(AppFinished("then")) == FINISHED
    assert m.nodes["then_out"].state is D.COMPLETED


# --------------------------------------------------------------------------- retries


def test_retries_until_an_attempt_succeeds(machine: Factory) -> None:
    """n_tries=3: two failures are retried (attempts 2 and 3), the third attempt works."""
    m = machine({"flaky": ("", "out")}, app_options={"flaky": {"tries": 3}})
    assert m.handle(DropsTriggered(("flaky",))) == [RunApp("flaky", attempt=1)]
    assert m.handle(AppFailed("flaky", "timeout")) == [RunApp("flaky", attempt=2)]
    assert m.nodes["flaky"].app_state is A.RUNNING
    assert m.handle(AppFailed("flaky", "timeout")) == [RunApp("flaky", attempt=3)]
    assert m.handle(AppFinished("flaky")) == FINISHED
    assert states(m, "flaky", "out") == {"flaky": "finished", "out": "completed"}
    assert m.nodes["flaky"].error == ""


def test_single_try_fails_and_keeps_the_reason(machine: Factory) -> None:
    """n_tries=1 (the default): the first failure is final and its reason is kept."""
    m = machine({"once": ("", "out")})
    m.handle(DropsTriggered(("once",)))
    assert m.handle(AppFailed("once", "ValueError: bad input")) == FAILED
    assert m.nodes["once"].app_state is A.ERROR
    assert m.nodes["once"].error == "ValueError: bad input"


def test_retries_exhausted_keep_the_last_reason(machine: Factory) -> None:
    """n_tries=2 and two failures: ERROR with the last attempt's reason."""
    m = machine({"flaky": ("", "out")}, app_options={"flaky": {"tries": 2}})
    m.handle(DropsTriggered(("flaky",)))
    assert m.handle(AppFailed("flaky", "first")) == [RunApp("flaky", attempt=2)]
    assert m.handle(AppFailed("flaky", "second")) == FAILED
    assert m.nodes["flaky"].error == "second"


# --------------------------------------------------------------------------- cancel


def test_cancel_stops_running_apps_and_cancels_the_rest(machine: Factory) -> None:
    """Cancel: running apps get CancelApp, unfinished drops CANCELLED, finished ones kept."""
    m = machine({"done": ("", "d0"), "slow": ("d0", "d1"), "next": ("d1", "d2"), "side": ("", "s")})
    m.handle(DropsTriggered(("done", "side")))
    m.handle(AppFinished("done"))
    assert m.handle(SessionCancelled()) == [
        CancelApp("slow"),
        CancelApp("side"),
        SessionEnded(SessionState.CANCELLED),
    ]
    assert m.state is SessionState.CANCELLED
    assert states(m, "done", "d0", "slow", "d1", "next", "d2", "side", "s") == {
        "done": "finished",
        "d0": "completed",
        "slow": "cancelled",
        "d1": "cancelled",
        "next": "cancelled",
        "d2": "cancelled",
        "side": "cancelled",
        "s": "cancelled",
    }
    assert m.nodes["slow"].state is D.CANCELLED


def test_late_reports_after_cancel_are_ignored(machine: Factory) -> None:
    """A cancelled app that still reports back (finished or failed) changes nothing."""
    m = machine({"slow": ("", "d"), "other": ("", "e"), "next": ("d", "")})
    m.handle(DropsTriggered(("slow", "other")))
    m.handle(SessionCancelled())
    assert m.handle(AppFinished("slow")) == []
    assert m.handle(AppFailed("other", "killed")) == []
    assert m.handle(SessionCancelled()) == []
    assert m.handle(DropsTriggered(("slow",))) == []
    assert states(m, "slow", "d", "next") == {
        "slow": "cancelled",
        "d": "cancelled",
        "next": "cancelled",
    }
    assert m.state is SessionState.CANCELLED


def test_cancel_after_the_end_does_nothing(machine: Factory) -> None:
    """Cancelling a finished session returns no instruction and keeps FINISHED."""
    m = machine({"a": ("", "d")})
    m.handle(DropsTriggered(("a",)))
    m.handle(AppFinished("a"))
    assert m.handle(SessionCancelled()) == []
    assert m.state is SessionState.FINISHED


# --------------------------------------------------------------------------- release


def test_memory_is_released_once_every_consumer_settled(machine: Factory) -> None:
    """A releasable drop read by two apps is freed (EXPIRED) after the second one."""
    m = machine(
        {"make": ("", "buf"), "r1": ("buf", "o1"), "r2": ("buf", "o2")},
        data_options={"buf": {"releasable": True}},
    )
    m.handle(DropsTriggered(("make",)))
    assert m.handle(AppFinished("make")) == [RunApp("r1"), RunApp("r2")]
    assert m.handle(AppFinished("r1")) == []
    assert m.nodes["buf"].state is D.COMPLETED
    assert m.handle(AppFinished("r2")) == [ReleaseData("buf"), *FINISHED]
    assert states(m, "buf") == {"buf": "expired"}


def test_failed_consumer_still_releases(machine: Factory) -> None:
    """A consumer that failed is settled too: the payload is still freed."""
    m = machine(
        {"make": ("", "buf"), "r1": ("buf", "")}, data_options={"buf": {"releasable": True}}
    )
    m.handle(DropsTriggered(("make",)))
    m.handle(AppFinished("make"))
    assert m.handle(AppFailed("r1", "boom")) == [ReleaseData("buf"), *FAILED]


def test_persistent_and_leaf_drops_are_never_released(machine: Factory) -> None:
    """Non-releasable drops (files, persist) and leaves (results) keep their payload."""
    m = machine(
        {"make": ("", "kept"), "r1": ("kept", "result")},
        data_options={"kept": {"releasable": False}, "result": {"releasable": True}},
    )
    m.handle(DropsTriggered(("make",)))
    m.handle(AppFinished("make"))
    assert m.handle(AppFinished("r1")) == FINISHED
    assert states(m, "kept", "result") == {"kept": "completed", "result": "completed"}


def test_data_completed_after_its_consumers_settled_is_released(machine: Factory) -> None:
    """A consumer lost before its input completed: the input is freed when it completes."""
    m = machine(
        {"make": ("", "buf"), "reader": ("buf", "")},
        data_options={"buf": {"releasable": True}},
    )
    m.handle(DropsTriggered(("make",)))
    assert m.handle(DropsLost(("reader",), "node n2 lost")) == []
    assert m.handle(AppFinished("make")) == [ReleaseData("buf"), *FAILED]
    assert m.nodes["buf"].state is D.EXPIRED


# --------------------------------------------------------------------------- session end


def test_session_ends_only_when_the_last_drop_settles(machine: Factory) -> None:
    """One branch fails early; the session waits for the other and then ends FAILED."""
    m = machine({"bad": ("", "b"), "good": ("", "g")})
    m.handle(DropsTriggered(("bad", "good")))
    assert m.handle(AppFailed("bad", "boom")) == []
    assert str(m.state) == "running"
    assert m.handle(AppFinished("good")) == FAILED
    assert m.state is SessionState.FAILED


def test_session_ends_finished_without_errors(machine: Factory) -> None:
    """Parallel apps that all succeed end the session FINISHED, reported once."""
    m = machine({"a": ("", "x"), "b": ("", "y")})
    m.handle(DropsTriggered(("a", "b")))
    assert m.handle(AppFinished("a"), AppFinished("b")) == FINISHED
    assert m.handle(DropsTriggered(("a",))) == []


# --------------------------------------------------------------------------- node loss


def test_lost_drops_fail_with_the_reason_and_downstream_follows(machine: Factory) -> None:
    """A node died: its unfinished drops go ERROR with the reason; readers downstream too."""
    m = machine({"done": ("", "d0"), "remote": ("d0", "d1"), "local": ("d1", "d2")})
    m.handle(DropsTriggered(("done",)))
    m.handle(AppFinished("done"))
    out = m.handle(DropsLost(("done", "d0", "remote", "d1"), "node 10.0.0.2 lost"))
    assert out == FAILED
    assert states(m, "done", "d0", "remote", "d1", "local", "d2") == {
        "done": "finished",
        "d0": "completed",
        "remote": "error",
        "d1": "error",
        "local": "error",
        "d2": "error",
    }
    assert m.nodes["remote"].error == "node 10.0.0.2 lost"
    assert m.nodes["d1"].error == "node 10.0.0.2 lost"
    assert m.nodes["local"].error == "1 of 1 inputs in error (input_error_threshold 0%)"
    assert m.handle(AppFinished("remote")) == []


# --------------------------------------------------------------------------- cross-node


def test_external_producer_settles_a_drop(machine: Factory) -> None:
    """A drop written on another node completes on ProducerSettled and fires its reader."""
    m = machine({"reader": ("mirror", "out")}, data_options={"mirror": {"external_producers": 1}})
    assert m.roots() == []
    assert m.handle(DropsTriggered(())) == []
    assert m.handle(ProducerSettled("mirror", DropState.COMPLETED)) == [RunApp("reader")]
    assert m.nodes["mirror"].state is D.COMPLETED


def test_external_producers_all_report_before_completion(machine: Factory) -> None:
    """Two remote producers: the first report does not complete the drop."""
    m = machine({"reader": ("mirror", "")}, data_options={"mirror": {"external_producers": 2}})
    assert m.handle(ProducerSettled("mirror", DropState.COMPLETED)) == []
    assert m.handle(ProducerSettled("mirror", DropState.COMPLETED)) == [RunApp("reader")]


@pytest.mark.parametrize(
    ("remote", "reader"), [(DropState.ERROR, "error"), (DropState.SKIPPED, "skipped")]
)
def test_external_error_and_skip_propagate(
    machine: Factory, remote: DropState, reader: str
) -> None:
    """A remote failure or skip reaches this node's readers like a local one."""
    m = machine({"reader": ("mirror", "out")}, data_options={"mirror": {"external_producers": 1}})
    m.handle(ProducerSettled("mirror", remote, "remote app 'x' failed"))
    assert states(m, "mirror", "reader", "out") == {
        "mirror": str(remote),
        "reader": reader,
        "out": str(remote),
    }
    if remote is DropState.ERROR:
        assert m.nodes["mirror"].error == "remote app 'x' failed"


def test_external_producer_cannot_report_cancelled(machine: Factory) -> None:
    """Only COMPLETED, ERROR or SKIPPED can come from a remote producer."""
    m = machine({"reader": ("mirror", "")}, data_options={"mirror": {"external_producers": 1}})
    with pytest.raises(InvalidTransition, match=r"allowed: \['completed', 'error', 'skipped'\]"):
        m.handle(ProducerSettled("mirror", DropState.CANCELLED))
    assert m.nodes["mirror"].state is D.INITIALIZED


def test_watched_drops_publish_their_outcome(machine: Factory) -> None:
    """Drops read on other nodes emit PublishState when they settle (with the reason)."""
    m = machine(
        {"ok": ("", "good"), "bad": ("", "broken")},
        data_options={"good": {"watched": True}, "broken": {"watched": True}},
    )
    m.handle(DropsTriggered(("ok", "bad")))
    assert m.handle(AppFinished("ok")) == [PublishState("good", DropState.COMPLETED)]
    assert m.handle(AppFailed("bad", "boom")) == [
        PublishState("broken", DropState.ERROR, "producer 'bad' failed"),
        *FAILED,
    ]


# --------------------------------------------------------------------------- scale


def test_long_chain_cascade_does_not_recurse() -> None:
    """A 100,000-drop chain: one failure at the head cascades to the tail in one call.

    The machine works from a queue, so the cascade never approaches the recursion limit.
    """
    length = 50_000
    nodes = []
    for i in range(length):
        nodes.append(DropNode.app(f"a{i}", (f"d{i - 1}",) if i else (), (f"d{i}",)))
        nodes.append(DropNode.data(f"d{i}", (f"a{i}",), (f"a{i + 1}",) if i + 1 < length else ()))
    m = SessionMachine(nodes)
    assert len(m.nodes) == 100_000
    limit = sys.getrecursionlimit()
    assert m.handle(DropsTriggered(("a0",))) == [RunApp("a0")]
    assert m.handle(AppFailed("a0", "boom")) == FAILED
    assert m.counts() == {"error": 100_000}
    assert m.nodes[f"d{length - 1}"].error == "producer 'a49999' failed"
    assert sys.getrecursionlimit() == limit
    m.check_invariants()


# --------------------------------------------------------------------------- bad events


def test_unknown_uid_is_a_graph_error(machine: Factory) -> None:
    """An event naming a drop the session does not have says which one."""
    m = machine({"a": ("", "d")})
    with pytest.raises(GraphError, match=r"no drop 'ghost' in this session"):
        m.handle(AppFinished("ghost"))


@pytest.mark.parametrize(
    "event",
    [DataWritten("a"), ProducerSettled("a", DropState.COMPLETED)],
    ids=["written", "settled"],
)
def test_data_events_about_an_app_are_refused(machine: Factory, event: Event) -> None:
    """Only data drops are written to or settled by producers."""
    m = machine({"a": ("", "d")})
    with pytest.raises(GraphError, match=r"drop 'a' is an app; only data drops"):
        m.handle(event)
    assert m.nodes["a"].state is D.INITIALIZED


def test_finishing_an_app_that_never_ran_is_an_invalid_transition(machine: Factory) -> None:
    """AppFinished for an app that was not started is a bug in the caller."""
    m = machine({"a": ("", "d"), "b": ("d", "")})
    with pytest.raises(InvalidTransition, match=r"App 'b': cannot go not_run -> finished"):
        m.handle(AppFinished("b"))


def test_finishing_twice_is_an_invalid_transition(machine: Factory) -> None:
    """A second AppFinished for the same app is refused, naming the state it is in."""
    m = machine({"a": ("", "d")})
    m.handle(DropsTriggered(("a",)))
    m.handle(AppFinished("a"))
    with pytest.raises(InvalidTransition, match=r"cannot go finished -> finished"):
        m.handle(AppFinished("a"))


def test_link_check_requires_both_ends() -> None:
    """Links declared on one end only are refused with a hint to use the loader."""
    nodes = [DropNode.app("a", (), ("d",)), DropNode.data("d")]
    with pytest.raises(GraphError, match=r"'d' does not list 'a' in 'producers'"):
        link_check(nodes)


def test_link_check_requires_the_other_kind() -> None:
    """An app listing another app as its output is refused."""
    nodes = [DropNode.app("a", (), ("b",)), DropNode.app("b", ("a",), ())]
    with pytest.raises(GraphError, match=r"'b', which is not a data drop"):
        link_check(nodes)


def test_invariant_checker_catches_a_broken_counter(machine: Factory) -> None:
    """check_invariants really fails when the bookkeeping is off."""
    m = machine({"a": ("", "d")})
    m.unfinished += 1
    with pytest.raises(AssertionError, match=r"unfinished counter 3 != 2"):
        m.check_invariants()
    m.unfinished -= 1
