"""Moving an organization under another superior (`org move`): villages merged into a new township, a county put above
the townships an office already keeps, branches put under a new 党总支.

An import does not move one (a row with a new superior is a new organization). Everything kept about
an organization is tied to it by id, not by path: its records, roster, dues, ledger items and the
findings of runs go with it. What was written before the move (published runs, the audit log) keeps
the path of its day. What its past was judged by stays: its 启用日期, its 执行规定 and its sector, where the new
superiors would change what it inherits, are set on it (a catalog is used for every period, past ones too: the new
township's rules would judge its months gone by again). `org import` changes them from then on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from compliance.access import SUPERVISORS, Actor, require_write
from compliance.errors import InputError, NotFound
from compliance.importing import misplaced
from compliance.membership import checked_reason
from compliance.orgs import OrgIndex, OrgRow
from compliance.store import Store


def move_org(store: Store, ref: str, to_ref: str, reason: str | None = None, actor: Actor | None = None,
             fallback: str | None = None) -> dict[str, Any]:
    """Put the organization `ref` (and everything below it) under `to_ref`; return what changed.

    The keys: "from" and "to" (its old and new paths), "moved" (how many organizations' paths
    changed), "pinned" (what it inherited and is now set on it, since the new superiors would change it: its
    "tracked_from", the day it was checked from, "founding" when that is its 成立日期; its "catalog", given
    `fallback`, the catalog of organizations without one; its "sector"), "inherited", "catalog_there" and
    "sector_there" (what it would inherit there), "untracked" (the 启用日期 it now inherits, where nothing dated
    it, or None), "sector_taken" (the sector it takes there, having had none), "emptied" (the superior it left, when
    no branch is left below it, and its type), "skipped" (its sector, 农村 or 社区, when it is now straight under a 县委), "jobs" (the supervision jobs
    pointed at the new paths, old and new ids) and "jobs_error" (why they were not, or None).
    """
    index = OrgIndex(store.orgs())
    org = index.resolve(ref)
    try:
        target = index.resolve(to_ref)
    except NotFound as exc:
        raise NotFound(f"--to：{exc}") from None
    note = checked_reason(reason, "撤并村合并，划归新镇管理") if reason is not None else None
    if actor is not None:
        require_write(store, actor, "move", [org.path, target.path], SUPERVISORS)
    if target.id == org.id or target.path.startswith(org.path + "/"):
        raise InputError(f"--to：「{target.path}」是「{org.path}」{'本身' if target.id == org.id else '的下级'}，不能移到其下")
    if org.parent_id == target.id:
        raise InputError(f"--to：「{org.path}」已在「{target.path}」下，未移动")
    if wrong := misplaced(target.type, org.type):
        raise InputError(f"--to：「{org.path}」是{org.type}，不能移到「{target.path}」下（{wrong}）")
    if target.dissolved is not None:
        raise InputError(f"--to：「{target.path}」已于 {target.dissolved.isoformat()} 撤销")
    new_path = f"{target.path}/{org.name}"
    if new_path in {o.path for o in index.by_id.values()}:
        raise InputError(f"--to：「{target.path}」下已有「{org.name}」；同一上级下名称不能重复，未移动")
    after = _placed(index, org, target)
    moved_org = after.by_id[org.id]
    # What it inherits and its evaluation depends on is set on it where the new superiors would change it: the day it is
    # checked from, its 执行规定 (a catalog is used for every period, past ones too: its ledger's gaps of months gone by
    # were closed as no longer owed, try-out) and its sector (a village's branch stays one; its terms are 5 years).
    pin: dict[str, Any] = {}
    # The 启用日期 it inherits, not the day it starts (its 成立日期 may be later): those below it inherit it through it.
    kept, there = index.tracked_from_of(org), after.tracked_from_of(moved_org)
    if org.tracked_from is None and kept != there and (kept or org.founded) is not None:
        # Checked from its founding when nothing above it had a 启用日期: the founding is as early as it owes anything.
        pin["tracked_from"] = kept or org.founded
    if fallback is not None and org.catalog is None and \
            (catalog := index.catalog_of(org, fallback)) != after.catalog_of(moved_org, fallback):
        pin["catalog"] = catalog
    if org.sector is None and (sector := index.sector_of(org)) != after.sector_of(moved_org) and sector is not None:
        pin["sector"] = sector
    # One with no sector at all takes the new superiors' (a village's: 5-year terms): said, as nothing can be set to keep none.
    old_parent = index.by_id.get(org.parent_id) if org.parent_id else None
    done = store.move_org(org.id, org.path, target.id, target.path, pin, note, old_parent.id if old_parent else None)
    if done is None:
        raise InputError(f"「{org.path}」或「{target.path}」已被他人同时更改，未移动；请重新查看后再试")
    # A village's or community's organization straight under a county, no township between: legal, but most often a slip of
    # --to (try-out), said so that it is moved on at once.
    sector = index.sector_of(org)
    skipped = sector if target.type == "县委" and sector in ("农村", "社区") and org.type in ("党委", "党总支", "党支部") else None
    found: dict[str, Any] = {
        "skipped": skipped,
        "from": org.path, "to": new_path, "moved": done, "pinned": pin, "founding": "tracked_from" in pin and kept is None,
        "inherited": there, "catalog_there": after.catalog_of(moved_org, fallback) if fallback else None,
        "sector_there": after.sector_of(moved_org),
        "sector_taken": after.sector_of(moved_org) if index.sector_of(org) is None else None,
        # Checked from the new superiors' day where nothing said when before (no 成立日期, nothing above it dated).
        "untracked": there if "tracked_from" not in pin and org.tracked_from is None and kept != there else None,
        # The superior it left, with no branch below it now: an emptied township has nothing to supervise.
        "emptied": (old_parent.path, old_parent.type) if old_parent and not any(
            o.type == "党支部" and o.dissolved is None and not (o.path == org.path or o.path.startswith(org.path + "/"))
            for o in index.subtree(old_parent)) else None,
    }
    # The jobs after the tree, which is saved: a failure here is said with what to do, not as a move not made.
    from compliance.schedule import repoint_jobs

    try:
        found["jobs"], found["jobs_error"] = repoint_jobs(store, org.path, new_path), None
    except Exception as exc:        # noqa: BLE001  (whatever it is, the move is saved and must be said to be)
        # Its first line: a driver's error goes on with the statement and a link.
        found["jobs"], found["jobs_error"] = [], (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    return found


def _placed(index: OrgIndex, org: OrgRow, target: OrgRow) -> OrgIndex:
    """Return `index` as it will be with `org` under `target` (what it inherits there; paths below it are not rewritten)."""
    rows = dict(index.by_id)
    rows[org.id] = replace(org, parent_id=target.id, path=f"{target.path}/{org.name}")
    return OrgIndex(rows.values())
