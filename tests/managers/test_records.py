"""SessionRecords: a small SQLite table that outlives the island manager."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

from liuray.engine.states import SessionState
from liuray.managers.records import SessionRecord, SessionRecords


def test_save_get_and_replace(tmp_path: Path) -> None:
    """A record reads back field for field; saving the same id again replaces it."""
    records = SessionRecords(tmp_path / "db" / "records.sqlite")
    first = SessionRecord("s1", SessionState.RUNNING, 10.0, None, 4, ["localhost:8000"])
    records.save(first)
    assert records.get("s1") == first
    first.state, first.ended, first.error = SessionState.FAILED, 12.5, "node lost"
    records.save(first)
    assert records.get("s1") == SessionRecord(
        "s1", SessionState.FAILED, 10.0, 12.5, 4, ["localhost:8000"], "node lost"
    )
    assert len(records.all()) == 1
    assert records.get("nope") is None
    records.close()


def test_records_persist_across_instances(tmp_path: Path) -> None:
    """A second SessionRecords on the same file sees what the first wrote, oldest first."""
    path = tmp_path / "records.sqlite"
    writer = SessionRecords(path)
    writer.save(SessionRecord("late", SessionState.FINISHED, 20.0, 21.0, 1, ["a:1", "b:2"]))
    writer.save(SessionRecord("early", SessionState.CANCELLED, 5.0, 6.0, 2, []))
    writer.close()
    reader = SessionRecords(path)
    assert [(r.session_id, r.state, r.nodes) for r in reader.all()] == [
        ("early", SessionState.CANCELLED, []),
        ("late", SessionState.FINISHED, ["a:1", "b:2"]),
    ]
    reader.delete("early")
    assert [r.session_id for r in reader.all()] == ["late"]
    reader.close()


def test_in_memory_records_are_private() -> None:
    """Without a path the records live in memory, one table per instance."""
    one, two = SessionRecords(None), SessionRecords(None)
    one.save(SessionRecord("s", SessionState.PRISTINE, 1.0))
    assert one.get("s") is not None
    assert two.all() == []
    assert one.path is None
    one.close()
    two.close()


def test_concurrent_saves(tmp_path: Path) -> None:
    """Eight threads saving fifty records each lose none."""
    records = SessionRecords(tmp_path / "records.sqlite")

    def save(thread: int) -> None:
        for index in range(50):
            records.save(SessionRecord(f"t{thread}-{index}", SessionState.BUILDING, float(index)))

    threads = [threading.Thread(target=save, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(records.all()) == 400
    records.close()


def test_reads_and_deletes_make_no_cursor_each(tmp_path: Path) -> None:
    """Every statement goes through one cursor: ``Connection.execute`` made a cursor per
    call and kept a weak reference to each (swept every 200), small objects that outlived
    a burst of sessions scattered over the heap (docs/reliability.md, "Load")."""
    records = SessionRecords(tmp_path / "sessions.db")
    records.save(SessionRecord("s1", SessionState.FINISHED, 1.0))

    def references() -> int:
        return sum(isinstance(o, weakref.ref) for o in gc.get_objects())

    gc.collect()
    before = references()
    for _ in range(150):
        records.get("s1")
        records.delete("nobody")
    gc.collect()
    assert references() - before < 10
    records.close()
