"""The OpenAPI 3.1 document of the JSON API (``GET /api/v1/openapi.json``).

Written by hand next to ``intake/api.py`` and held against real responses by
``tests/web/test_api.py`` (every response body is validated against the schema
of its path, method and status) and by a schemathesis run (README). Schemas are
JSON Schema 2020-12, as OpenAPI 3.1 prescribes: a nullable value is
``"type": [..., "null"]``. Keep patterns and limits identical to the ones the
code enforces, so that schema-valid input is never a 500 and schema-invalid
input is always refused.
"""
from __future__ import annotations

from typing import Any

from deadlines import lifecycle

# Stricter than the parser (which also refuses what these exclude): no year 0000, month 13 or hour 24,
# so that schema-valid data is not refused for its shape (issue 12, schemathesis).
_DAY = r"(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
DATETIME_PATTERN = (rf"^{_DAY}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{{1,6}})?)?"
                    r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$")
DATE_PATTERN = rf"^{_DAY}$"
# Text holding a control character other than tab and newlines is refused (tthc.text.FORBIDDEN_CHARS).
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
INT32_MAX = 2**31 - 1

# The vocabulary is deadlines.lifecycle's (defined once); the schema lists it.
STATUSES = list(lifecycle.STATUSES)
EVENT_TYPES = [t for t in lifecycle.EVENT_TYPES if t in lifecycle.TRANSITIONS]
ALL_EVENT_TYPES = [*lifecycle.EVENT_TYPES, *lifecycle.META_EVENT_TYPES]
FLAGS = ["overdue", "due_soon", "not_forwarded", "late_supplement_request", "apology_missing"]
LIMIT_UNITS = list(lifecycle.LIMIT_UNITS)
CHANNELS = list(lifecycle.CHANNELS)
DOCUMENT_KINDS = ["original", "copy", "original_or_copy"]
SUMMARY_COUNTS = ("received", "carried_over", "new_online", "new_direct", "new_postal", "finished", "early",
                  "on_time", "late", "in_progress", "within_time", "overdue", "closed_other", "on_time_rate")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required}
    schema.update(extra)
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
DT = {"type": "string", "format": "date-time"}


def _list_of(item: str, **more: Any) -> dict[str, Any]:
    return _obj({
        "items": {"type": "array", "items": _ref(item)},
        "total": {"type": "integer", "minimum": 0},
        **more,
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
    })


