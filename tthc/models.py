"""All database models of the tracker, in one place.

A dossier is written by intake, read by deadlines and reports, so no feature
owns the tables; features own behaviour. Models stay thin: columns,
relationships, simple derived properties.

Glossary (use these English words everywhere):
hồ sơ = dossier · thủ tục hành chính (TTHC) = procedure · Bộ phận một cửa =
one-stop desk · giấy tiếp nhận và hẹn trả kết quả = receipt · yêu cầu bổ sung =
supplement request · từ chối = refusal · phiếu xin lỗi = apology · quá hạn =
overdue · sắp đến hạn = due soon · ngày làm bù = make-up working day · lĩnh vực =
field · đơn vị = unit · chuyển xử lý = forward · trả kết quả = hand over.

Datetimes are naive local time of Asia/Ho_Chi_Minh (domain.md §8), named ``*_at``.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Optional

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

# The vocabulary (statuses, labels, limit units, channels, roles) is defined once, in the pure
# deadlines.lifecycle; it is re-exported here for the modules that read it with the models.
from deadlines.lifecycle import (  # noqa: F401
    CHANNEL_LABELS,
    CHANNELS,
    CLOSED_OTHER_STATUSES,
    FINISHED_STATUSES,
    LIMIT_UNIT_LABELS,
    LIMIT_UNITS,
    OPEN_STATUSES,
    ROLE_LABELS,
    ROLES,
    RUNNING_STATUSES,
    STATUS_LABELS,
    STATUSES,
)
from tthc import search
from tthc.reports import tally
from tthc.extensions import db
from tthc.rules import RuleInForce, rule_in_force
from tthc.text import fold


def local_now() -> datetime:
    """Current naive local time in the configured zone (Asia/Ho_Chi_Minh)."""
    from tthc.clock import now

    return now()


class UserRole(str, enum.Enum):
    """The roles (values: lifecycle.ROLES); tthc.accounts validates against it."""

    RECEPTION = "reception"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


assert tuple(r.value for r in UserRole) == ROLES








SUPPLEMENT_RULE_LABELS = {
    "restart": "Tính lại từ đầu khi nhận đủ hồ sơ bổ sung",
    "pause": "Tạm dừng trong thời gian chờ bổ sung",
}




DOCUMENT_KIND_LABELS = {
    "original": "Bản chính",
    "copy": "Bản sao",
    "original_or_copy": "Bản chính hoặc bản sao",
}


class Unit(db.Model):
    """A handling unit of the department (phòng, chi cục) or the desk itself."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class Procedure(db.Model):
    """An administrative procedure of the catalog (domain.md §2)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    national_code: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_search: Mapped[str] = mapped_column(Text, index=True, default="")
    field: Mapped[str] = mapped_column(String(255), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    fee: Mapped[str] = mapped_column(Text, default="")
    online_level: Mapped[str] = mapped_column(String(32), default="")
    # Time limit: the statutory one, and the department's committed (reduced) one.
    limit_unit: Mapped[Optional[str]] = mapped_column(String(16))  # statutory unit
    statutory_amount: Mapped[Optional[int]] = mapped_column(Integer)
    committed_amount: Mapped[Optional[int]] = mapped_column(Integer)
    committed_unit: Mapped[Optional[str]] = mapped_column(String(16))
    supplement_rule: Mapped[str] = mapped_column(String(16), default="restart")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[Optional[date]] = mapped_column(Date)
    submission_info: Mapped[str] = mapped_column(Text, default="")
    result_location: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    inactive_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=local_now, onupdate=local_now)

    unit: Mapped[Optional[Unit]] = relationship()
    documents: Mapped[list["ProcedureDocument"]] = relationship(
        back_populates="procedure", order_by="ProcedureDocument.position", cascade="all, delete-orphan"
    )
    steps: Mapped[list["ProcedureStep"]] = relationship(
        back_populates="procedure", order_by="ProcedureStep.position", cascade="all, delete-orphan"
    )
    rule_versions: Mapped[list["ProcedureRuleVersion"]] = relationship(
        back_populates="procedure", order_by="ProcedureRuleVersion.effective_date", cascade="all, delete-orphan"
    )

    def rule_at(self, at: date | datetime) -> RuleInForce:
        """The rule in force at ``at`` (base rule or newest dated version, ``tthc.rules``)."""
        return rule_in_force(self, at)

    def set_name(self, name: str) -> None:
        self.name = name
        self.name_search = fold(name)

    @property
    def effective_unit(self) -> Optional[str]:
        """The unit deadlines use: the committed one when set (domain.md §2)."""
        if self.committed_amount is not None and self.committed_unit:
            return self.committed_unit
        return self.limit_unit

    @property
    def effective_amount(self) -> Optional[int]:
        if self.committed_amount is not None and self.committed_unit:
            return self.committed_amount
        return self.statutory_amount

    @property
    def has_limit(self) -> bool:
        return self.effective_unit is not None

    def __repr__(self) -> str:
        return f"<Procedure {self.national_code or self.id}>"


class ProcedureDocument(db.Model):
    """A component of the dossier to submit (thành phần hồ sơ)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="original")
    count: Mapped[int] = mapped_column(Integer, default=1)

    procedure: Mapped[Procedure] = relationship(back_populates="documents")


