"""Rebuild ``tests/data/specs/clickup.json`` from the vendor file: trim, inline, patch.

    python -m tests.adapters.clickup.make_spec ../shared/specs/clickup-v2.json

``trim.py`` keeps ``#/components/`` refs only; ClickUp's file also points into other paths
(``#/paths/~1v2~1user/...``), so those are inlined. Then a few documented patches where the
vendor file contradicts what the API answers; each is listed in ``info.x-ticket-bridge-patches``.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.data.specs.trim import resolve, trim

TARGET = Path(__file__).parents[2] / "data" / "specs" / "clickup.json"
OPERATIONS = [
    "GET /v2/user",
    "GET /v2/team",
    "GET /v2/list/{list_id}",
    "GET /v2/task/{task_id}",
    "PUT /v2/task/{task_id}",
    "POST /v2/list/{list_id}/task",
    "GET /v2/team/{team_Id}/task",
    "POST /v2/task/{task_id}/tag/{tag_name}",
    "DELETE /v2/task/{task_id}/tag/{tag_name}",
    "GET /v2/task/{task_id}/comment",
    "POST /v2/task/{task_id}/comment",
    "PUT /v2/comment/{comment_id}",
    "GET /v2/list/{list_id}/field",
    "GET /v2/team/{team_id}/webhook",
    "POST /v2/team/{team_id}/webhook",
]
ERROR = {
    "description": "ClickUp's error body",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["err", "ECODE"],
                "properties": {"err": {"type": "string"}, "ECODE": {"type": "string"}},
            }
        }
    },
}
PATCHES = [
    "every operation: a 'default' response with ClickUp's error body {err, ECODE} (the file "
    "documents 200 only, so 401/404/429 answers could not be checked at all)",
    "task priority in responses: object or null (the file says 'nullable', which OpenAPI 3.1 "
    "ignores; tasks without a priority have null)",
    "GET /v2/team/{team_Id}/task: tasks[].priority is the same object as GET /v2/task "
    "(the file says integer), and date_closed, date_done, parent, due_date, start_date, points and "
    "time_estimate may be null there as in GET /v2/task (the file says they may not)",
    "POST /v2/list/{list_id}/task: the created task's tags are tag objects as in GET /v2/task "
    "(the file says strings)",
    "PUT /v2/task/{task_id}: the updated task's assignees, watchers and tags are objects as in "
    "GET /v2/task (the file says strings)",
    "PUT /v2/task/{task_id}: priority and due_date may be null, which is how they are cleared",
    "PUT /v2/comment/{comment_id}: only comment_text is required (the file requires assignee "
    "and resolved, which would assign every edited comment to someone)",
    "GET /v2/task/{task_id}/comment: comments[].assignee and assigned_by may be null "
    "(unassigned comments)",
]


def inline(node: Any, spec: dict[str, Any], kept: set[str]) -> Any:
    """Replace refs into paths the trimmed file does not keep with the node they name."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/paths/"):
            path = unquote(ref.split("/")[2].replace("~1", "/"))
            if path not in kept:
                target = resolve(spec, unquote(ref))
                return inline(copy.deepcopy(target), spec, kept)
        return {k: inline(v, spec, kept) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, spec, kept) for v in node]
    return node


def nullable(schema: dict[str, Any]) -> None:
    kind = schema.get("type", "object")
    schema["type"] = [*(kind if isinstance(kind, list) else [kind]), "null"]


def build(source: Path) -> dict[str, Any]:
    vendor = json.loads(source.read_text(encoding="utf-8"))
    out = trim(vendor, OPERATIONS, "/api", source.name)
    out["paths"] = inline(out["paths"], vendor, set(out["paths"]))
    paths = out["paths"]
    for item in paths.values():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete"):
                op["responses"]["default"] = ERROR

    def ok(path: str, method: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[path][method]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        return schema

    task = ok("/v2/task/{task_id}", "get")
    nullable(task["properties"]["priority"])
    for path, method in (("/v2/task/{task_id}", "put"), ("/v2/list/{list_id}/task", "post")):
        nullable(ok(path, method)["properties"]["priority"])
    team_task = ok("/v2/team/{team_Id}/task", "get")["properties"]["tasks"]["items"]
    team_task["properties"]["priority"] = copy.deepcopy(task["properties"]["priority"])
    for name in (
        "date_closed",
        "date_done",
        "parent",
        "due_date",
        "start_date",
        "points",
        "time_estimate",
    ):
        team_task["properties"][name] = copy.deepcopy(task["properties"][name])
    ok("/v2/list/{list_id}/task", "post")["properties"]["tags"] = copy.deepcopy(
        task["properties"]["tags"]
    )
    updated = ok("/v2/task/{task_id}", "put")["properties"]
    for name in ("assignees", "watchers", "tags"):
        updated[name] = copy.deepcopy(task["properties"][name])
    put = paths["/v2/task/{task_id}"]["put"]["requestBody"]["content"]["application/json"]
    for name in ("priority", "due_date"):
        nullable(put["schema"]["properties"][name])
    comment_put = paths["/v2/comment/{comment_id}"]["put"]["requestBody"]["content"]
    comment_put["application/json"]["schema"]["required"] = ["comment_text"]
    listed = ok("/v2/task/{task_id}/comment", "get")["properties"]["comments"]["items"]
    for name in ("assignee", "assigned_by"):
        nullable(listed["properties"][name])
    out["info"]["x-ticket-bridge-patches"] = PATCHES
    return out


def main() -> None:
    built = build(Path(sys.argv[1]))
    TARGET.write_text(json.dumps(built, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
