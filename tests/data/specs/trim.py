"""Trim a vendor OpenAPI file to the operations a fake and an adapter use, keeping every $ref they reach.

    python tests/data/specs/trim.py ../shared/specs/clickup-v2.json tests/data/specs/clickup.json \\
        --server /api "GET /v2/task/{task_id}" "PUT /v2/task/{task_id}" ...

The server is replaced so the spec matches a fake on any loopback port; the source is noted in
``info.x-trimmed-from``. Re-run it when an adapter starts using another endpoint.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(spec: dict[str, Any], operations: list[str], server: str, source: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for operation in operations:
        method, path = operation.split(" ", 1)
        item = spec["paths"][path]
        kept = paths.setdefault(
            path, {k: v for k, v in item.items() if k in ("parameters", "summary")}
        )
        kept[method.lower()] = item[method.lower()]
    out: dict[str, Any] = {
        "openapi": spec["openapi"],
        "info": {**spec.get("info", {"title": source, "version": "0"}), "x-trimmed-from": source},
        "servers": [{"url": server}],
        "paths": paths,
    }
    if "security" in spec:
        out["security"] = spec["security"]
    components: dict[str, dict[str, Any]] = {}
    pending = refs(paths) | refs(out.get("security"))
    schemes = spec.get("components", {}).get("securitySchemes")
    if schemes:
        components["securitySchemes"] = schemes
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = resolve(spec, ref)
        components.setdefault(kind, {})[name.replace("~1", "/").replace("~0", "~")] = node
        pending |= refs(node)
    if components:
        out["components"] = {k: dict(sorted(v.items())) for k, v in sorted(components.items())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--server", required=True)
    parser.add_argument("operations", nargs="+", help='"METHOD /path" as written in the spec')
    args = parser.parse_args()
    spec = json.loads(args.source.read_text(encoding="utf-8"))
    trimmed = trim(spec, args.operations, args.server, args.source.name)
    args.target.write_text(
        json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