class ProcedureRuleVersion(db.Model):
    """A dated rule version of a procedure: the committed time decided by the provincial People's
    Committee after the yearly review (domain.md §10), in force from ``effective_date`` (00:00).

    The procedure's own columns are its base rule (before any decision); dossiers received on or
    after the effective date are processed under the version (``tthc.rules.rule_in_force``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    committed_amount: Mapped[int] = mapped_column(Integer)
    committed_unit: Mapped[str] = mapped_column(String(16))
    decision_number: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)

    procedure: Mapped[Procedure] = relationship(back_populates="rule_versions")

    __table_args__ = (UniqueConstraint("procedure_id", "effective_date", name="uq_procedure_rule_version_day"),)


class ProcedureStep(db.Model):
    """A step of multi-unit processing (liên thông) with its share of the committed time."""

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    share_amount: Mapped[int] = mapped_column(Integer)

    procedure: Mapped[Procedure] = relationship(back_populates="steps")
    unit: Mapped[Optional[Unit]] = relationship()


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    is_unit_head: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # Bumped on password change/reset/deactivation: invalidates other sessions.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    unit: Mapped[Optional[Unit]] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API, stored hashed (SHA-256) and revocable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A logged-in browser session. The signed cookie carries ``token``; logout ends this row,
    so every copy of that cookie stops working while the user's other desks stay logged in."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")


class IdempotencyKey(db.Model):
    """A client's ``Idempotency-Key`` for ``POST /api/v1/dossiers``, scoped to its token and kept
    24 hours: a retry with the same key and body gets the first response again. The unique
    (token, key) makes the database, not a worker's memory, decide which request runs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[Optional[int]] = mapped_column(Integer)
    body: Mapped[Optional[str]] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotency_key_token_key"),)


class LoginAttempt(db.Model):
    """Login attempts, kept in the database so throttling holds across gunicorn workers."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=local_now, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True, default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLog(db.Model):
    """Append-only record of every change: who, when, what, before and after."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=local_now, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[Optional[str]] = mapped_column(String(64))
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[Optional[User]] = relationship()

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)


# The audit log is append-only at the database level too: these triggers refuse UPDATE and DELETE
# of its rows on both databases. The migration "audit log triggers" creates them in deployed
# databases; attached to the table here, db.create_all() (the test databases) creates them as well.
AUDIT_TRIGGER_DDL = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION USING MESSAGE = 'audit_log is append-only: ' || TG_OP || ' refused'; END $$",
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    ],
}


def _attach_audit_triggers() -> None:
    from sqlalchemy import DDL, event

    for dialect, statements in AUDIT_TRIGGER_DDL.items():
        for statement in statements:
            event.listen(AuditLog.__table__, "after_create", DDL(statement).execute_if(dialect=dialect))


_attach_audit_triggers()


class CalendarOverride(db.Model):
    """An administrator's edit of the working-day calendar, citing the official notice.

    ``working=False`` makes the date a day off; ``working=True`` makes it a working
    day (a make-up Saturday, or cancelling a day off).
    """

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)


