"""Domain (QBO): a sync's QBO objects made rows ready for the database; big pages in a process of their own.

Mapping and preparing a full page of a thousand objects takes 15-20 ms of CPU: a third of a full sync's
ingest, done one page after another, and in a serving process CPU that shares one interpreter with the
requests. In a long-lived syncing process a full sync's big pages are therefore mapped by a mapping
process (`PageMapper`), on the other core while this one writes the pages before; it sends back only the
prepared values, and this process is left with the SQL. Small pages, CDC's objects and one-off syncs are
mapped here, where starting a process would cost more than it saves.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import io
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from sqlalchemy.engine import Dialect

from domains.core import foreground
from domains.qbo.client import decode_object
from domains.qbo.fast_mappers import map_fast
from domains.qbo.mappers import MAPPERS, MappingError, is_deleted
from domains.synced import EntityRow, PreparedRows, RawJSON, dialect_name, driver_dialect, prepare_rows

log = structlog.get_logger("runway.qbo.mapping")

# Objects of a page mapped (or prepared) at a time: under a millisecond of CPU, after which the event loop
# gets a turn, and the rows mapped so far are prepared while they are still young.
MAP_TURN = 50
# Pages with at least this many objects go to the mapping process: sending a page there and its rows back
# costs about a tenth of mapping them, plus a millisecond of round trip.
PROCESS_MIN_OBJECTS = 200
# Prepared rows come back from the mapping process in pieces of this many rows, each unpickled in its own
# turn of the event loop: a whole page at once held the interpreter for 2-3 ms.
RETURN_PIECE = 100


@dataclass(frozen=True, slots=True)
class MappedBatch:
    """One batch of QBO objects sorted out: rows to store, Ids QBO deleted, failures to quarantine."""

    rows: list[EntityRow]
    deleted: list[str]
    seen: list[str]
    # (qbo_id or "?", the reason, the object as QBO sent it)
    failed: list[tuple[str, str, Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class MappedPage:
    """A query page of a full sync: how many objects it held, what they map to (its `MappedBatch` holds
    no rows), and those rows prepared for the database driver, so that writing the page is only SQL."""

    count: int
    mapped: MappedBatch
    prepared: PreparedRows

    def __len__(self) -> int:
        return self.count


def map_objects(entity: str, objects: Sequence[Mapping[str, Any]], home_currency: str) -> MappedBatch:
    """Map every parsed object of one entity type (CDC's); a malformed one becomes a failure, the rest
    still map."""
    mapper = MAPPERS[entity]
    mapped = MappedBatch([], [], [], [])
    for obj in objects:
        qbo_id = str(obj.get("Id", "")) if isinstance(obj, Mapping) else ""
        if qbo_id:
            mapped.seen.append(qbo_id)
        if isinstance(obj, Mapping) and is_deleted(obj):
            if qbo_id:
                mapped.deleted.append(qbo_id)
            continue
        try:
            mapped.rows.append(mapper(obj, home_currency=home_currency))
        except MappingError as exc:
            mapped.failed.append((qbo_id or "?", str(exc), obj))
    return mapped


def map_page(
    entity: str, items: Sequence[msgspec.Raw], home_currency: str, *, into: MappedBatch | None = None
) -> tuple[int, MappedBatch]:
    """Parse and map each object of a split query page (`QboClient.query_objects`); the number of objects
    and what they map to (added to `into` when given). Each row keeps the object's text, exactly as QBO
    sent it, as its raw JSON.

    One object at a time, so each parsed object is garbage as soon as it is mapped: holding a whole parsed
    page while mapping it made Python's garbage collector walk the heap again and again. Objects of the
    usual shape go through `fast_mappers`; the rest through `mappers`, which says what is wrong.
    """
    mapper = MAPPERS[entity]
    mapped = MappedBatch([], [], [], []) if into is None else into
    count = 0
    for item in items:
        row = map_fast(entity, item, home_currency)
        if row is not None:
            count += 1
            mapped.seen.append(row.qbo_id)
            mapped.rows.append(row)
            continue
        obj = decode_object(item)
        if not isinstance(obj, dict):
            continue
        count += 1
        qbo_id = str(obj.get("Id", ""))
        if qbo_id:
            mapped.seen.append(qbo_id)
        if is_deleted(obj):
            if qbo_id:
                mapped.deleted.append(qbo_id)
            continue
        try:
            mapped.rows.append(mapper(obj, home_currency=home_currency, raw_json=RawJSON(str(item, "utf-8"))))
        except MappingError as exc:
            mapped.failed.append((qbo_id or "?", str(exc), obj))
    return count, mapped


class _SlicedMapping:
    """A page mapped and prepared MAP_TURN objects at a time (`map_slice` from each of `starts`), then
    joined (`page`).

    Each slice's rows are prepared at once: kept for the whole page, the mapped rows (dicts) outlived the
    collector's young generation, and its collections walked them all."""

    def __init__(
        self, entity: str, items: Sequence[msgspec.Raw], home_currency: str, dialect: Dialect
    ) -> None:
        self.entity, self.items, self.home_currency, self.dialect = entity, items, home_currency, dialect
        self.mapped = MappedBatch([], [], [], [])
        self.count = 0
        self.parts: list[PreparedRows] = []

    @property
    def starts(self) -> range:
        return range(0, len(self.items), MAP_TURN)

    def map_slice(self, start: int) -> None:
        chunk = self.items[start : start + MAP_TURN]
        self.count += map_page(self.entity, chunk, self.home_currency, into=self.mapped)[0]
        self.parts.append(prepare_rows(self.dialect, MAPPERS[self.entity].model, self.mapped.rows))
        self.mapped.rows.clear()

    def page(self) -> MappedPage:
        return _joined(self.entity, self.dialect, self.count, self.mapped, self.parts)


def _joined(
    entity: str, dialect: Dialect, count: int, mapped: MappedBatch, parts: list[PreparedRows]
) -> MappedPage:
    if not parts:  # `joined` needs one part, even for an empty page
        parts.append(prepare_rows(dialect, MAPPERS[entity].model, ()))
    # An Id sent twice in different slices: one row, as `prepare_rows` keeps of one batch.
    return MappedPage(count, mapped, PreparedRows.joined(parts).deduplicated())


async def map_page_in_turns(
    entity: str, items: Sequence[msgspec.Raw], home_currency: str, dialect: Dialect
) -> MappedPage:
    """`map_page` and `prepare_rows` for `dialect`, MAP_TURN objects at a time, each slice first letting
    the web requests this process is serving finish (`foreground`). In turns, a request whose throttle
    slot has come goes out on time, and each statement of the page being written is handed to the
    driver's thread promptly."""
    mapping = _SlicedMapping(entity, items, home_currency, dialect)
    for start in mapping.starts:
        await foreground.yield_to_requests()
        mapping.map_slice(start)
    return mapping.page()


# In the mapping process: the page mapped and prepared as `map_page_in_turns` does, sent back as pickled
# pieces of prepared rows (see RETURN_PIECE).
_Returned = tuple[int, MappedBatch, list[bytes]]


def _map_in_mapping_process(
    entity: str, items: list[msgspec.Raw], home_currency: str, dialect: str
) -> _Returned:
    mapping = _SlicedMapping(entity, items, home_currency, driver_dialect(dialect))
    for start in mapping.starts:  # no turns to give: nothing else runs in this process
        mapping.map_slice(start)
    page = mapping.page()
    pieces = [_pickled(piece.portable()) for piece in page.prepared.pieces(RETURN_PIECE)]
    return page.count, page.mapped, pieces


def _pickled(values: object) -> bytes:
    """`values` pickled without the memo: prepared rows are flat tuples of plain values, never shared
    or recursive, and the memo's bookkeeping was half the pickling time."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(values)
    return buffer.getvalue()


def _mapping_process_started() -> None:
    # Requests come first: on a busy machine the serving process wins the CPU over mapping.
    os.nice(5)
    foreground.tune_garbage_collector()


_pool: ProcessPoolExecutor | None = None
# Whether `_pool`'s process has started and answered: until then pages are mapped here.
_pool_ready = False
_pool_lock = threading.Lock()
# After the mapping process failed (`time.monotonic`): until then pages are mapped here, rather than each
# page waiting for a process that may fail to start again.
_retry_after = float("-inf")
RETRY_SECONDS = 60.0


def _mapping_pool() -> ProcessPoolExecutor:
    """The process's mapping process, shared by every sync of the process; created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            # A fresh interpreter forked from a small server process, not a copy of this one (its threads,
            # its event loop, its database connections).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_mapping_process_started
            )
            _pool.submit(gc.collect).add_done_callback(functools.partial(_started, _pool))
        return _pool


