"""The plan forms: what each page's form posts, read into the plain dicts the services validate.

The services (tthc.plans.services) own the rules and the Vietnamese messages, so the page, the CLI and
the tests share one validation; these functions only pick the fields of a request's form.
"""
from __future__ import annotations

from typing import Optional

PLAN_FIELDS = ("number", "issued_date", "title", "legal_basis", "first_year", "last_year")
TASK_TEXT_FIELDS = ("content", "lead", "coordinating", "timing", "expected_result", "measure")
PROGRESS_FIELDS = ("status", "done_text", "reason", "evidence_number", "evidence_date", "evidence_url")


def plan_data(form) -> dict:
    return {k: form.get(k, "") for k in PLAN_FIELDS}


def task_data(form) -> dict:
    data = {k: form.get(k, "") for k in TASK_TEXT_FIELDS}
    data["unit_ids"] = form.getlist("unit_ids")
    data["user_ids"] = form.getlist("user_ids")
    return data


def progress_data(form) -> dict:
    return {k: form.get(k, "") for k in PROGRESS_FIELDS}


def upload_of(files, name: str = "file") -> Optional[tuple[str, bytes]]:
    """(file name, bytes) of an uploaded file, or None when the field was left empty."""
    upload = files.get(name)
    if upload is None or not upload.filename:
        return None
    return upload.filename, upload.read()
