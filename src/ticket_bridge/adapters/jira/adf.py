"""Atlassian Document Format <-> Markdown, for the subset both sides share.

Covered both ways: paragraphs, hard line breaks (a single newline inside a paragraph), bold
(``**``), italic (``*``), links, inline code, code blocks (fenced, with a language) and flat bullet
and ordered lists. Other ADF nodes (headings, quotes, mentions, panels, tables...) are read as
readable Markdown text but are not written back as themselves. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]

_MARK_ORDER = ("link", "strong", "em", "code")
_ESCAPED = set("\\*`[]")
_ORDERED = re.compile(r"(\d{1,9})\. ")
_LINE_START = re.compile(r"(```|- |\d{1,9}\. )")


def doc(*blocks: Node) -> Node:
    return {"type": "doc", "version": 1, "content": list(blocks)}


# -- ADF -> Markdown -----------------------------------------------------------------------


def to_markdown(document: Node | None) -> str:
    """The Markdown of an ADF document (``None`` or an empty document gives ``""``)."""
    if not document:
        return ""
    blocks = [_block(node) for node in document.get("content") or []]
    return "\n\n".join(b for b in blocks if b)


def _block(node: Node) -> str:
    kind = node.get("type")
    content: list[Node] = node.get("content") or []
    if kind == "paragraph":
        return _paragraph(content)
    if kind == "codeBlock":
        language = (node.get("attrs") or {}).get("language") or ""
        text = "".join(str(n.get("text", "")) for n in content)
        return f"```{language}\n{text}\n```" if text else f"```{language}\n```"
    if kind in ("bulletList", "orderedList"):
        start = int((node.get("attrs") or {}).get("order") or 1)
        lines = []
        for offset, item in enumerate(content):
            marker = "- " if kind == "bulletList" else f"{start + offset}. "
            inline = _item_inline(item)
            lines.append(marker + _inline(inline, indent=" " * len(marker)))
        return "\n".join(lines)
    if kind == "heading":
        level = int((node.get("attrs") or {}).get("level") or 1)
        return "#" * level + " " + _inline(content, indent="")
    if kind == "blockquote":
        return "\n".join("> " + line for b in content for line in _block(b).split("\n"))
    if kind == "rule":
        return "---"
    return "\n\n".join(b for b in (_block(n) for n in content) if b) or _plain(node)


def _item_inline(item: Node) -> list[Node]:
    """A list item's paragraphs as one inline run, joined by hard breaks (nested lists flattened)."""
    inline: list[Node] = []
    for block in item.get("content") or []:
        if inline:
            inline.append({"type": "hardBreak"})
        if block.get("type") == "paragraph":
            inline.extend(block.get("content") or [])
        else:
            inline.append({"type": "text", "text": _plain(block)})
    return inline


def _plain(node: Node) -> str:
    if node.get("type") == "text":
        return str(node.get("text", ""))
    attrs = node.get("attrs") or {}
    if node.get("type") in ("mention", "emoji", "status", "date"):
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if node.get("type") in ("inlineCard", "blockCard"):
        return str(attrs.get("url") or "")
    return "".join(_plain(n) for n in node.get("content") or [])


def _paragraph(content: list[Node]) -> str:
    return _inline(content, indent="")


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _ESCAPED else c for c in text)


def _escape_line_start(line: str) -> str:
    found = _LINE_START.match(line)
    if not found:
        return line
    if line.startswith("```"):
        return "\\" + line
    if line.startswith("- "):
        return "\\" + line
    digits = found.group(1)[:-2]
    return digits + "\\" + line[len(digits) :]


def _marks(node: Node) -> dict[str, Node]:
    return {m["type"]: m for m in node.get("marks") or [] if m.get("type") in _MARK_ORDER}


