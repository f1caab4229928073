"""Domain core: starting a helper process this one talks to over a pipe (the sync and writer processes)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


class PipedChild:
    """A helper process that this process spawns (a fresh interpreter, not a fork of this one: its
    threads, event loop and connections) and talks to over a pipe."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process: Any | None = None
        self._pipe: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _spawn(self, target: Callable[..., None], *args: Any, name: str, daemon: bool = False) -> None:
        """Start `target(child_end, *args)`, keeping this process's end of the pipe between them."""
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=target, args=(theirs, *args), name=name, daemon=daemon)
        process.start()
        theirs.close()
        self._process, self._pipe = process, ours

    def _end(self, join_seconds: float) -> None:
        """Close this end of the pipe (a child waiting on it reads the end and returns), give the child
        `join_seconds` to end, then kill it."""
        process, pipe = self._process, self._pipe
        self._process = self._pipe = None
        if pipe is not None:
            pipe.close()
        if process is not None:
            process.join(join_seconds)
            if process.is_alive():
                process.kill()
                process.join()
