"""Rebuild ``tests/data/specs/zendesk.json``: the vendor file trimmed, plus what it leaves out.

    python -m tests.adapters.zendesk.make_spec ../shared/specs/zendesk-support-v2.json

The vendor document describes success responses only, names only Basic auth, marks no ticket
field nullable, requires ``start_time`` even on a cursor request and describes a ticket's
``custom_fields`` on update with the field-definition schema; real Zendesk answers errors
as ``{"error": ..., "description": ..., "details": ...}``, accepts OAuth bearer tokens, returns
``null`` for unset ticket fields and takes ``cursor`` alone. Each such addition is listed in
``info.x-additions`` so a reader can tell vendor text from ours.
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
    "GET /api/v2/users/search",
    "GET /api/v2/users/{user_id}",
    "GET /api/v2/custom_statuses",
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
