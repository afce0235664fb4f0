"""The tables of `compliance.model` as plain SQLAlchemy Core, which the store queries. Generated: do not edit.

Regenerate after changing a model: python -m compliance.model (tests/test_tables.py checks that
this file is what that writes, and that its tables are the models' on SQLite and PostgreSQL:
the same DDL, defaults and conversions). The commands query these rather than the models' own
tables so that they start without importing SQLModel and building the models with it: 0.2 s of
every command's start. Alembic's env.py loads the models (to compare a migration with them); the
migrations carry their own DDL.
"""

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint

from compliance.store.coltypes import UTCDateTime

METADATA = MetaData(naming_convention={"ix": "ix_%(column_0_label)s"})

SETTING = Table(
    "setting",
    METADATA,
    Column("key", String(64), primary_key=True),
    Column("value", String(400), nullable=False),
)

ORG = Table(
    "org",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("code", String(64), nullable=True, unique=True),
    Column("name", String(200), nullable=False),
    Column("parent_id", Integer(), ForeignKey("org.id"), nullable=True, index=True),
    Column("path", String(1000), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("sector", String(16), nullable=True),
    Column("catalog", String(64), nullable=True),
    Column("founded", Date(), nullable=True),
    Column("tracked_from", Date(), nullable=True),
    Column("dissolved", Date(), nullable=True),
    Column("secretary", String(100), nullable=True),
    Column("secretary_vacant", Boolean(), nullable=False, default=False),
    Column("has_committee", Boolean(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

MEMBER = Table(
    "member",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("group_name", String(100), nullable=True),
    Column("status", String(8), nullable=False, default="正式"),
    Column("mobile", Boolean(), nullable=False, default=False),
    Column("liaison", String(100), nullable=True),
    Column("joined", Date(), nullable=True),
    Column("born", Date(), nullable=True),
    Column("gender", String(4), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("left_on", Date(), nullable=True),
    Column("left_reason", String(16), nullable=True),
    Column("arrived_on", Date(), nullable=True),
    UniqueConstraint("org_id", "name", name="uq_member_org_name"),
)

RECORD = Table(
    "record",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("record_id", Integer(), nullable=True),
    Column("version", Integer(), nullable=False, default=1),
    Column("identity", String(64), nullable=False),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("held_on", Date(), nullable=False),
    Column("member_id", Integer(), ForeignKey("member.id"), nullable=True),
    Column("group_name", String(100), nullable=True),
    Column("expected", Integer(), nullable=True),
    Column("present", Integer(), nullable=True),
    Column("topic", String(500), nullable=True),
    Column("recorder", String(100), nullable=True),
    Column("lecturer", String(100), nullable=True),
    Column("secretary_signed", Boolean(), nullable=True),
    Column("recorder_signed", Boolean(), nullable=True),
    Column("attendees", String(), nullable=True),
    Column("excused", String(), nullable=True),
    Column("counterpart", String(100), nullable=True),
    Column("hours", Float(), nullable=True),
    Column("photos", String(), nullable=True),
    Column("first_recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("superseded_at", UTCDateTime(), nullable=True),
    Column("voided_at", UTCDateTime(), nullable=True),
    Column("void_reason", String(), nullable=True),
    Column("source", String(400), nullable=True),
    UniqueConstraint("record_id", "version", name="uq_record_version"),
    Index("ix_record_org_held", "org_id", "held_on"),
    Index("ix_record_org_identity", "org_id", "identity"),
)

DEDUCTION = Table(
    "deduction",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False),
    Column("sheet", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("period", String(32), nullable=False),
    Column("points", Float(), nullable=False, default=0.0),
    Column("reason", String(1000), nullable=False),
    Column("self_assessed", Boolean(), nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("voided_at", UTCDateTime(), nullable=True),
    Column("void_reason", String(), nullable=True),
    Index("ix_deduction_org_period", "org_id", "period"),
)

SUPERVISION_RUN = Table(
    "supervisionrun",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("scope_org_id", Integer(), ForeignKey("org.id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("revision", Integer(), nullable=False, default=1),
    Column("as_of", Date(), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
    UniqueConstraint("scope_org_id", "month", "revision", name="uq_run_scope_month_revision"),
)

RUN_FINDING = Table(
    "runfinding",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("run_id", Integer(), ForeignKey("supervisionrun.id"), nullable=False, index=True),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False),
    Column("org", String(1000), nullable=False),
    Column("obligation", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("period", String(32), nullable=False),
    Column("member", String(100), nullable=True),
    Column("group_name", String(100), nullable=True),
    Column("status", String(16), nullable=False),
    Column("due", Date(), nullable=False),
    Column("days_left", Integer(), nullable=True),
    Column("records", String(2000), nullable=False, default=""),
    Column("flags", String(400), nullable=False, default=""),
)

RECTIFICATION = Table(
    "rectification",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("gap_key", String(64), nullable=False),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False, index=True),
    Column("obligation", String(64), nullable=False),
    Column("period", String(32), nullable=False),
    Column("member", String(100), nullable=True),
    Column("group_name", String(100), nullable=True),
    Column("matter", String(500), nullable=False),
    Column("measure", String(500), nullable=False),
    Column("deadline", Date(), nullable=False),
    Column("responsible", String(100), nullable=False),
    Column("opened_run_id", Integer(), ForeignKey("supervisionrun.id"), nullable=True),
    Column("opened_on", Date(), nullable=False),
    Column("closed_on", Date(), nullable=True),
    Column("close_note", String(), nullable=True),
    Column("closed_run_id", Integer(), ForeignKey("supervisionrun.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_rectification_gap", "gap_key", unique=True),
)

RECTIFICATION_PAST = Table(
    "rectificationpast",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("item_id", Integer(), ForeignKey("rectification.id"), nullable=False),
    Column("replaced_on", Date(), nullable=False),
    Column("replaced_at", UTCDateTime(), nullable=False),
    Column("replaced_run_id", Integer(), ForeignKey("supervisionrun.id"), nullable=True),
    Column("matter", String(500), nullable=False),
    Column("measure", String(500), nullable=False),
    Column("deadline", Date(), nullable=False),
    Column("responsible", String(100), nullable=False),
    Column("opened_run_id", Integer(), ForeignKey("supervisionrun.id"), nullable=True),
    Column("opened_on", Date(), nullable=False),
    Column("closed_on", Date(), nullable=True),
    Column("close_note", String(), nullable=True),
    Column("closed_run_id", Integer(), ForeignKey("supervisionrun.id"), nullable=True),
    Index("ix_rectificationpast_item", "item_id", "replaced_on"),
)

AUDIT_ENTRY = Table(
    "auditentry",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("seq", Integer(), nullable=False, unique=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=True),
    Column("org_id", Integer(), nullable=True, index=True),
    Column("detail", String(), nullable=False),
    Column("reason", String(), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_auditentry_entity", "entity", "entity_id"),
)

AUDIT_HEAD = Table(
    "audithead",
    METADATA,
    Column("id", Integer(), primary_key=True, default=1),
    Column("seq", Integer(), nullable=False, default=0),
    Column("last_hash", String(64), nullable=False, default="0000000000000000000000000000000000000000000000000000000000000000"),
)

USER = Table(
    "user",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
)

SCHEDULER_LEASE = Table(
    "schedulerlease",
    METADATA,
    Column("id", Integer(), primary_key=True, default=1),
    Column("holder", String(200), nullable=True),
    Column("heartbeat_at", UTCDateTime(), nullable=True),
)

OUTBOX_MESSAGE = Table(
    "outboxmessage",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False),
    Column("day", Date(), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(400), nullable=False),
    Column("subject", String(400), nullable=False),
    Column("body", String(), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("last_error", String(), nullable=True),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    UniqueConstraint("org_id", "day", "channel", "recipient", name="uq_outbox_daily"),
)

MEMBER_EXEMPTION = Table(
    "memberexemption",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("member_id", Integer(), ForeignKey("member.id"), nullable=False, index=True),
    Column("start", Date(), nullable=False),
    Column("end", Date(), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("voided_at", UTCDateTime(), nullable=True),
    Column("void_reason", String(), nullable=True),
)

MEMBER_GRADE = Table(
    "membergrade",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("member_id", Integer(), ForeignKey("member.id"), nullable=False),
    Column("org_id", Integer(), ForeignKey("org.id"), nullable=False),
    Column("year", Integer(), nullable=False),
    Column("grade", String(8), nullable=False),
    Column("note", String(400), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("superseded_at", UTCDateTime(), nullable=True),
    Index("ix_membergrade_member_year", "member_id", "year"),
    Index("ix_membergrade_org_year", "org_id", "year"),
)

DUES_PAYMENT = Table(
    "duespayment",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("member_id", Integer(), ForeignKey("member.id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("amount", Float(), nullable=False),
    Column("paid_on", Date(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("corrected_at", UTCDateTime(), nullable=True),
    UniqueConstraint("member_id", "month", name="uq_dues_member_month"),
    Index("ix_duespayment_member_month_paid", "member_id", "month", "paid_on"),
)

DUES_VERSION = Table(
    "duesversion",
    METADATA,
    Column("id", Integer(), primary_key=True),
    Column("member_id", Integer(), ForeignKey("member.id"), nullable=False, index=True),
    Column("month", String(7), nullable=False),
    Column("amount", Float(), nullable=False),
    Column("paid_on", Date(), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("superseded_at", UTCDateTime(), nullable=False),
    Column("change", String(16), nullable=False),
    Column("reason", String(400), nullable=False),
)