def _started(pool: ProcessPoolExecutor, answer: Future[int]) -> None:
    global _pool_ready
    if answer.cancelled() or answer.exception() is not None:
        log.warning(
            "mapping process did not start", error=repr(None if answer.cancelled() else answer.exception())
        )
        _discard_pool(pool)
        return
    with _pool_lock:
        _pool_ready = _pool is pool


def _ready_pool() -> ProcessPoolExecutor | None:
    """The mapping process if it is ready; else None, and it is being started (about a second, mostly
    imports) while the caller maps here: no page waits for it."""
    if time.monotonic() < _retry_after:
        return None
    pool = _mapping_pool()
    return pool if _pool_ready else None


def start_mapping_process() -> None:
    """Start the mapping process now and wait until it is ready, e.g. when a process that syncs starts."""
    _mapping_pool().submit(gc.collect).result()
    while not _pool_ready and time.monotonic() >= _retry_after:
        time.sleep(0.001)  # the start's callback runs in the pool's own thread


async def ready_mapping_process() -> None:
    """`start_mapping_process` in a thread (it takes about a second), when a long-lived syncing process
    starts, so that its first full sync finds it ready. If it cannot start, that is logged, and pages are
    mapped in this process."""
    try:
        await asyncio.to_thread(start_mapping_process)
    except Exception as exc:  # pages are then mapped in this process
        log.warning("mapping process did not start", error=repr(exc))