def _schemas() -> dict[str, Any]:
    document = _obj({
        "name": STR,
        "kind": {"type": "string", "enum": DOCUMENT_KINDS},
        "count": {"type": "integer", "minimum": 1},
    })
    counts: dict[str, Any] = {name: INT for name in SUMMARY_COUNTS if name != "on_time_rate"}
    counts["on_time_rate"] = {"type": ["number", "null"],
                              "description": "(early + on time) / finished, in %, two decimals; null when "
                                             "nothing was finished."}
    summary_row = _obj({"key": {"type": ["string", "integer", "null"],
                                "description": "The field's name, the procedure's or the unit's id."},
                        "label": STR, **counts})
    return {
        "SummaryRow": summary_row,
        "Summary": _obj({
            "period": _obj({"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}},
                           description="Both days included (domain.md §7: the 15th to the 14th by default)."),
            "rows": {"type": "array", "items": _ref("SummaryRow")},
            "total": _obj(counts, description="Computed from the totals, the rate never averaged."),
        }),
        "Error": _obj({"error": _obj({
            "code": STR,
            "message": STR,
            "field": _nullable(STR),
            "details": {"type": "array", "description": "Every error found, when there were several (the "
                                                         "first is message/field).",
                        "items": _obj({"field": _nullable(STR), "message": STR})},
        }, required=["code", "message", "field"])}),
        "Document": document,
        "Procedure": _obj({
            "id": INT,
            "national_code": _nullable(STR),
            "name": STR,
            "field": STR,
            "unit_id": _nullable(INT),
            "limit_unit": _nullable({"type": "string", "enum": LIMIT_UNITS}),
            "limit_amount": _nullable(INT),
            "statutory_unit": _nullable({"type": "string", "enum": LIMIT_UNITS}),
            "statutory_amount": _nullable(INT),
            "committed_unit": _nullable({"type": "string", "enum": LIMIT_UNITS}),
            "committed_amount": _nullable(INT),
            "supplement_rule": {"type": "string", "enum": ["restart", "pause"]},
            "documents": {"type": "array", "items": _ref("Document")},
        }, description="An active procedure. limit_* is the effective limit (the committed one when set).").copy(),
        "ProcedureList": _list_of("Procedure"),
        "Unit": _obj({"id": INT, "code": STR, "name": STR}),
        "UnitList": _list_of("Unit"),
        "Applicant": _obj({
            "kind": {"type": "string", "enum": ["individual", "organisation"]},
            "name": STR,
            "id_number": {"type": "string", "description": "Masked (****123) unless the token's role is "
                                                           "reception or supervisor (Decree 13/2023)."},
            "phone": {"type": "string", "description": "Masked like id_number."},
            "email": STR,
            "address": STR,
        }),
        "Event": _obj({
            "id": INT,
            "type": {"type": "string", "enum": ALL_EVENT_TYPES},
            "at": DT,
            "recorded_at": DT,
            "user": _nullable(STR),
            "unit_id": _nullable(INT),
            "note": STR,
            "voided": BOOL,
            "voids_event_id": _nullable(INT),
            "data": {"type": "object"},
        }),
        "DossierSummary": _obj(_dossier_properties(), description="A dossier in a list (without its events)."),
        "Dossier": _obj({**_dossier_properties(), "events": {"type": "array", "items": _ref("Event")}}),
        "DossierList": _list_of("DossierSummary", total_exact={
            "type": "boolean",
            "description": "false when more dossiers match than are counted (1,000 or the page asked for): "
                           "total is then that cap"}),
        "ApplicantInput": _obj({
            "kind": {"type": ["string", "null"], "enum": ["individual", "organisation", None],
                     "default": "individual"},
            "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": TEXT_PATTERN},
            "id_number": {"type": "string", "minLength": 1, "maxLength": 32, "pattern": TEXT_PATTERN,
                          "description": "Individual: 12-digit citizen ID (CCCD) or passport (letter + 7-8 "
                                         "digits); organisation: tax code of 10 or 13 digits (0123456789-001)."},
            "phone": {"type": ["string", "null"], "maxLength": 32, "pattern": TEXT_PATTERN,
                      "description": "Vietnamese number: 10 digits starting with 0 (landline 11 digits "
                                     "starting with 02); +84 accepted. May be missing: the dossier's "
                                     "warnings then say the public look-up uses the ID number's last 4 digits."},
            "email": {"type": ["string", "null"], "maxLength": 255, "pattern": TEXT_PATTERN},
            "address": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT_PATTERN},
        }, required=["name", "id_number"]),
        "DocumentInput": _obj({
            "name": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": TEXT_PATTERN},
            "kind": {"type": ["string", "null"], "enum": [*DOCUMENT_KINDS, None]},
            "count": {"type": "integer", "minimum": 1, "maximum": 99},
        }, required=["name"]),
        "DossierInput": _obj({
            "procedure_id": {"type": "integer", "minimum": 1, "maximum": INT32_MAX, "examples": [1]},
            "applicant": _ref("ApplicantInput"),
            "channel": {"type": "string", "enum": CHANNELS},
            "received_at": {"type": ["string", "null"], "pattern": DATETIME_PATTERN,
                            "description": "Reception time (default: now), not in the future; e.g. "
                                           "2026-03-09T09:15 or 2026-03-09T09:15:00+07:00."},
            "submitted_at": {"type": ["string", "null"], "pattern": DATETIME_PATTERN,
                             "description": "When the applicant submitted (online), not after received_at."},
            "sets": {"type": ["integer", "null"], "minimum": 1, "maximum": 99},
            "documents": {"type": ["array", "null"], "items": _ref("DocumentInput"), "maxItems": 100,
                          "description": "Documents received; default: the procedure's list."},
            "code": {"type": ["string", "null"], "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                     "description": "A code already issued by the provincial system (kept as is, unique)."},
            "reception_point": {"type": ["string", "null"], "maxLength": 255, "pattern": TEXT_PATTERN},
            "request_summary": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT_PATTERN},
            "late_entry_reason": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT_PATTERN,
                                  "description": "Why a dossier is logged long after received_at (optional); "
                                                 "kept in the received event."},
        }, required=["procedure_id", "applicant", "channel"]),
        "EventInput": _obj({
            "type": {"type": "string", "enum": EVENT_TYPES},
            "at": {"type": ["string", "null"], "pattern": DATETIME_PATTERN,
                   "description": "The true time when recorded late: not in the future, not before the "
                                  "previous event."},
            "note": {"type": ["string", "null"], "maxLength": 2000, "pattern": TEXT_PATTERN,
                     "description": "Required for supplement_requested (the reason), returned_unprocessed, "
                                    "withdrawn, stopped (the reason, and its legal ground unless legal_ground "
                                    "says it), cancelled."},
            "legal_ground": {"type": ["string", "null"], "maxLength": 2000,
                             "description": "stopped: the legal ground of stopping (document, article), printed "
                                            "on form 05 of Circular 03/2025 at /dossiers/{code}/stop-notice.",
                             "examples": ["Khoản 2 Điều 12 Nghị định số 118/2025/NĐ-CP"]},
            "next_steps": {"type": ["string", "null"], "maxLength": 2000,
                           "description": "stopped: what the applicant may do next (form 05); default wording "
                                          "when omitted."},
            "documents_to_add": {"type": ["array", "null"], "minItems": 1, "maxItems": 50,
                                 "items": {"type": "string", "minLength": 1, "maxLength": 2000,
                                           "pattern": r"\S"},
                                 "description": "supplement_requested (required there, refused elsewhere): the "
                                                "documents to add or correct (form 02), one name each; a name "
                                                "matching the procedure's catalog is stored as the catalog spells "
                                                "it.",
                                 "examples": [["Bản sao Quyết định thành lập tổ chức", "Biên bản nghiệm thu"]]},
            "unit_id": {"type": ["integer", "null"], "minimum": 1, "maximum": INT32_MAX,
                        "description": "forwarded (default: the procedure's unit), step_handed_over (next unit)."},
            "new_deadline": {"type": ["string", "null"], "pattern": DATETIME_PATTERN,
                             "description": "extended: the new appointment, later than the current deadline."},
            "result": {"type": ["string", "null"], "enum": ["approved", "refused", None],
                       "description": "finished: approved, or refused after appraisal."},
            "version": {"type": ["integer", "null"],
                        "description": "The dossier's version as last read; a stale version answers 409."},
        }, required=["type"]),
    }


