"""The review's what-if in a real browser (issue 14): editing a proposed time updates, at once, the row's
count of dossiers that would have been late and the total (static/js/review.js, no inline script)."""
from __future__ import annotations

import re

import pytest

from tests import review_fixture

pytestmark = pytest.mark.e2e
FROM, TO = (d.isoformat() for d in review_fixture.WINDOW)


def test_editing_a_proposed_time_shows_how_many_dossiers_would_have_been_late(page, live_server, artifacts):
    from playwright.sync_api import expect

    from tests.factories import PASSWORD, make_user
    from tthc.extensions import db

    server = live_server
    with server.app.app_context():
        procedures = review_fixture.build(db.session)
        make_user(db.session, "supervisor", username="lanhdao-rasoat")
        db.session.commit()
    errors = []
    # Script errors and CSP refusals; the missing favicon (a 404 of the browser's own request) is no fault here.
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.goto(server.url + "/login")
    page.fill("#username", "lanhdao-rasoat")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{server.url}/review/?from={FROM}&to={TO}")

    first = procedures[0]
    key = f"{first.procedure_id}-0-working_days-{first.limit}-{first.rule}"
    late = page.locator(f'[data-late-for="{key}"]')
    total = page.locator("#what-if-total")
    before_row, before_total = int(late.inner_text()), int(total.inner_text())
    assert before_row == sum(c.used > 10 for c in first.cases)  # proposal at 95 %: the time in force, 10
    page.fill(f'input.what-if[data-key="{key}"]', "4")
    expected = sum(c.used > 4 for c in first.cases)
    expect(late).to_have_text(str(expected))  # a locator wait: the CSP forbids evaluating strings
    assert int(total.inner_text()) == before_total - before_row + expected
    page.screenshot(path=str(artifacts / "review-what-if.png"), full_page=True)
    assert not errors, errors