class CalendarYear(db.Model):
    """A year whose estimated schedule an administrator confirmed against the official notice."""

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    confirmed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")








#: Neither finished nor closed: the predicate of ix_dossier_unended_stats (tthc/reports/queries.py _unended).
UNENDED_PREDICATE = "coalesce(finished_at, closed_at) IS NULL"
#: The predicate of ix_dossier_event_supplement_at; queries spell it with literals to match it.
SUPPLEMENT_EVENT_PREDICATE = "type IN ('supplement_requested', 'supplement_received')"


class Dossier(db.Model):
    """A dossier received at the one-stop desk (domain.md §4–§6, §8)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    external_code: Mapped[bool] = mapped_column(Boolean, default=False)
    reception_point: Mapped[str] = mapped_column(String(255), default="")
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), index=True)
    # The procedure's rule in force at reception: limit, supplement rule, steps, legal basis.
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    field: Mapped[str] = mapped_column(String(255), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"), index=True)
    current_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))

    applicant_kind: Mapped[str] = mapped_column(String(16), default="individual")
    applicant_name: Mapped[str] = mapped_column(String(255))
    # Searched by substring through tthc/search.py's index, never by a B-tree (issue 13).
    applicant_name_search: Mapped[str] = mapped_column(String(255), default="")
    applicant_id_number: Mapped[str] = mapped_column(String(32), default="")
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    applicant_email: Mapped[str] = mapped_column(String(255), default="")
    applicant_address: Mapped[str] = mapped_column(Text, default="")
    request_summary: Mapped[str] = mapped_column(Text, default="")

    channel: Mapped[str] = mapped_column(String(16), index=True)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sets: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    received_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    register_year: Mapped[int] = mapped_column(Integer)
    register_number: Mapped[int] = mapped_column(Integer)

    effective_start_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    forwarding_deadline_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    original_deadline_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    # No index of its own: every query on it names the status, served by (status, deadline_at, ...);
    # a lone deadline index lured PostgreSQL into walking a million rows in deadline order (issue 13).
    deadline_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    appointment_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    status: Mapped[str] = mapped_column(String(24), index=True, default="received")
    result: Mapped[Optional[str]] = mapped_column(String(16))  # approved | refused
    forwarded_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    handed_over_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # returned/withdrawn/cancelled
    classification: Mapped[Optional[str]] = mapped_column(String(16))  # early | on_time | late
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)

    # Flags set by the scan (pages compute overdue live; flags drive alerts).
    flag_due_soon: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_not_forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_apology_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_late_supplement_request: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_finished_late: Mapped[bool] = mapped_column(Boolean, default=False)

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=local_now, onupdate=local_now)

    procedure: Mapped[Procedure] = relationship()
    unit: Mapped[Optional[Unit]] = relationship(foreign_keys=[unit_id])
    current_unit: Mapped[Optional[Unit]] = relationship(foreign_keys=[current_unit_id])
    received_by: Mapped[Optional[User]] = relationship()
    events: Mapped[list["DossierEvent"]] = relationship(
        back_populates="dossier", order_by="DossierEvent.seq", cascade="all, delete-orphan"
    )
    handovers: Mapped[list["DossierHandover"]] = relationship(
        back_populates="dossier", order_by="DossierHandover.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("register_year", "register_number", name="uq_dossier_register"),
        # The list filters on the watch rules of a running dossier (overdue, due soon, apology missing)
        # read this index only; received_at last: the overdue / due soon lists sort their ids from it.
        Index("ix_dossier_open_deadline", "status", "deadline_at", "extended", "received_at"),
        Index("ix_dossier_forwarding_watch", "status", "forwarding_deadline_at"),
        # Reports (tthc/reports/queries.py): "received before the period's end and not ended before its
        # start" is an OR of finished_at >= start, closed_at >= start, and still open; with these two
        # partial indexes (and ix_dossier_finished_at) PostgreSQL answers it with a BitmapOr instead of
        # a full scan (the late list). The summary's parts (summary_statements) read these and
        # ix_dossier_finished_stats only: each holds every column its part's sums read (1M dossiers:
        # the dashboard's table 3 s -> 50 ms on SQLite). "Not ended" is read whole in GROUP BY
        # order, the summary's grain first; its predicate is written with coalesce so that no other
        # index can serve it.
        Index("ix_dossier_closed_stats", "closed_at", "finished_at", "received_at", "status", "channel",
              "original_deadline_at", "unit_id", "field", "procedure_id",
              postgresql_where=text("closed_at IS NOT NULL"), sqlite_where=text("closed_at IS NOT NULL")),
        Index("ix_dossier_unended_stats", "unit_id", "field", "procedure_id", "status", "channel", "received_at",
              "original_deadline_at",
              postgresql_where=text(UNENDED_PREDICATE), sqlite_where=text(UNENDED_PREDICATE)),
        # The late-case scan (deadlines/scan.py): per kind the clock changes, the flag first, then the
        # columns of its rule in the rule's order, so that each of the pass's statements (set where the
        # rule holds and the flag is off; clear, one statement per way the rule can fail, where the flag
        # is on) is a seek that finds nothing in a steady pass (issue 13).
        *(Index(f"ix_dossier_watch_{kind}", f"flag_{kind}", *cols)
          for kind, cols in (("overdue", ("status", "deadline_at")),
                             ("due_soon", ("status", "deadline_at")),
                             ("not_forwarded", ("status", "forwarding_deadline_at")),
                             ("apology_missing", ("status", "extended", "deadline_at")))),
        # Dossiers finished late, whose flag the writer stores, by date of result: the scan raises the
        # alerts of the recent ones.
        Index("ix_dossier_flag_finished_late", "finished_at", "original_deadline_at", "status", "flag_finished_late",
              sqlite_where=text("flag_finished_late = 1"), postgresql_where=text("flag_finished_late")),
        # The home pages (intake/queries.py): the desk's results to hand over, oldest first, and the
        # supplements awaited, by last change; a unit's queue, by deadline. Each section's first rows
        # come from the index in its order, not from a sort of every finished dossier (issue 13).
        Index("ix_dossier_status_finished", "status", "finished_at", "id", "classification"),
        Index("ix_dossier_status_updated", "status", "updated_at", "id"),
        Index("ix_dossier_unit_queue", "current_unit_id", "status", "deadline_at", "id"),
        # The dashboard's due soon counts (deadlines/dashboard.py): a range of the deadline (a few days
        # of a status), then grouped. The second is the summary's part "finished" when it is counted
        # from the dossiers (a custom range; else tthc/reports/tally.py sums it).
        Index("ix_dossier_open_stats", "status", "deadline_at", "unit_id", "field"),
        Index("ix_dossier_finished_stats", "finished_at", "status", "classification", "unit_id", "field",
              "procedure_id", "received_at", "channel", "original_deadline_at"),
        # The dossiers in progress whose original deadline falls today, read live beside the tally
        # (tthc/reports/tally.py: the days before today are summed there).
        # (finished_at and closed_at, NULL in it, make it covering: SQLite checks the predicate's columns.)
        Index("ix_dossier_unended_deadline", "original_deadline_at", "status", "received_at", "unit_id", "field",
              "procedure_id", "finished_at", "closed_at",
              postgresql_where=text(UNENDED_PREDICATE), sqlite_where=text(UNENDED_PREDICATE)),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<Dossier {self.code}>"


# The substring search index over code, name, ID number and phone (FTS5 / pg_trgm): tthc/search.py.
search.attach(Dossier.__table__)


class DossierTally(db.Model):
    """What the dashboard sums, by day: appended to by triggers on ``dossier`` (+1 for what a row is,
    -1 for what it was), summed into one row per key by the scan (tthc/reports/tally.py, issue 13).

    ``kind``: ``r`` in progress by half-month of reception, ``tag`` its channel; ``d`` in progress,
    not waiting for a supplement, by day of its original deadline; ``f`` finished (or handed over)
    by half-month of result, ``tag`` its classification (field and procedure NULL); ``p`` finished
    by half-month of result (``day``) and of reception (``day2``), ``tag`` its channel, ``tag2``
    its classification. A half-month starts on the 1st or the 15th."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))
    unit_id: Mapped[Optional[int]] = mapped_column(Integer)
    field: Mapped[Optional[str]] = mapped_column(String(255))
    procedure_id: Mapped[Optional[int]] = mapped_column(Integer)
    tag: Mapped[Optional[str]] = mapped_column(String(16))
    tag2: Mapped[Optional[str]] = mapped_column(String(16))
    day: Mapped[Optional[date]] = mapped_column(Date)
    day2: Mapped[Optional[date]] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # Every read is a range of days of one kind, summing n: index only.
        Index("ix_dossier_tally_kind_day", "kind", "day", "unit_id", "field", "procedure_id", "tag", "tag2", "day2",
              "n"),
    )


