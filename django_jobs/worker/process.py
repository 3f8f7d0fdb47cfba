"""Starting one worker process so that a signal sent at any moment reaches the right handler.

A forked process begins with its parent's signal handlers: a ``SIGTERM`` arriving before it
installs its own would run the supervisor's handler inside the new process, and the stop
would be lost. So the supervisor forks with the stop and cancel signals held back
(``signals_held``); the new process inherits that mask, installs its own handlers, and only
then lets the signals in: one that arrived meanwhile is delivered to its handler at once,
before the process claims anything.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
from collections.abc import Iterator

from django.db import connections

from django_jobs import tracing
from django_jobs.worker.loop import LoopOptions, WorkerLoop
from django_jobs.worker.protocol import CANCEL_SIGNAL, Slot

#: The signals held back while a process is forked and until its handlers are installed.
HELD_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, CANCEL_SIGNAL})


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Keep the stop and cancel signals pending in this thread (and in a process forked
    meanwhile) until the block ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def die_with_parent() -> None:
    """Linux: the kernel kills this process if its supervisor dies (no orphans run jobs)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def child_main(worker_id: str, options: LoopOptions, slot: Slot) -> None:
    """The body of a worker process, started inside ``signals_held()``."""
    die_with_parent()
    connections.close_all()  # never share the parent's sockets
    loop = WorkerLoop(worker_id, options, slot)
    loop.install_signals()
    # Only now: a signal held since the fork reaches the loop's handler, not the parent's.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
    try:
        loop.run()
    finally:
        connections.close_all()
        tracing.flush()  # a forked process ends without atexit: the exporter's buffer too
