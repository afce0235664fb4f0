"""Who is acting, and what they may read and change.

Roles: 支部书记 (branch: their own branch), 乡镇 (township: the township's subtree) and 县
(county: everything). A database with no users is a single-user file: whoever runs the command
is the local administrator. Once users exist, every write names one (`--user` or
`COMPLIANCE_USER`); a refused action is recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from compliance.errors import ComplianceError, InputError, NotFound
from compliance.orgs import OrgIndex, OrgRow
from compliance.store import TZ, Store
from compliance.store.audit import LOCAL_ADMIN

# Who a refusal names when no user was named.
UNNAMED = "（未指明）"

ROLE_NAMES = {"branch": "支部书记", "township": "乡镇", "county": "县"}
ROLE_WORDS = {"branch": "branch", "支部书记": "branch", "支部": "branch", "township": "township", "乡镇": "township",
              "county": "county", "县": "county"}
SUPERVISORS = ("township", "county")


class PermissionDenied(ComplianceError):
    """The acting user may not do this; the refusal is in the audit log."""

    exit_code = 5


@dataclass(frozen=True)
class Actor:
    """The acting user: a name, a role and the path whose subtree they act on (None: everything)."""

    name: str
    role: str | None = None
    scope: str | None = None
    anonymous: bool = False     # users exist but none was named: may read, may not write

    def covers(self, path: str) -> bool:
        """Return True when `path` is in this actor's subtree."""
        return self.scope is None or path == self.scope or path.startswith(self.scope + "/")

    def describe(self) -> str:
        if self.role is None:
            return self.name or "未指明的用户"
        return f"{self.name}（{ROLE_NAMES[self.role]}，范围：{self.scope or '全部'}）"


def resolve_actor(store: Store, name: str | None) -> Actor:
    """Return the actor for `--user`; with no users in the database, the local administrator."""
    users = store.users()
    if not users:
        if name:
            raise NotFound(f"用户「{name}」不存在：数据库还没有用户，不加 --user 即以本地管理员身份操作")
        return Actor(LOCAL_ADMIN)
    if not name:
        return Actor("", anonymous=True)
    user = next((u for u in users if u.name == name), None)
    if user is None:
        # Refused as a missing --user is, and logged under the name given: someone acted as a user the database does not have.
        raise deny(store, Actor(name), "session",
                   f"用户「{name}」不存在：用户名须与添加时（user add）一致；县级用户可用 compliance --user 县级用户名 user list 查看全部用户")
    if user.disabled_at is not None:
        raise deny(store, Actor(name), "session", f"用户「{name}」已于 {user.disabled_at.astimezone(TZ):%Y-%m-%d} 停用，不能再操作；"
                   f"如需恢复，请县级用户执行 compliance --user 县级用户名 user enable {name} --reason 原因")
    scope = None if user.role == "county" else store.org_path(user.org_id)
    return Actor(user.name, user.role, scope)


def deny(store: Store, actor: Actor, action: str, message: str, paths: Iterable[str] = ()) -> PermissionDenied:
    """Record a refusal in the audit log and return the error to raise."""
    store.actor = actor.name or UNNAMED
    store.audit_now("denied", action, detail={"paths": sorted(set(paths)), "message": message})
    return PermissionDenied(message)


def require_write(store: Store, actor: Actor, action: str, paths: Iterable[str], roles: tuple[str, ...] = ()) -> None:
    """Raise PermissionDenied (and log it) unless `actor` may make this change to every path."""
    paths = list(paths)
    if actor.anonymous:
        raise deny(store, actor, action, "数据库已有用户：修改数据须用 --user 或 COMPLIANCE_USER 指明身份", paths)
    if actor.role is not None and roles and actor.role not in roles:
        allowed = "、".join(ROLE_NAMES[r] for r in roles)
        raise deny(store, actor, action, f"{actor.describe()}无权执行此操作（限{allowed}）", paths)
    outside = [p for p in paths if not actor.covers(p)]
    if outside:
        raise deny(store, actor, action, f"{actor.describe()}无权修改「{outside[0]}」", paths)


