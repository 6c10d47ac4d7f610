"""Markdown <-> ADF: examples of each construct, and round trips both ways (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticket_bridge.adapters.jira import adf

EXAMPLES = [
    "plain words",
    "**bold** and *italic* and ***both***",
    "a `code span` and a [link](https://example.com/a_b?c=1)",
    "line one\nline two",
    "```python\nprint('hi')\n\nx = 1\n```",
    "- one\n- two *it*\n  continued",
    "3. third\n4. fourth",
    "escaped \\*stars\\* and \\[brackets\\]",
    "\\- not a list\n1\\. not ordered",
    "**Dana Customer** wrote in zendesk on 2026-11-02 09:30 UTC:\n\nThe export still **fails**.",
]


@pytest.mark.parametrize("markdown", EXAMPLES)
def test_markdown_survives_adf(markdown: str) -> None:
    assert adf.to_markdown(adf.from_markdown(markdown)) == markdown


def test_each_construct_becomes_its_adf_node() -> None:
    document = adf.from_markdown("**b** *i* `c` [l](u:x)\nnext\n\n```sh\nls\n```\n\n- x\n\n1. y")
    paragraph, code, bullets, ordered = document["content"]
    shape = [(n["type"], [m["type"] for m in n.get("marks", [])]) for n in paragraph["content"]]
    assert shape == [
        ("text", ["strong"]),
        ("text", []),
        ("text", ["em"]),
        ("text", []),
        ("text", ["code"]),
        ("text", []),
        ("text", ["link"]),
        ("hardBreak", []),
        ("text", []),
    ]
    assert code == {
        "type": "codeBlock",
        "attrs": {"language": "sh"},
        "content": [{"type": "text", "text": "ls"}],
    }
    assert bullets["type"] == "bulletList" and ordered["type"] == "orderedList"


def test_unknown_nodes_read_as_text() -> None:
    document = adf.doc(
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Title"}]},
        {
            "type": "paragraph",
            "content": [{"type": "mention", "attrs": {"id": "1", "text": "@Kim"}}],
        },
        {"type": "rule"},
    )
    assert adf.to_markdown(document) == "## Title\n\n@Kim\n\n---"
    assert adf.to_markdown(None) == ""


def test_lone_stars_stay_text() -> None:
    document = adf.from_markdown("5 * 3 = 15")
    assert document["content"][0]["content"] == [{"type": "text", "text": "5 * 3 = 15"}]


ALPHABET = st.characters(codec="ascii", categories=("L", "N", "P", "S", "Zs"))
TEXT = st.text(ALPHABET, min_size=1, max_size=12).filter(lambda t: t.strip() == t and t != "")
CODE = TEXT.filter(lambda t: "`" not in t)
URL = st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9_]{0,8}", fullmatch=True)


@st.composite
def marked(draw: st.DrawFn) -> dict[str, Any]:
    link = draw(st.one_of(st.none(), URL))
    if draw(st.booleans()):
        marks: list[dict[str, Any]] = [{"type": "code"}]
        text = draw(CODE)
    else:
        marks = [{"type": m} for m in ("strong", "em") if draw(st.booleans())]
        text = draw(TEXT)
    if link is not None:
        marks.insert(0, {"type": "link", "attrs": {"href": link}})
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = marks
    return node


@st.composite
def inline(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Text runs separated by plain text with spaces, and hard breaks between lines."""
    out: list[dict[str, Any]] = []
    for line in range(draw(st.integers(1, 3))):
        if line:
            out.append({"type": "hardBreak"})
        out.append({"type": "text", "text": draw(TEXT)})
        for _ in range(draw(st.integers(0, 2))):
            out.append({"type": "text", "text": " "})
            out.append(draw(marked()))
            out.append({"type": "text", "text": " " + draw(TEXT)})
    return out


@st.composite
def block(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["paragraph", "codeBlock", "bulletList", "orderedList"]))
    if kind == "paragraph":
        return {"type": "paragraph", "content": draw(inline())}
    if kind == "codeBlock":
        lines = draw(
            st.lists(
                st.text(ALPHABET, max_size=10).filter(lambda t: not t.startswith("```")),
                min_size=1,
                max_size=3,
            )
        )
        return (
            {"type": "codeBlock", "content": [{"type": "text", "text": "\n".join(lines)}]}
            if "".join(lines)
            else {"type": "codeBlock"}
        )
    items = [
        {"type": "listItem", "content": [{"type": "paragraph", "content": draw(inline())}]}
        for _ in range(draw(st.integers(1, 3)))
    ]
    node: dict[str, Any] = {"type": kind, "content": items}
    if kind == "orderedList":
        node["attrs"] = {"order": draw(st.integers(1, 20))}
    return node


@settings(max_examples=150, deadline=None)
@given(blocks=st.lists(block(), min_size=1, max_size=4))
def test_adf_in_the_subset_survives_markdown(blocks: list[dict[str, Any]]) -> None:
    document = adf.normalize(adf.doc(*blocks))
    markdown = adf.to_markdown(document)
    assert adf.normalize(adf.from_markdown(markdown)) == document
    assert adf.to_markdown(adf.from_markdown(markdown)) == markdown