tally.attach(db.metadata)


class DossierEvent(db.Model):
    """Append-only history of a dossier; deadlines are derived from these events."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)  # the true time of the event
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A voiding event points at the event it voids; nothing is deleted.
    voids_event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("dossier_event.id"))
    voided: Mapped[bool] = mapped_column(Boolean, default=False)

    dossier: Mapped[Dossier] = relationship(back_populates="events")
    user: Mapped[Optional[User]] = relationship()
    unit: Mapped[Optional[Unit]] = relationship()

    __table_args__ = (
        UniqueConstraint("dossier_id", "seq", name="uq_dossier_event_seq"),
        # The reports' corrections (tthc/reports/queries.py _corrections): the supplement events at or
        # after an instant, a range of this small index instead of a probe per dossier of the period.
        Index("ix_dossier_event_supplement_at", "at", "dossier_id",
              postgresql_where=text(SUPPLEMENT_EVENT_PREDICATE), sqlite_where=text(SUPPLEMENT_EVENT_PREDICATE)),
    )


class DossierHandover(db.Model):
    """A row of the control slip (form 05): one hand-over between units."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("dossier_event.id"))
    from_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    to_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    handed_at: Mapped[datetime] = mapped_column(DateTime)
    giver_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    receiver_name: Mapped[str] = mapped_column(String(255), default="")
    quota_deadline_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    result: Mapped[Optional[str]] = mapped_column(String(16))  # early | on_time | late
    note: Mapped[str] = mapped_column(Text, default="")

    dossier: Mapped[Dossier] = relationship(back_populates="handovers")
    event: Mapped[Optional[DossierEvent]] = relationship(foreign_keys=[event_id])
    from_unit: Mapped[Optional[Unit]] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Optional[Unit]] = relationship(foreign_keys=[to_unit_id])
    giver: Mapped[Optional[User]] = relationship()