def _inline(content: list[Node], *, indent: str) -> str:
    """Inline nodes as Markdown; hard breaks become a newline (plus the list item's indent)."""
    lines: list[list[Node]] = [[]]
    for node in content:
        if node.get("type") == "hardBreak":
            lines.append([])
        elif node.get("type") == "text":
            lines[-1].append(node)
        else:
            lines[-1].append({"type": "text", "text": _plain(node)})
    rendered = [_escape_line_start(_run(line, 0)) for line in lines]
    return ("\n" + indent).join(rendered)


def _run(nodes: list[Node], level: int) -> str:
    """Render text nodes, wrapping runs that share a mark once (outermost mark first)."""
    if level == len(_MARK_ORDER):
        return "".join(_escape(str(n.get("text", ""))) for n in nodes)
    mark = _MARK_ORDER[level]
    out: list[str] = []
    index = 0
    while index < len(nodes):
        here = _marks(nodes[index]).get(mark)
        if here is None:
            end = index
            while end < len(nodes) and mark not in _marks(nodes[end]):
                end += 1
            out.append(_run(nodes[index:end], level + 1))
            index = end
            continue
        end = index
        while end < len(nodes) and _marks(nodes[end]).get(mark) == here:
            end += 1
        group = nodes[index:end]
        if mark == "code":
            out.append("`" + "".join(str(n.get("text", "")) for n in group) + "`")
        else:
            inner = _run(group, level + 1)
            if mark == "link":
                href = str((here.get("attrs") or {}).get("href", ""))
                out.append(f"[{inner}]({href})")
            else:
                wrap = "**" if mark == "strong" else "*"
                out.append(wrap + inner + wrap)
        index = end
    return "".join(out)


# -- Markdown -> ADF -----------------------------------------------------------------------


def from_markdown(markdown: str) -> Node:
    """An ADF document for Markdown in the covered subset; anything else stays literal text."""
    lines = markdown.replace("\r\n", "\n").split("\n")
    blocks: list[Node] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        if line.startswith("```"):
            language = line[3:].strip()
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index] != "```":
                body.append(lines[index])
                index += 1
            index += 1
            block: Node = {"type": "codeBlock"}
            if language:
                block["attrs"] = {"language": language}
            text = "\n".join(body)
            if text:
                block["content"] = [{"type": "text", "text": text}]
            blocks.append(block)
            continue
        if line.startswith("- ") or _ORDERED.match(line):
            index = _list(lines, index, blocks)
            continue
        paragraph: list[str] = []
        while index < len(lines) and lines[index].strip() and not _starts_block(lines[index]):
            paragraph.append(lines[index])
            index += 1
        blocks.append({"type": "paragraph", "content": _inline_nodes(paragraph)})
    return doc(*blocks)


def _starts_block(line: str) -> bool:
    return line.startswith(("```", "- ")) or bool(_ORDERED.match(line))


def _list(lines: list[str], index: int, blocks: list[Node]) -> int:
    ordered = not lines[index].startswith("- ")
    first = _ORDERED.match(lines[index])
    items: list[Node] = []
    while index < len(lines):
        line = lines[index]
        match = _ORDERED.match(line) if ordered else None
        if ordered and match:
            marker = match.group(0)
        elif not ordered and line.startswith("- "):
            marker = "- "
        else:
            break
        item_lines = [line[len(marker) :]]
        index += 1
        indent = " " * len(marker)
        while index < len(lines) and lines[index].startswith(indent) and lines[index].strip():
            item_lines.append(lines[index][len(indent) :])
            index += 1
        items.append(
            {
                "type": "listItem",
                "content": [{"type": "paragraph", "content": _inline_nodes(item_lines)}],
            }
        )
    node: Node = {"type": "orderedList" if ordered else "bulletList", "content": items}
    if ordered:
        node["attrs"] = {"order": int(first.group(1)) if first else 1}
    blocks.append(node)
    return index


