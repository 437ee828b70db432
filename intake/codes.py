"""Dossier codes and register numbers (domain.md §6; Circular 01/2018/TT-VPCP, Art. 19).

A code is ``<agency code>-YYMMDD-XXXX``: the agency's identifier code (Circular
10/2016/TT-BTTTT format, e.g. ``000.00.31.H49``), the reception date and a
4-digit sequence of the dossiers that agency received that day.

How the sequence stays unique and gapless under several gunicorn workers: the
counter row (agency, day) is incremented by one atomic
``INSERT ... ON CONFLICT DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq``
in the *same transaction* as the dossier insert.

* PostgreSQL: the upsert takes the row lock and keeps it until the transaction
  ends; a second intake on the same day waits for it, then reads the committed
  value. A rolled-back intake rolls the counter back too, so no number is lost.
* SQLite: the app opens every writing transaction with ``BEGIN IMMEDIATE``
  (``tthc._configure_sqlite``), so writers are serialised by the database lock.

The register of form 06 (numbered from 1 each year) uses the same technique on
``RegisterCounter``. External codes (issued by the provincial Public
Administration Service Centre, domain.md §8) consume no number.

Self-healing counters: a dossier import or a restored backup can leave rows whose code
or register number is ahead of the counter. Every number issued is checked against the
dossiers already stored (one indexed look-up); on a clash the counter jumps to the
highest number in use and issues the next one, inside the same transaction and under
the counter's row lock, so intake never stalls on "code already exists" and never
reuses a number. The check costs one primary-key-sized probe per intake.

Decision: a day has at most 9,999 numbers (the 4 digits of the Circular). The
10,000th intake of a day is refused (:class:`SequenceExhausted`, a 409 for the
user) rather than given a 5-digit code that other systems would not parse; the
counter increment is rolled back with the refused intake.
"""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select, update

from tthc.models import Dossier, DossierCodeCounter, RegisterCounter

MAX_SEQUENCE = 9999


class SequenceExhausted(Exception):
    """The day's 9,999 dossier numbers are used up."""


def format_code(agency_code: str, day: date, seq: int) -> str:
    return f"{agency_code}-{day:%y%m%d}-{seq:04d}"


def code_pattern(agency_code: str) -> re.Pattern:
    """Matches the codes this product issues for ``agency_code`` (groups: yymmdd, sequence)."""
    return re.compile(rf"^{re.escape(agency_code)}-(\d{{6}})-(\d{{4}})$")


def _upsert_increment(session, table, key: dict, column: str) -> int:
    """Atomically add 1 to ``column`` of the row ``key`` (creating it at 1) and return the new value."""
    dialect = session.get_bind().dialect.name
    col = table.c[column]
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table).values(**key, **{column: 1})
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={column: col + 1}).returning(col)
        return int(session.execute(stmt).scalar_one())
    # Other databases (not shipped): lock the row, then update or insert.
    where = [table.c[k] == v for k, v in key.items()]
    current = session.execute(select(col).where(*where).with_for_update()).scalar_one_or_none()
    if current is None:
        session.execute(table.insert().values(**key, **{column: 1}))
        return 1
    session.execute(table.update().where(*where).values(**{column: col + 1}))
    return current + 1


def next_sequence(session, agency_code: str, day: date) -> int:
    """The next number of ``day`` for ``agency_code``; raises SequenceExhausted past 9,999."""
    seq = _upsert_increment(session, DossierCodeCounter.__table__, {"agency_code": agency_code, "day": day},
                            "last_seq")
    return _check_exhausted(seq, day)


def _check_exhausted(seq: int, day: date) -> int:
    if seq > MAX_SEQUENCE:
        raise SequenceExhausted(
            f"Đã dùng hết {MAX_SEQUENCE} số hồ sơ của ngày {day:%d/%m/%Y}; không thể cấp thêm mã trong ngày này."
        )
    return seq


def highest_sequence_in_use(session, agency_code: str, day: date) -> int:
    """The highest sequence of ``day`` among the stored dossiers' codes (0 when none)."""
    prefix = f"{agency_code}-{day:%y%m%d}-"
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = code_pattern(agency_code)
    highest = 0
    for code in session.scalars(select(Dossier.code).where(Dossier.code.like(escaped + "%", escape="\\"))):
        match = pattern.match(code)
        if match:
            highest = max(highest, int(match.group(2)))
    return highest


def issue_code(session, agency_code: str, day: date) -> str:
    """A new dossier code for a dossier received on ``day`` (call inside the intake's transaction).

    Heals a counter that lags behind the stored codes (after an import or a restore)."""
    seq = next_sequence(session, agency_code, day)
    code = format_code(agency_code, day, seq)
    if session.scalar(select(Dossier.id).where(Dossier.code == code)) is None:
        return code
    counter = DossierCodeCounter.__table__
    highest = highest_sequence_in_use(session, agency_code, day)
    session.execute(update(counter).where(counter.c.agency_code == agency_code, counter.c.day == day)
                    .values(last_seq=max(highest, seq)))
    return format_code(agency_code, day, next_sequence(session, agency_code, day))


def next_register_number(session, year: int) -> int:
    """The next entry of the register (form 06) of ``year``, numbered from 1 each year.

    Heals a counter that lags behind the stored register numbers, like :func:`issue_code`."""
    number = _upsert_increment(session, RegisterCounter.__table__, {"year": year}, "last_number")
    taken = session.scalar(select(Dossier.id).where(Dossier.register_year == year,
                                                    Dossier.register_number == number))
    if taken is None:
        return number
    counter = RegisterCounter.__table__
    highest = session.scalar(select(func.max(Dossier.register_number)).where(Dossier.register_year == year)) or 0
    session.execute(update(counter).where(counter.c.year == year).values(last_number=max(highest, number)))
    return _upsert_increment(session, counter, {"year": year}, "last_number")


def _upsert(session, table, key: dict, column: str, value: int, combine: str) -> int:
    """Insert ``value`` at ``key`` or combine it with the stored one ("add" or "max"); return the stored value."""
    dialect = session.get_bind().dialect.name
    col = table.c[column]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        merged = col + value if combine == "add" else func.greatest(col, value)
    else:
        from sqlalchemy.dialects.sqlite import insert

        merged = col + value if combine == "add" else func.max(col, value)
    stmt = insert(table).values(**key, **{column: value})
    stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={column: merged}).returning(col)
    return int(session.execute(stmt).scalar_one())


def reserve_register_numbers(session, year: int, count: int) -> range:
    """``count`` consecutive register entries of ``year`` (imports number in batches). Like
    :func:`next_register_number`, never hands out a number a stored dossier holds."""
    highest = session.scalar(select(func.max(Dossier.register_number)).where(Dossier.register_year == year)) or 0
    _upsert(session, RegisterCounter.__table__, {"year": year}, "last_number", highest, "max")
    last = _upsert(session, RegisterCounter.__table__, {"year": year}, "last_number", count, "add")
    return range(last - count + 1, last + 1)


def stand_past(session, agency_code: str, day: date, seq: int) -> int:
    """Make the day's code counter stand at least at ``seq`` (a number used by an imported dossier of the
    agency's own format), so intake never issues it again; returns the counter's value."""
    return _upsert(session, DossierCodeCounter.__table__, {"agency_code": agency_code, "day": day}, "last_seq", seq,
                   "max")