class DossierCodeCounter(db.Model):
    """Per agency and day, the last sequence number issued (domain.md §6: gapless, never reused)."""

    agency_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class RegisterCounter(db.Model):
    """Per year, the last entry number of the register (form 06, numbered from 01 each year)."""

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class DeskContact(db.Model):
    """Guidance (form 02) or refusal (form 03) at the desk before any dossier exists: uncoded."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # guidance | refusal
    procedure_id: Mapped[Optional[int]] = mapped_column(ForeignKey("procedure.id"))
    applicant_name: Mapped[str] = mapped_column(String(255))
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    applicant_address: Mapped[str] = mapped_column(Text, default="")
    request_summary: Mapped[str] = mapped_column(Text, default="")
    documents_to_add: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    officer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)

    procedure: Mapped[Optional[Procedure]] = relationship()
    officer: Mapped[Optional[User]] = relationship()


#: The seq of an alert its transaction has not stamped yet (tthc/alert_clock.py): above every
#: watermark, so an alert some path forgot to stamp is read by every badge, never hidden.
UNSEQUENCED = 1 << 62


class Alert(db.Model):
    """One alert per subject and kind, never duplicated.

    The subject is exactly one of: a dossier (kinds due_soon, overdue, not_forwarded,
    apology_missing, finished_late: the late-case scan) or a reporting period of an action
    plan's task (kinds plan_due, plan_missing: the plan reminders). Each subject column has its
    own unique constraint with the kind; NULLs never collide, so each subject stays unique per
    kind exactly as a dossier's alert always was.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[Optional[int]] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), index=True)
    plan_period_id: Mapped[Optional[int]] = mapped_column(ForeignKey("plan_period.id", ondelete="CASCADE"),
                                                          index=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    scan_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("scan_run.id"))
    emailed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # The alerts' clock reading when the alert was raised or last moved to another unit
    # (tthc/alert_clock.py); UNSEQUENCED until its transaction stamps it, above every watermark.
    seq: Mapped[int] = mapped_column(BigInteger, default=UNSEQUENCED, server_default=str(UNSEQUENCED))

    dossier: Mapped[Optional[Dossier]] = relationship()
    plan_period: Mapped[Optional["PlanPeriod"]] = relationship()
    unit: Mapped[Optional[Unit]] = relationship()

    __table_args__ = (
        UniqueConstraint("dossier_id", "kind", name="uq_alert_dossier_kind"),
        UniqueConstraint("plan_period_id", "kind", name="uq_alert_plan_period_kind"),
        CheckConstraint("(dossier_id IS NULL) <> (plan_period_id IS NULL)", name="one_subject"),
        # The unread badge's ranges above a user's watermark, one per way of seeing alerts
        # (deadlines.alerts._visible_parts): all of them, a unit's, the desk's kind.
        Index("ix_alert_seq", "seq"),
        Index("ix_alert_unit_seq", "unit_id", "seq"),
        Index("ix_alert_kind_seq", "kind", "seq"),
        # The inbox's order, newest first: a pass raises all its alerts at one instant, and on
        # PostgreSQL an index of created_at alone left 120,000 of them to sort by id for a page.
        Index("ix_alert_created_at_id", "created_at", "id"),
    )


