"""Work a large scope in blocks of organizations, one worker process per core.

Evaluating a province (or counting its members' months) is Python work organization by
organization, and a process uses one core. Above `PARALLEL_MIN` organizations the scope is
cut into blocks of consecutive ids; worker processes (forked, so they share the parent's rules
and tree without copying them) each read only their block's rows and hand back what the
caller's work makes of them: for evaluation, per organization, what `summarize` makes of its
findings. The caller gets the results in id order, exactly as one process would give them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Collection, Generic, Iterable, Iterator, TypeVar

from compliance.errors import ComplianceError
from compliance.evaluate import Finding
from compliance.orgs import OrgIndex, OrgRow
from compliance.pipeline import can_fork, exit_with_parent, fewer_collections, interrupts_noted
from compliance.store import Store
from compliance.store.scope import Ids
from compliance.store.sql import IN_LIMIT
from compliance.tracking import Window, iter_findings
from obligations.rules import Rules

T = TypeVar("T")
# Below this many organizations a second process costs more than it saves.
PARALLEL_MIN = 500
# Blocks per process: small enough that the processes finish at about the same time.
BLOCKS_PER_JOB = 16
# Branches hold most members and records; the committees above them weigh less in a block.
WEIGHTS = {"党支部": 1.0}
OTHER_WEIGHT = 0.25
MAX_JOBS = 4
# Seconds between looks for a Ctrl-C noted while waiting for a block (`interrupts_noted`).
INTERRUPT_POLL = 0.1


def default_jobs() -> int:
    """Return the worker processes to use: one per core this process may run on, at most `MAX_JOBS`; 1 where processes cannot be forked."""
    if not can_fork():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS))


@dataclass(frozen=True)
class _Job(Generic[T]):
    parent: int               # the process id of the caller, which the workers outlive for no longer than a second
    store: Store
    work: Callable[[list[OrgRow], Ids | None, bool], Iterable[T]]
    blocks: list[list[OrgRow]]
    listed: bool              # the blocks read their organizations by id, not the range of ids they span


# The job the forked workers run: set before the pool starts, so they inherit it instead of
# receiving it pickled (a province's tree and rules are large, and `work` is a closure).
_job: _Job[Any] | None = None


def summarize_orgs(store: Store, rules: Rules, index: OrgIndex, root: OrgRow, orgs: Iterable[OrgRow], window: Window,
                   summarize: Callable[[int, list[Finding]], T], keep: Collection[str] | None = None, jobs: int = 1,
                   progress: Callable[[int, int], None] | None = None, bare_met: bool = False,
                   only: Collection[str] | None = None, spans: bool = False) -> Iterator[T]:
    """Yield `summarize(org id, its findings)` for each of `orgs` (at or below `root`), in id order.

    `keep`, `bare_met`, `only` and `spans` choose the findings made, as in `iter_findings`.

    With `jobs` above 1 (at most `MAX_JOBS`) and a scope of at least `PARALLEL_MIN`
    organizations, blocks are evaluated in that many worker processes; `summarize` then runs
    in the workers and its results must pickle. A database in memory, or a system that cannot
    fork, is evaluated in this process.
    """
    def work(block: list[OrgRow], ids: Ids | None, whole: bool) -> Iterator[T]:
        for org_id, found in iter_findings(store, rules, index, root, block, window, progress if whole else None, keep,
                                           ids=ids, bare_met=bare_met, only=only, spans=spans):
            yield summarize(org_id, found)

    yield from map_blocks(store, index, root, orgs, work, jobs, progress)


def map_blocks(store: Store, index: OrgIndex, root: OrgRow, orgs: Iterable[OrgRow],
               work: Callable[[list[OrgRow], Ids | None, bool], Iterable[T]], jobs: int = 1,
               progress: Callable[[int, int], None] | None = None) -> Iterator[T]:
    """Yield what `work(block, ids, whole)` makes of `orgs` (at or below `root`), block after block in id order.

    `work` reads the organizations of `block` (in id order) by `ids` (see `in_scope`; None:
    by their own range) and yields its results; `whole` is true when the block is every one of
    `orgs`, in this process (it may then report progress itself).

    With `jobs` above 1 (at most `MAX_JOBS`) and at least `PARALLEL_MIN` organizations, the
    blocks are worked in that many forked processes, whose results must pickle; `progress`
    hears of each block done.
    """
    with fewer_collections():
        yield from _map(store, index, root, orgs, work, jobs, progress)


def _map(store: Store, index: OrgIndex, root: OrgRow, orgs: Iterable[OrgRow],
         work: Callable[[list[OrgRow], Ids | None, bool], Iterable[T]], jobs: int,
         progress: Callable[[int, int], None] | None) -> Iterator[T]:
    ordered = sorted(orgs, key=lambda o: o.id)
    jobs = min(jobs, MAX_JOBS) if can_fork() and not store.in_memory else 1
    # A few organizations scattered over a large scope (a supervision run's items of last
    # year) are read by id: the ranges of ids they span would take in most of the scope.
    prefix = root.path + "/"
    listed = len(ordered) * 2 < sum(o.path.startswith(prefix) for o in index.by_id.values())
    if jobs <= 1 or len(ordered) < PARALLEL_MIN:
        yield from work(ordered, _ids(ordered, listed), True)
        return
    blocks = _blocks(ordered, jobs * BLOCKS_PER_JOB)
    global _job
    if _job is not None:
        raise RuntimeError("map_blocks is already running in this process")
    _job = _Job(os.getpid(), store, work, blocks, listed)
    # Ctrl-C is noted while the pool runs, and raised between blocks (`interrupts_noted`).
    with interrupts_noted() as interrupted:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_detach)
        # The workers (forked at the first submit) collect garbage without the objects made before the
        # fork: traversing them would copy every page of them into each worker (a supervision run's
        # second pass forks from a process holding a province's open ledger and snapshot).
        gc.freeze()
        try:
            futures = deque(pool.submit(_run_block, number) for number in range(len(blocks)))
            done = 0
            for block in blocks:
                # Each block's results are let go once yielded, as `Executor.map` lets them go: a future kept would
                # hold them to the end (a province's findings twice over).
                results = _result(futures.popleft(), interrupted)
                done += len(block)
                if progress is not None:
                    progress(done, len(ordered))
                yield from results
            if interrupted():
                raise KeyboardInterrupt
        except BrokenProcessPool:
            raise ComplianceError("并行检查的工作进程意外退出（可能是内存不足），可加 --jobs 1 在一个进程中重试") from None
        finally:
            # On an error or an interruption, blocks not yet begun are dropped, and the ones begun
            # (a few seconds each at most) are waited for; a second Ctrl-C stops the wait.
            pool.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()
            _job = None
    if interrupted():
        raise KeyboardInterrupt         # one that came while the pool shut down, the blocks all done


def _result(future: Future[list[T]], interrupted: Callable[[], bool]) -> list[T]:
    """Return what `future` gives once done; `KeyboardInterrupt` as soon as `interrupted()` says Ctrl-C came."""
    while not interrupted():
        try:
            return future.result(timeout=INTERRUPT_POLL)
        except FuturesTimeout:
            continue
    raise KeyboardInterrupt




def _blocks(orgs: list[OrgRow], count: int) -> list[list[OrgRow]]:
    """Cut `orgs` (in id order) into at most `count` runs of about equal weight."""
    weights = [WEIGHTS.get(o.type, OTHER_WEIGHT) for o in orgs]
    share = sum(weights) / count
    blocks: list[list[OrgRow]] = [[]]
    load = 0.0
    for org, weight in zip(orgs, weights):
        if load >= share and blocks[-1]:
            blocks.append([])
            load = 0.0
        blocks[-1].append(org)
        load += weight
    return blocks


def _ids(orgs: list[OrgRow], listed: bool) -> frozenset[int] | None:
    """Return the ids of `orgs` to read them by (see `in_scope`), when `listed` and they are few enough to name in one statement."""
    return frozenset(o.id for o in orgs) if listed and len(orgs) <= IN_LIMIT else None


def _detach() -> None:
    """Drop the connections inherited from the parent (without closing them: they are the parent's); exit with it.

    Ctrl-C reaches the whole process group: the parent stops the pool, and the workers leave
    it to the parent rather than each print a traceback.
    """
    assert _job is not None
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _job.store.engine.dispose(close=False)
    exit_with_parent(_job.parent)


def _run_block(number: int) -> list[Any]:
    assert _job is not None
    block = _job.blocks[number]
    return list(_job.work(block, _ids(block, _job.listed) or (block[0].id, block[-1].id), False))