def _inline_nodes(lines: list[str]) -> list[Node]:
    out: list[Node] = []
    for number, line in enumerate(lines):
        if number:
            out.append({"type": "hardBreak"})
        out.extend(_parse_inline(line, ()))
    return _merge(out)


def _with(marks: tuple[Node, ...], mark: Node) -> tuple[Node, ...]:
    return (*marks, mark)


def _text(text: str, marks: tuple[Node, ...]) -> Node:
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = sorted(marks, key=lambda m: _MARK_ORDER.index(m["type"]))
    return node


def _star_runs(text: str, start: int) -> list[tuple[int, int]]:
    """Unescaped runs of ``*`` at or after ``start``: (position, length)."""
    runs: list[tuple[int, int]] = []
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "`":
            close = text.find("`", index + 1)
            index = close + 1 if close > 0 else index + 1
            continue
        if char == "*":
            end = index
            while end < len(text) and text[end] == "*":
                end += 1
            runs.append((index, end - index))
            index = end
            continue
        index += 1
    return runs


def _closing_bracket(text: str, start: int) -> int:
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "`":
            close = text.find("`", index + 1)
            index = close + 1 if close > index + 1 else index + 1
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _parse_inline(text: str, marks: tuple[Node, ...]) -> list[Node]:
    out: list[Node] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            out.append(_text("".join(plain), marks))
            plain.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in _ESCAPED | {"-", "."}:
            plain.append(text[index + 1])
            index += 2
            continue
        if char == "`":
            close = text.find("`", index + 1)
            if close > index + 1:
                flush()
                out.append(_text(text[index + 1 : close], _with(marks, {"type": "code"})))
                index = close + 1
                continue
        if char == "[":
            close = _closing_bracket(text, index)
            if close > 0 and text.startswith("(", close + 1):
                end = text.find(")", close + 2)
                href = text[close + 2 : end] if end > 0 else ""
                if href and not any(c.isspace() for c in href):
                    flush()
                    link = {"type": "link", "attrs": {"href": href}}
                    out.extend(_parse_inline(text[index + 1 : close], _with(marks, link)))
                    index = end + 1
                    continue
        if char == "*":
            closed = _emphasis(text, index, marks)
            if closed is not None:
                nodes, index = closed
                flush()
                out.extend(nodes)
                continue
        plain.append(char)
        index += 1
    flush()
    return out


def _emphasis(text: str, index: int, marks: tuple[Node, ...]) -> tuple[list[Node], int] | None:
    """Bold when ``**`` opens, italic when ``*`` does; None when no closer follows."""
    strong = text.startswith("**", index)
    width = 2 if strong else 1
    for position, length in _star_runs(text, index + width):
        if strong and length >= 2:
            close = position + length - 2
            if close <= index + width:
                continue
            mark: Node = {"type": "strong"}
        elif not strong and length in (1, 3):
            close = position if length == 1 else position + 2
            if close <= index + width:
                continue
            mark = {"type": "em"}
        else:
            continue
        inner = text[index + width : close]
        return _parse_inline(inner, _with(marks, mark)), close + width
    return None


def _merge(nodes: list[Node]) -> list[Node]:
    """Join neighbouring text nodes with the same marks, as Jira's editor stores them."""
    out: list[Node] = []
    for node in nodes:
        if (
            out
            and node.get("type") == "text"
            and out[-1].get("type") == "text"
            and out[-1].get("marks") == node.get("marks")
        ):
            out[-1] = {**out[-1], "text": out[-1]["text"] + node["text"]}
        else:
            out.append(node)
    return out


def normalize(document: Node) -> Node:
    """Merge neighbouring text nodes and order marks: two equal documents compare equal."""

    def walk(node: Node) -> Node:
        node = dict(node)
        if "marks" in node:
            node["marks"] = sorted(node["marks"], key=lambda m: _MARK_ORDER.index(m["type"]))
        if "content" in node:
            node["content"] = _merge([walk(n) for n in node["content"]])
        return node

    return walk(document)