class AlertClock(db.Model):
    """One row: the alerts' clock. Every transaction that raises alerts or moves them to another unit
    advances it and stamps those alerts with its value, holding the row's lock until it commits; a
    user's watermark is read under that lock (tthc/alert_clock.py)."""

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class AlertWatermark(db.Model):
    """How far a user's acknowledgements reach without a gap: every alert they see by ``role`` and
    ``unit_id`` whose seq is at most ``acked_through`` carries their acknowledgement, so the unread
    badge reads only the alerts above it (deadlines/alerts.py, issue 13). It holds only while the user
    keeps that role and unit (what they see changes with them): otherwise it is not read."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[Optional[int]] = mapped_column(Integer)
    acked_through: Mapped[int] = mapped_column(BigInteger)


class AlertAck(db.Model):
    """A user's acknowledgement of an alert (each user has an inbox)."""

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    acknowledged_at: Mapped[datetime] = mapped_column(DateTime)


class ScanRun(db.Model):
    """One pass of the late-case scan; a scheduled tick is recorded once (unique per kind and tick)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="scan")  # scan | digest | cli
    scheduled_for: Mapped[Optional[datetime]] = mapped_column(DateTime)
    scan_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("kind", "scheduled_for", name="uq_scan_run_tick"),)


class Rating(db.Model):
    """The applicant's satisfaction with a returned dossier: once per dossier (Decision 766/QĐ-TTg scoring)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), unique=True)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"), index=True)  # the dossier's unit

    dossier: Mapped[Dossier] = relationship()