def _dossier_properties() -> dict[str, Any]:
    return {
        "code": STR,
        "external_code": BOOL,
        "reception_point": STR,
        "status": {"type": "string", "enum": STATUSES},
        "status_label": STR,
        "procedure_id": INT,
        "procedure_name": STR,
        "national_code": _nullable(STR),
        "field": STR,
        "limit_unit": _nullable({"type": "string", "enum": LIMIT_UNITS}),
        "limit_amount": _nullable(INT),
        "unit_id": _nullable(INT),
        "current_unit_id": _nullable(INT),
        "channel": {"type": "string", "enum": CHANNELS},
        "applicant": _ref("Applicant"),
        "request_summary": STR,
        "sets": INT,
        "documents": {"type": "array", "items": _ref("Document")},
        "register_year": INT,
        "register_number": INT,
        "submitted_at": _nullable(DT),
        "received_at": DT,
        "forwarding_deadline": _nullable(DT),
        "deadline": _nullable(DT),
        "original_deadline": _nullable(DT),
        "appointment_at": _nullable(DT),
        "forwarded_at": _nullable(DT),
        "finished_at": _nullable(DT),
        "handed_over_at": _nullable(DT),
        "result": _nullable({"type": "string", "enum": ["approved", "refused"]}),
        "classification": _nullable({"type": "string", "enum": ["early", "on_time", "late"]}),
        "extended": BOOL,
        "flags": {"type": "array", "items": {"type": "string", "enum": FLAGS}},
        "warnings": {"type": "array", "items": STR,
                     "description": "What the desk should act on, in Vietnamese: e.g. the deadline is counted "
                                    "over a year whose calendar is only estimated (an administrator should "
                                    "confirm the year); an individual applicant without a phone. Empty when "
                                    "there is nothing to say."},
        "version": INT,
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


RESPONSES = {
    "BadRequest": _error("Malformed JSON or query parameters."),
    "Unauthorized": {**_error("Missing, unknown or revoked bearer token."),
                     "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "Forbidden": _error("The token's role may not do this."),
    "NotFound": _error("No such dossier, or not visible to the token's user."),
    "Conflict": _error("Illegal transition in the dossier's current state, stale version, or code taken."),
    "Unprocessable": _error("Invalid field (error.field names it)."),
}


def _responses(ok_status: str, ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    result = {ok_status: ok, "401": {"$ref": "#/components/responses/Unauthorized"}}
    names = {"400": "BadRequest", "403": "Forbidden", "404": "NotFound", "409": "Conflict", "422": "Unprocessable"}
    for status in errors:
        result[status] = {"$ref": f"#/components/responses/{names[status]}"}
    return result


def _json(schema: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}, **extra}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGE = _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}, "Page number.")


