"""Writing a SQLite store from many threads and two processes without stalls.

- Turns at the one write lock. A writer that finds SQLite busy sleeps in steps of up to 100 ms
  before it looks again: with the receivers and the sync side in two processes, a receiver's
  commit waited up to 180 ms behind a worker's transaction of a few. Here a process's threads
  queue on a lock, each going the moment the one before commits, and processes take turns on
  the kernel's ``flock`` of a file beside the database, looked at every millisecond; the kernel
  drops a killed holder's lock with its process.
- Checkpoints apart from commits. SQLite copies its write-ahead log into the database inside
  the commit that fills it, fsyncs included, while that writer holds its turn: every other
  writer waited it out (70 ms here). Connections are opened with automatic checkpoints off, and
  a store's writers checkpoint passively every ``CHECKPOINT_EVERY`` commits, after giving up
  their turn, so other writers go on meanwhile. The receivers' store leaves them to the sync
  side, so no delivery waits for one.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import Engine

if sys.platform != "win32":  # on Windows threads take turns here; processes meet the busy timeout
    import fcntl

LOOK_EVERY = 0.001
"""Seconds between looks at a lock another process holds."""

CHECKPOINT_EVERY = 250
"""Commits between passive checkpoints: about SQLite's own 1,000 pages of log at four a commit."""


class StoreBusy(Exception):
    """Another process held the store's write lock past the busy timeout."""


class WriterTurns:
    """One writer at a time across this process's threads and, with ``path``, across processes."""

    def __init__(self, path: Path | None = None, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        self._depth += 1
        if self._depth > 1:
            return
        try:
            self._take()
        except BaseException:
            self._depth -= 1
            self._lock.release()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._depth == 1 and self._fd is not None and sys.platform != "win32":
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._depth -= 1
            self._lock.release()

    def _take(self) -> None:
        if self.path is None or sys.platform == "win32":
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(self.path) from None
                time.sleep(LOOK_EVERY)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class Checkpoints:
    """Counts a store's commits and checkpoints its log, passively, every ``every`` of them."""

    def __init__(self, engine: Engine, every: int = CHECKPOINT_EVERY) -> None:
        self.engine = engine
        self.every = every
        self._commits = 0
        self._lock = threading.Lock()

    def committed(self) -> None:
        """Called after a commit, with the turn given up."""
        with self._lock:
            self._commits += 1
            due = self._commits >= self.every
            if due:
                self._commits = 0
        if due:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Copy what the log holds into the database, waiting for no reader and no writer."""
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        finally:
            raw.close()
