"""Digest e-mail (issue 5): one message per recipient per pass, never one per dossier; against a local SMTP sink."""
from __future__ import annotations

import email
import socketserver
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from deadlines.alerts import mail_daily_digest, mail_newly_overdue
from deadlines.scan import run_scan
from deadlines.store import calendar_for
from tests.factories import make_procedure, make_unit, make_user
from tests.integration.test_scan import NOW, make_dossier
from tthc.models import Alert


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        self._reply("220 localhost test sink")
        rcpts: list[str] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            cmd = raw.decode("utf-8", "replace").strip()
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 localhost")
            elif verb == "MAIL":
                rcpts = []
                self._reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b".\n", b""):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.server.messages.append((rcpts, email.message_from_bytes(b"".join(lines))))
                self._reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:
                self._reply("502 Command not implemented")


@pytest.fixture
def smtp_sink():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _body(msg) -> str:
    return msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8")


@pytest.fixture
def mail_world(app, db_session, smtp_sink):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.server_address[1], SMTP_FROM="tthc@example.vn")
    s = db_session
    a, b = make_unit(s, name="Phòng A"), make_unit(s, name="Phòng B")
    proc = make_procedure(s)
    make_user(s, role="supervisor", username="sup", email="sup@example.vn")
    make_user(s, role="supervisor", username="sup-nomail")  # no address: no message
    make_user(s, role="handler", username="head-a", unit=a, is_unit_head=True, email="head-a@example.vn")
    make_user(s, role="handler", username="head-b", unit=b, is_unit_head=True, email="head-b@example.vn")
    make_user(s, role="handler", username="officer-a", unit=a, email="officer-a@example.vn")  # not a head
    overdue_a = [make_dossier(s, proc, unit=a, deadline_at=NOW - timedelta(hours=h)) for h in (1, 2, 3)]
    overdue_b = [make_dossier(s, proc, unit=b, deadline_at=NOW - timedelta(hours=5))]
    soon_a = make_dossier(s, proc, unit=a, deadline_at=NOW + timedelta(hours=2))
    s.commit()
    return {"a": a, "b": b, "proc": proc, "overdue_a": overdue_a, "overdue_b": overdue_b, "soon_a": soon_a,
            "cal": calendar_for(s)}


def test_one_digest_per_recipient_lists_the_newly_overdue_dossiers(app, db_session, smtp_sink, mail_world):
    w = mail_world
    run_scan(db_session, NOW, cal=w["cal"])
    db_session.commit()
    sent = mail_newly_overdue(db_session, NOW, app.config)
    db_session.commit()
    assert sent == 3
    by_rcpt = {tuple(r): m for r, m in smtp_sink.messages}
    assert set(by_rcpt) == {("sup@example.vn",), ("head-a@example.vn",), ("head-b@example.vn",)}
    sup = _body(by_rcpt[("sup@example.vn",)])
    head_a = _body(by_rcpt[("head-a@example.vn",)])
    head_b = _body(by_rcpt[("head-b@example.vn",)])
    for d in w["overdue_a"] + w["overdue_b"]:
        assert d.code in sup
    assert all(d.code in head_a for d in w["overdue_a"]) and w["overdue_b"][0].code not in head_a
    assert w["overdue_b"][0].code in head_b and all(d.code not in head_b for d in w["overdue_a"])
    assert w["soon_a"].code not in sup  # due soon is not overdue
    assert by_rcpt[("sup@example.vn",)]["From"] == "tthc@example.vn"
    assert "4 hồ sơ" in str(email.header.make_header(email.header.decode_header(by_rcpt[("sup@example.vn",)]["Subject"])))


def test_a_second_pass_mails_only_what_became_overdue_since(app, db_session, smtp_sink, mail_world):
    w = mail_world
    run_scan(db_session, NOW, cal=w["cal"])
    db_session.commit()
    mail_newly_overdue(db_session, NOW, app.config)
    db_session.commit()
    smtp_sink.messages.clear()
    # Nothing new: no e-mail at all.
    later = NOW + timedelta(minutes=15)
    run_scan(db_session, later, cal=w["cal"])
    db_session.commit()
    assert mail_newly_overdue(db_session, later, app.config) == 0
    db_session.commit()
    assert smtp_sink.messages == []
    # The due-soon dossier of unit A becomes overdue: the supervisor and A's head get one message each.
    much_later = NOW + timedelta(hours=3)
    run_scan(db_session, much_later, cal=w["cal"])
    db_session.commit()
    assert mail_newly_overdue(db_session, much_later, app.config) == 2
    db_session.commit()
    assert sorted(r[0] for r, _m in smtp_sink.messages) == ["head-a@example.vn", "sup@example.vn"]
    for _r, m in smtp_sink.messages:
        body = _body(m)
        assert w["soon_a"].code in body and w["overdue_a"][0].code not in body
    assert db_session.scalar(select(Alert).where(Alert.kind == "overdue", Alert.emailed_at.is_(None))) is None


def test_without_smtp_nothing_is_sent_and_alerts_stay_unmailed(app, db_session, smtp_sink, mail_world):
    app.config["SMTP_HOST"] = None
    run_scan(db_session, NOW, cal=mail_world["cal"])
    db_session.commit()
    assert mail_newly_overdue(db_session, NOW, app.config) == 0
    assert smtp_sink.messages == []
    assert db_session.scalar(select(Alert).where(Alert.kind == "overdue", Alert.emailed_at.isnot(None))) is None


def test_the_daily_digest_lists_overdue_and_due_soon(app, db_session, smtp_sink, mail_world):
    run_scan(db_session, NOW, cal=mail_world["cal"])
    db_session.commit()
    assert mail_daily_digest(db_session, NOW, app.config) == 3
    sup = next(m for r, m in smtp_sink.messages if r == ["sup@example.vn"])
    body = _body(sup)
    assert mail_world["soon_a"].code in body and mail_world["overdue_b"][0].code in body


def test_the_cli_pass_sends_the_digest(app, runner, smtp_sink, mail_world):
    result = runner.invoke(args=["deadlines", "scan", "--at", "2026-03-02 10:00"])
    assert result.exit_code == 0, result.output
    assert "digest e-mails sent 3" in result.output
    assert len(smtp_sink.messages) == 3
