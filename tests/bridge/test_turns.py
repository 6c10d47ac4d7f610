"""Writers of one SQLite store in two processes: turns at the write lock, checkpoints apart."""

from __future__ import annotations

import multiprocessing
import signal
import time
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import pytest

from ticket_bridge.bridge.errors import StoreError
from ticket_bridge.bridge.store import Store
from ticket_bridge.bridge.store.turns import CHECKPOINT_EVERY, WriterTurns

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="turns across processes are flock's (POSIX)"
)

SPAWN = multiprocessing.get_context("spawn")


def hold(lock_file: Path, held: EventType, release: EventType) -> None:
    """Another process's writer: takes its turn and keeps it until told."""
    with WriterTurns(lock_file):
        held.set()
        release.wait(60)


def test_a_writer_waits_for_another_process_turn_and_says_so_past_the_busy_timeout(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    store = Store.open(f"sqlite:///{db}", busy_timeout=0.3)
    held, release = SPAWN.Event(), SPAWN.Event()
    other = SPAWN.Process(target=hold, args=(Path(f"{db}.lock"), held, release))
    other.start()
    try:
        assert held.wait(30)
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            store.set_cursor("jira", "while the other holds its turn")
        assert time.monotonic() - started >= 0.3
        assert "locked by another process (commit cursor)" in str(caught.value)
        assert "\n" not in str(caught.value)
        assert store.cursor("jira") is None, "nothing was written"
        release.set()
        other.join(30)
        store.set_cursor("jira", "after")
        assert store.cursor("jira") is not None
    finally:
        release.set()
        other.join(30)
        store.close()


def test_a_turn_held_by_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store.open(f"sqlite:///{db}", busy_timeout=5.0)
    held, release = SPAWN.Event(), SPAWN.Event()
    other = SPAWN.Process(target=hold, args=(Path(f"{db}.lock"), held, release))
    other.start()
    assert held.wait(30)
    other.kill()
    other.join(30)
    started = time.monotonic()
    store.set_cursor("jira", "after the kill")
    assert time.monotonic() - started < 1.0, "the writer waited for a dead process"
    store.close()


def wal_pages(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


@pytest.mark.parametrize("checkpoints", [True, False])
def test_a_store_checkpoints_its_log_every_so_many_commits_unless_told_not_to(
    tmp_path: Path, checkpoints: bool
) -> None:
    db = tmp_path / "state.db"
    store = Store.open(f"sqlite:///{db}", checkpoints=checkpoints)
    # an open reader keeps SQLite from checkpointing the log when the writer closes
    reader = Store.open(f"sqlite:///{db}", migrate=False)
    commits = 4 * CHECKPOINT_EVERY
    for n in range(commits):
        store.set_cursor("jira", f"cursor {n}")
    pages = wal_pages(db)
    assert reader.cursor("jira") is not None
    assert reader.cursor("jira")[0] == f"cursor {commits - 1}"  # type: ignore[index]
    if checkpoints:
        assert pages <= 2 * CHECKPOINT_EVERY, "the log was never checkpointed"
    else:
        assert pages >= commits, "something checkpointed a log left to another process"
    store.close()
    reader.close()