def _per_page(default: int) -> dict[str, Any]:
    return _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": default},
                  "Items per page (at most 100).")


CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "The dossier code, e.g. 000.00.31.H49-260309-0001."}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "Makes a retry safe (kept 24 hours per token): the same key with the same body answers the "
                   "first response again (201, same body and Location); with another body, 422; while the first "
                   "request is still running, 409.",
}
DOSSIER_EXAMPLE = {
    "procedure_id": 1,
    "applicant": {"kind": "individual", "name": "Nguyễn Văn An", "id_number": "001090012345",
                  "phone": "0912345678", "email": "an@example.vn", "address": "12 Lê Lợi, phường Bến Thành"},
    "channel": "direct",
    "sets": 1,
    "request_summary": "Cấp giấy chứng nhận",
}
DOSSIER_LINKS = {
    "GetDossier": {"operationId": "getDossier", "parameters": {"code": "$response.body#/code"}},
    "RecordEvent": {"operationId": "recordEvent", "parameters": {"code": "$response.body#/code"}},
}
LOCATION = {"Location": {"description": "The dossier's address in this API.", "schema": {"type": "string"}}}


def build_openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TTHC dossier tracker API",
            "version": "1.0.0",
            "description": "Dossiers of the one-stop desk (Bộ phận Một cửa). Datetimes are written in ISO 8601 "
                           "with +07:00 and accepted with or without an offset. Errors are "
                           "{\"error\": {\"code\", \"message\", \"field\"}}. Tokens: `flask users token USERNAME`.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/procedures": {"get": {
                "operationId": "listProcedures",
                "summary": "Active procedures with their effective, statutory and committed time limits",
                "parameters": [
                    _query("q", {"type": "string", "maxLength": 100, "pattern": TEXT_PATTERN}, "Name or national code, without regard to "
                                                                       "case or diacritics."),
                    _query("field", {"type": "string", "maxLength": 255, "pattern": TEXT_PATTERN}, "Field (lĩnh vực), exact."),
                    PAGE, _per_page(100),
                ],
                "responses": _responses("200", _json("ProcedureList", "A page of procedures."), "400"),
            }},
            "/units": {"get": {
                "operationId": "listUnits",
                "summary": "Active units",
                "parameters": [PAGE, _per_page(100)],
                "responses": _responses("200", _json("UnitList", "A page of units."), "400"),
            }},
            "/dossiers": {
                "get": {
                    "operationId": "listDossiers",
                    "summary": "Dossiers visible to the token's user, newest first",
                    "parameters": [
                        _query("status", {"type": "string", "enum": STATUSES}, "Status."),
                        _query("unit", {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                               "Unit id (handling unit at reception or current unit)."),
                        _query("procedure", {"type": "integer", "minimum": 1, "maximum": INT32_MAX}, "Procedure id."),
                        _query("channel", {"type": "string", "enum": CHANNELS}, "Channel."),
                        _query("from", {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                               "Received on or after this date (YYYY-MM-DD)."),
                        _query("to", {"type": "string", "format": "date", "pattern": DATE_PATTERN},
                               "Received on or before this date (YYYY-MM-DD)."),
                        _query("overdue", {"type": "string", "enum": ["true", "false"]},
                               "Only (or no) overdue dossiers."),
                        _query("due_soon", {"type": "string", "enum": ["true", "false"]},
                               "Only (or no) dossiers due soon."),
                        _query("q", {"type": "string", "maxLength": 100, "pattern": TEXT_PATTERN},
                               "Code, applicant name (without diacritics), ID number or phone."),
                        PAGE, _per_page(25),
                    ],
                    "responses": _responses("200", _json("DossierList", "A page of dossiers."), "400"),
                },
                "post": {
                    "operationId": "receiveDossier",
                    "summary": "Receive a dossier (reception role): issues its code and appointment",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": _ref("DossierInput"),
                                                                     "example": DOSSIER_EXAMPLE}}},
                    "responses": _responses("201", _json("Dossier", "The dossier received.", headers=LOCATION,
                                                         links=DOSSIER_LINKS),
                                            "400", "403", "409", "422"),
                },
            },
            "/dossiers/{code}": {"get": {
                "operationId": "getDossier",
                "summary": "A dossier with its deadlines, flags and events",
                "parameters": [CODE],
                "responses": _responses("200", _json("Dossier", "The dossier."), "404"),
            }},
            "/summary": {"get": {
                "operationId": "getSummary",
                "summary": "The monthly report's rows: \"Tình hình, kết quả giải quyết TTHC\" (domain.md §7)",
                "description": "The same numbers as the monthly report (flask reports monthly) and the dashboard's "
                               "period table. Supervisors and administrators: every unit; a handler: their own "
                               "unit only (another unit answers 403). In progress is measured at the period's "
                               "end, or now while the period runs.",
                "parameters": [
                    {"name": "period", "in": "query", "required": True,
                     "schema": {"type": "string", "pattern": r"^\d{4}-\d{1,2}$"},
                     "description": "YYYY-MM: under Decree 09/2019 the 15th of the previous month to the 14th."},
                    _query("by", {"type": "string", "enum": ["field", "procedure", "unit"], "default": "field"},
                           "One row per field (default), procedure or handling unit."),
                    _query("unit", {"type": "integer", "minimum": 1}, "Only the dossiers of this handling unit."),
                ],
                "responses": _responses("200", _json("Summary", "The rows and their total."), "400", "403", "422"),
            }},
            "/dossiers/{code}/events": {"post": {
                "operationId": "recordEvent",
                "summary": "Record an event of the state machine (domain.md §8)",
                "parameters": [CODE],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("EventInput"), "example": {"type": "forwarded", "note": "Chuyển phòng chuyên môn"}}}},
                "responses": _responses("201", _json("Dossier", "The dossier after the event.", headers=LOCATION,
                                                     links=DOSSIER_LINKS),
                                        "400", "403", "404", "409", "422"),
            }},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "Issued by `flask users token USERNAME`."}},
            "schemas": _schemas(),
            "responses": RESPONSES,
        },
    }