def stop_mapping_process() -> None:
    """End the mapping process (if any) and wait for it: at the end of a process that started it with
    `multiprocessing`, whose children end without the interpreter's exit handlers that do it otherwise."""
    global _pool, _pool_ready
    with _pool_lock:
        pool, _pool, _pool_ready = _pool, None, False
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _discard_pool(broken: ProcessPoolExecutor) -> None:
    global _pool, _pool_ready, _retry_after
    with _pool_lock:
        if _pool is broken:
            _pool, _pool_ready = None, False
        _retry_after = time.monotonic() + RETRY_SECONDS
    broken.shutdown(wait=False, cancel_futures=True)


class PageMapper:
    """Maps a full sync's query pages for one database's dialect: big pages in the mapping process, the
    rest here in turns. If the mapping process dies or cannot be started, the page is mapped here: a sync
    never fails for it."""

    def __init__(self, dialect: Dialect, *, use_process: bool = True) -> None:
        self.dialect = dialect
        self.use_process = use_process

    async def map(self, entity: str, items: Sequence[msgspec.Raw], home_currency: str) -> MappedPage:
        if self.use_process and len(items) >= PROCESS_MIN_OBJECTS and (pool := _ready_pool()):
            page = await self._in_mapping_process(pool, entity, items, home_currency)
            if page is not None:
                return page
        return await map_page_in_turns(entity, items, home_currency, self.dialect)

    async def _in_mapping_process(
        self, pool: ProcessPoolExecutor, entity: str, items: Sequence[msgspec.Raw], home_currency: str
    ) -> MappedPage | None:
        name = dialect_name(self.dialect)
        try:
            future = pool.submit(_map_in_mapping_process, entity, list(items), home_currency, name)
            count, mapped, pieces = await asyncio.wrap_future(future)
        except (BrokenProcessPool, OSError, RuntimeError, pickle.PicklingError) as exc:
            log.warning("mapping process unavailable; mapping the page here", entity=entity, error=repr(exc))
            _discard_pool(pool)
            return None
        model = MAPPERS[entity].model
        parts: list[PreparedRows] = []
        for piece in pieces:
            await foreground.yield_to_requests()
            parts.append(PreparedRows.restored(self.dialect, model, pickle.loads(piece)))  # noqa: S301
        return _joined(entity, self.dialect, count, mapped, parts)


__all__ = [
    "MAP_TURN",
    "PROCESS_MIN_OBJECTS",
    "MappedBatch",
    "MappedPage",
    "PageMapper",
    "map_objects",
    "map_page",
    "map_page_in_turns",
    "ready_mapping_process",
    "start_mapping_process",
    "stop_mapping_process",
]
