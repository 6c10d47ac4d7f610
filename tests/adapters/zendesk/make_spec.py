"""Rebuild ``tests/data/specs/zendesk.json``: the vendor file trimmed, plus what it leaves out.

    python -m tests.adapters.zendesk.make_spec ../shared/specs/zendesk-support-v2.json

The vendor document describes success responses only, names only Basic auth, marks no ticket
field nullable, requires ``start_time`` even on a cursor request and describes a ticket's
``custom_fields`` on update with the field-definition schema; real Zendesk answers errors
as ``{"error": ..., "description": ..., "details": ...}``, accepts OAuth bearer tokens, returns
``null`` for unset ticket fields and takes ``cursor`` alone. The List Search Results and Export
Search Results operations leave out their paging parameters (``page``/``per_page``,
``page[after]``), which their own descriptions name, and the webhooks API (``/api/v2/webhooks``) has
a separate vendor document not copied here: it is described from developer.zendesk.com's
webhooks reference. Each such addition is listed in ``info.x-additions`` so a reader can tell
vendor text from ours.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.data.specs.trim import trim

OPERATIONS = [
    "GET /api/v2/tickets/{ticket_id}",
    "PUT /api/v2/tickets/{ticket_id}",
    "GET /api/v2/tickets",
    "POST /api/v2/tickets",
    "GET /api/v2/tickets/{ticket_id}/comments",
    "GET /api/v2/incremental/tickets/cursor",
    "GET /api/v2/users/me",
    "GET /api/v2/users/search",
    "GET /api/v2/users/{user_id}",
    "GET /api/v2/custom_statuses",
    "GET /api/v2/search",
    "GET /api/v2/search/count",
    "GET /api/v2/search/export",
    "GET /api/v2/ticket_fields/{ticket_field_id}",
    "GET /api/v2/triggers",
]
NULLABLE = (
    "assignee_id",
    "custom_status_id",
    "external_id",
    "group_id",
    "organization_id",
    "priority",
    "problem_id",
    "type",
    "brand_id",
    "forum_topic_id",
    "ticket_form_id",
    "submitter_id",
    "raw_subject",
    "subject",
)
ERROR = {
    "description": "A Zendesk error body (developer.zendesk.com/api-reference/introduction/responses)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {"oneOf": [{"type": "string"}, {"type": "object"}]},
                    "description": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        }
    },
}
TOKEN_GRANT: dict[str, Any] = {
    "post": {
        "summary": "OAuth token grant (client_credentials or refresh_token)",
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type", "client_id", "client_secret"],
                        "properties": {
                            "grant_type": {
                                "type": "string",
                                "enum": ["client_credentials", "refresh_token"],
                            },
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string"},
                            "refresh_token": {"type": "string"},
                            "expires_in": {"type": "integer"},
                        },
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "A bearer token",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["access_token", "token_type"],
                            "properties": {
                                "access_token": {"type": "string"},
                                "token_type": {"type": "string"},
                                "scope": {"type": "string"},
                                "expires_in": {"type": "integer"},
                                "refresh_token": {"type": "string"},
                                "refresh_token_expires_in": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "default": ERROR,
        },
    }
}


def _query(name: str, kind: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": kind}}


CURSOR_META: dict[str, Any] = {
    "type": "object",
    "properties": {
        "has_more": {"type": "boolean"},
        "after_cursor": {"type": "string", "nullable": True},
        "before_cursor": {"type": "string", "nullable": True},
    },
}
CURSOR_LINKS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "next": {"type": "string", "nullable": True},
        "prev": {"type": "string", "nullable": True},
    },
}
WEBHOOK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "status", "endpoint", "http_method", "request_format"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "inactive"]},
        "subscriptions": {"type": "array", "items": {"type": "string"}},
        "endpoint": {"type": "string"},
        "http_method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
        "request_format": {"type": "string", "enum": ["json", "xml", "form_encoded"]},
        "authentication": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
        "updated_by": {"type": "string"},
    },
}
WEBHOOKS: dict[str, Any] = {
    "get": {
        "operationId": "ListWebhooks",
        "summary": "List Webhooks (developer.zendesk.com/api-reference/webhooks/webhooks-api/)",
        "parameters": [
            _query("filter[name_contains]", "string", "Webhooks whose name contains this"),
            _query("filter[status]", "string", "active or inactive"),
            _query("page[after]", "string", "Cursor of the next page"),
            _query("page[before]", "string", "Cursor of the previous page"),
            _query("page[size]", "integer", "Webhooks per page (at most 100)"),
            _query("sort", "string", "name or status, - for descending"),
        ],
        "responses": {
            "200": {
                "description": "Success response",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "webhooks": {"type": "array", "items": WEBHOOK},
                                "meta": CURSOR_META,
                                "links": CURSOR_LINKS,
                            },
                        }
                    }
                },
            },
            "default": ERROR,
        },
    }
}


def extend(spec: dict[str, Any]) -> dict[str, Any]:
    for item in spec["paths"].values():
        for parameter in item.get("parameters", []):
            if parameter.get("$ref", "").endswith("/IncrementalUnixTime"):
                spec["components"]["parameters"]["IncrementalUnixTime"]["required"] = False
        for method, operation in item.items():
            if method in ("get", "put", "post"):
                operation["responses"].setdefault("default", ERROR)
    ticket = spec["components"]["schemas"]["TicketObject"]["properties"]
    for name in NULLABLE:
        ticket[name]["nullable"] = True
        if "enum" in ticket[name]:
            ticket[name]["enum"] = [*ticket[name]["enum"], None]
    update = spec["components"]["schemas"]["TicketUpdateInput"]["properties"]
    update["custom_fields"]["items"] = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "value": {}},
    }
    search = spec["paths"]["/api/v2/search"]["get"]["parameters"]
    search.append(_query("page", "integer", "Offset page number (results stop at 1,000)"))
    search.append(_query("per_page", "integer", "Results per page (at most 100)"))
    export = spec["paths"]["/api/v2/search/export"]["get"]["parameters"]
    export.append(_query("page[after]", "string", "meta.after_cursor of the previous page"))
    spec["paths"]["/api/v2/webhooks"] = WEBHOOKS
    spec["paths"]["/oauth/tokens"] = TOKEN_GRANT
    spec["components"]["securitySchemes"]["bearerAuth"] = {"type": "http", "scheme": "bearer"}
    spec["security"] = [{"basicAuth": []}, {"bearerAuth": []}]
    spec["info"]["x-additions"] = [
        "default error response on every operation (Zendesk error body)",
        "start_time not required (a cursor request has none)",
        f"TicketObject fields Zendesk returns as null: {', '.join(NULLABLE)}",
        "TicketUpdateInput.custom_fields items are {id, value} (the vendor file names the "
        "field-definition schema, which no ticket update sends)",
        "POST /oauth/tokens (the OAuth grant endpoint, outside /api/v2)",
        "GET /api/v2/search: page and per_page (offset pagination, named in its description)",
        "GET /api/v2/search/export: page[after] (cursor pagination, named in its description)",
        "GET /api/v2/webhooks (the webhooks API has its own vendor document; shape from "
        "developer.zendesk.com/api-reference/webhooks/webhooks-api/)",
        "bearerAuth security scheme (OAuth access tokens)",
    ]
    return spec


def main() -> None:
    source = Path(sys.argv[1])
    target = Path(__file__).parents[2] / "data" / "specs" / "zendesk.json"
    vendor = json.loads(source.read_text(encoding="utf-8"))
    trimmed = extend(trim(vendor, OPERATIONS, "/", source.name))
    target.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