class LookupAttempt(db.Model):
    """Public look-ups, per client address, in the database so throttling holds across workers."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    # The dossier code tried (as typed, at most 64 characters): failures lock that code.
    code: Mapped[str] = mapped_column(String(64), default="", server_default="")

    __table_args__ = (Index("ix_lookup_attempt_code_at", "code", "at"),)


# -- the department's action plans (domain.md §11) ------------------------------------------------


class PlanTaskStatus(str, enum.Enum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    NOT_DONE = "not_done"


PLAN_PROGRESS_LABELS = {"done": "Đã hoàn thành", "in_progress": "Đang thực hiện", "not_done": "Chưa thực hiện"}

#: What the product measures itself for a task (the task-to-measure link is data on the task).
PLAN_MEASURE_LABELS = {
    "catalog_posted": "Số TTHC đang áp dụng, niêm yết công khai (danh mục TTHC)",
    "dossier_summary": "Tình hình, kết quả giải quyết TTHC trong kỳ (thống kê hồ sơ)",
}


class Plan(db.Model):
    """An action plan (kế hoạch) of the department, e.g. 01A/KH-SKHCN of 09/01/2018 (the PAPI plan)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    issued_date: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    # The calendar years the plan runs (its "giai đoạn"); reporting periods never start before issued_date.
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=local_now, onupdate=local_now)

    tasks: Mapped[list["PlanTask"]] = relationship(
        back_populates="plan", order_by="PlanTask.number", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Plan {self.number}>"


class PlanTask(db.Model):
    """A task (nhiệm vụ) of a plan: content, lead and coordinating units as written, timing, expected result."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    lead: Mapped[str] = mapped_column(Text, default="")
    coordinating: Mapped[str] = mapped_column(Text, default="")
    timing: Mapped[str] = mapped_column(String(255), default="")
    expected_result: Mapped[str] = mapped_column(Text, default="")
    # None, or a key of PLAN_MEASURE_LABELS: the figure the product fills in for each period.
    measure: Mapped[Optional[str]] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=local_now, onupdate=local_now)

    plan: Mapped[Plan] = relationship(back_populates="tasks")
    units: Mapped[list[Unit]] = relationship(secondary="plan_task_unit", order_by="Unit.name")
    users: Mapped[list[User]] = relationship(secondary="plan_task_user", order_by="User.username")
    periods: Mapped[list["PlanPeriod"]] = relationship(
        back_populates="task", order_by="PlanPeriod.start_date", cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_plan_task_number"),)


class PlanTaskUnit(db.Model):
    """A unit of the product an administrator linked to a task (its lead or a coordinating unit)."""

    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)


class PlanTaskUser(db.Model):
    """A user an administrator linked to a task: records its progress and receives its reminders."""

    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


class PlanPeriod(db.Model):
    """A reporting period of a task (a month, a quarter, a year), due some working days after its end."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date, index=True)

    task: Mapped[PlanTask] = relationship(back_populates="periods")
    progress: Mapped[list["PlanProgress"]] = relationship(
        back_populates="period", order_by="PlanProgress.recorded_at", cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("task_id", "start_date", "end_date", name="uq_plan_period_span"),)


class PlanProgress(db.Model):
    """A report on a task's period: what was done, its status, and its evidence (a document, a link, a file)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("plan_period.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    status: Mapped[str] = mapped_column(String(16))
    done_text: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence_number: Mapped[str] = mapped_column(String(128), default="")
    evidence_date: Mapped[Optional[date]] = mapped_column(Date)
    evidence_url: Mapped[str] = mapped_column(Text, default="")
    # An uploaded file, stored under the instance folder as ``stored_name`` (never the user's name).
    file_name: Mapped[str] = mapped_column(String(255), default="")
    stored_name: Mapped[str] = mapped_column(String(64), default="")
    file_size: Mapped[Optional[int]] = mapped_column(Integer)
    file_type: Mapped[str] = mapped_column(String(128), default="")

    period: Mapped[PlanPeriod] = relationship(back_populates="progress")
    user: Mapped[Optional[User]] = relationship()

    @property
    def status_label(self) -> str:
        return PLAN_PROGRESS_LABELS.get(self.status, self.status)

class ImportMapping(db.Model):
    """A saved column mapping for dossier imports (headers vary between systems: the mapping is data)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=local_now)


class ImportRun(db.Model):
    """One run of a dossier import (CLI or page), with its counts; its per-row report is ImportRunRow."""

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | cli
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    error: Mapped[str] = mapped_column(Text, default="")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    user: Mapped[Optional[User]] = relationship()


class ImportRunRow(db.Model):
    """A line of an import's report: created, updated (which events), unchanged or rejected (column, reason)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_run.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # created | updated | unchanged | rejected
    column: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    events: Mapped[str] = mapped_column(String(255), default="")  # event types written, comma-separated

    __table_args__ = (Index("ix_import_run_row_run", "run_id", "outcome", "line"),)