def require_read(store: Store, actor: Actor, path: str) -> None:
    """Raise PermissionDenied (and log it) unless `actor` may read the subtree at `path`."""
    if actor.anonymous or not actor.covers(path):
        raise deny(store, actor, "read", f"{actor.describe()}无权查看「{path}」", [path])


def require_administrator(store: Store, actor: Actor, action: str) -> None:
    """Raise PermissionDenied (and log it) unless `actor` is a 县 user, or the local administrator of a file without users."""
    if actor.anonymous or (actor.role is not None and actor.role != "county"):
        raise deny(store, actor, action, f"{actor.describe()}无权执行此操作（限县用户）")


def default_scope(actor: Actor, under: str | None) -> str | None:
    """Return what a listing covers: what was asked for, else the actor's own subtree."""
    return under if under else actor.scope


def add_user(store: Store, actor: Actor, name: str, role_word: str, org_ref: str | None) -> int:
    """Add a user after checking the role, the organization and who may add whom."""
    role = ROLE_WORDS.get(role_word.strip())
    if role is None:
        raise InputError(f"--role：值「{role_word}」应为 支部书记、乡镇 或 县")
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise InputError("用户名不能为空，也不能超过100个字")
    if name in (LOCAL_ADMIN, UNNAMED):
        # The audit log's names for who acted with no user named: a user of the name would be shown their entries as
        # their own (review).
        raise InputError(f"用户名「{name}」是审计日志中未指明用户时的操作人，不能用作用户名")
    users = store.users()
    if any(u.name == name for u in users):
        raise InputError(f"用户「{name}」已存在")
    if not users and role != "county":
        raise InputError("第一个用户须是县用户（--role 县），以便之后添加乡镇和支部书记用户")
    org: OrgRow | None = None
    if role == "county" and org_ref:
        # A 县 user acts on everything: an --org was dropped without a word, the user listed as （全部）.
        raise InputError(f"--org：县用户管理全部党组织，不指定 --org（值「{org_ref}」）；只管一个乡镇的请用 --role 乡镇")
    if role != "county":
        if not org_ref:
            raise InputError(f"--org：{ROLE_NAMES[role]}用户须指定所管的党组织")
        org = OrgIndex(store.orgs()).resolve(org_ref)
        if role == "branch" and org.type != "党支部":
            raise InputError(f"--org：支部书记用户须对应一个党支部，「{org.path}」是{org.type}")
        if role == "township" and org.type in ("党支部", "党总支"):
            # It would supervise, score and close items (销号) of its own branches: what the township checks.
            raise InputError(f"--org：乡镇用户须对应乡镇党委（或街道党工委等上级党组织），「{org.path}」是{org.type}；"
                             "支部书记请用 --role 支部书记")
    target = org.path if org else "（全部）"
    if actor.role == "branch" or (actor.role == "township" and role == "county"):
        raise deny(store, actor, "user_add", f"{actor.describe()}无权添加{ROLE_NAMES[role]}用户", [target])
    require_write(store, actor, "user_add", [org.path] if org else [], ())
    store.actor = actor.name or LOCAL_ADMIN
    return store.add_user(name, role, org.id if org else None)


def disable_user(store: Store, actor: Actor, name: str, disabled: bool, reason: str) -> None:
    """Disable (停用) a user, or enable one again: by a county user, never the last county user in force."""
    if not reason.strip():
        raise InputError("--reason：须写明原因")
    # Refused before the name is looked up: a branch secretary told 不存在 or 拒绝 learnt which names exist (review).
    require_administrator(store, actor, "user_disable" if disabled else "user_enable")
    user = next((u for u in store.users() if u.name == " ".join(name.split())), None)
    if user is None:
        raise NotFound(f"用户「{name}」不存在（user list 可查看）")
    if (user.disabled_at is not None) == disabled:
        raise InputError(f"用户「{user.name}」{'已经停用' if disabled else '没有停用'}，未作更改")
    if disabled and user.role == "county" and not any(u.role == "county" and u.disabled_at is None and u.id != user.id
                                                      for u in store.users()):
        # Every change after it needs a county user: none would be left to add or enable one.
        raise InputError(f"用户「{user.name}」是唯一在用的县用户，不能停用：请先添加另一个县用户")
    store.actor = actor.name or LOCAL_ADMIN
    store.set_user_disabled(user, disabled, reason.strip())
