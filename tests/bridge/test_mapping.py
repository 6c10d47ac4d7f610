"""Mapping tables: shipped tables are sound, the set rule never flaps, bad tables are refused."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TypeVar

import pytest

from ticket_bridge.bridge.errors import MappingError, UnknownNativeValue
from ticket_bridge.bridge.mapping import (
    SetMap,
    builtin_mappings,
    derive_write,
    load_mapping,
    round_trip_problems,
    validate,
)
from ticket_bridge.bridge.model import Kind, Priority, Status

C = TypeVar("C", Status, Priority)

SHIPPED = [
    "clickup",
    "jira",
    "memory",
    "seed000-clickup-support",
    "seed001-helpdesk",
    "seed004-zendesk",
    "zendesk",
]

VALID = """\
tracker = "acme"
title = "a small valid table"

[status]
"Open" = ["new", "acknowledged", "reopened"]
"Waiting" = ["needs_info", "on_hold"]
"Doing" = ["planned", "in_progress"]
"Done" = ["resolved", "closed"]

[priority]
Hi = ["P1", "P2"]
Lo = ["P3", "P4"]

[kind]
Bug = "support"

[kind_write]
support = "Bug"
"""
LIVE = ["Open", "Waiting", "Doing", "Done"]


def refused(tmp_path: Path, text: str, natives: list[str] | None = None) -> tuple[str, list[str]]:
    path = tmp_path / "acme.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path, natives=natives)
    assert str(caught.value) == "; ".join(caught.value.problems)
    return str(path), caught.value.problems


def only_problem(tmp_path: Path, text: str, natives: list[str] | None = None) -> str:
    source, problems = refused(tmp_path, text, natives)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{source}: acme "), problems[0]
    assert "\n" not in problems[0]
    return problems[0]


def test_the_valid_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(VALID, encoding="utf-8")
    mapping = load_mapping(path, natives=LIVE)
    assert mapping.source == str(path)
    assert mapping.status.write[Status.ON_HOLD] == "Waiting"


# -- the shipped tables ----------------------------------------------------------------------


def test_every_shipped_table_is_listed() -> None:
    assert builtin_mappings() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_table_loads_and_validates(name: str) -> None:
    mapping = load_mapping(name)
    assert mapping.source == f"mappings/{name}.toml"
    assert mapping.title
    assert validate(mapping, natives=mapping.status.natives()) == []


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_table_documents_the_format(name: str) -> None:
    text = (
        resources.files("ticket_bridge").joinpath("mappings").joinpath(f"{name}.toml").read_text()
    )
    for section in ("[status]", "[status_write]", "[priority]", "[priority_write]", "[kind]"):
        assert f"#   {section}" in text, section


def assert_reading_then_writing_never_flaps(
    table: SetMap[C], canonical: Sequence[C], tracker: str
) -> None:
    currents: list[C | None] = [None]
    currents.extend(canonical)
    for native, represented in table.represents.items():
        for current in currents:
            read = table.to_canonical(native, current, tracker=tracker)
            assert read in represented
            if current in represented:
                assert read == current, (native, current)
            else:
                assert read == represented[0], (native, current)
            assert table.to_native(read, native) == native, (native, current)


def assert_writing_then_reading_never_flaps(
    table: SetMap[C], canonical: Sequence[C], tracker: str
) -> None:
    for value in canonical:
        for current in [None, *table.represents]:
            written = table.to_native(value, current)
            if current is not None and value in table.represents[current]:
                assert written == current, "no write is needed"
            if written is None:
                assert value is Priority.NONE
                continue
            back = table.to_canonical(written, value, tracker=tracker)
            assert back == value, (value, current, written)
            assert table.to_native(back, written) == written


@pytest.mark.parametrize("name", SHIPPED)
def test_reading_a_native_value_then_writing_it_back_never_flaps(name: str) -> None:
    mapping = load_mapping(name)
    assert_reading_then_writing_never_flaps(mapping.status, list(Status), mapping.tracker)
    assert_reading_then_writing_never_flaps(mapping.priority, list(Priority), mapping.tracker)


@pytest.mark.parametrize("name", SHIPPED)
def test_writing_a_canonical_value_then_reading_it_back_never_flaps(name: str) -> None:
    mapping = load_mapping(name)
    assert_writing_then_reading_never_flaps(mapping.status, list(Status), mapping.tracker)
    assert_writing_then_reading_never_flaps(mapping.priority, list(Priority), mapping.tracker)


def test_zendesk_open_means_acknowledged_unless_the_ticket_is_further_along() -> None:
    status = load_mapping("zendesk").status
    assert status.default("open") is Status.ACKNOWLEDGED
    assert status.to_canonical("open", None, tracker="zendesk") is Status.ACKNOWLEDGED
    assert status.to_canonical("open", Status.NEW, tracker="zendesk") is Status.ACKNOWLEDGED
    assert status.to_canonical("open", Status.IN_PROGRESS, tracker="zendesk") is Status.IN_PROGRESS
    assert status.to_native(Status.PLANNED, "open") == "open"
    assert status.to_native(Status.PLANNED, "new") == "open"


def test_jira_lowest_and_low_both_read_as_p4_and_p4_is_written_as_low() -> None:
    priority = load_mapping("jira").priority
    assert priority.to_canonical("Lowest", None, tracker="jira") is Priority.P4
    assert priority.to_canonical("Low", Priority.P2, tracker="jira") is Priority.P4
    assert priority.to_native(Priority.P4, "Lowest") == "Lowest"
    assert priority.to_native(Priority.P4, "High") == "Low"
    assert priority.to_native(Priority.P4, None) == "Low"


def test_jira_writes_a_new_wait_as_to_do_but_leaves_an_issue_in_progress() -> None:
    status = load_mapping("jira").status
    assert status.to_native(Status.NEEDS_INFO, "Done") == "To Do"
    assert status.to_native(Status.ON_HOLD, None) == "To Do"
    assert status.to_native(Status.NEEDS_INFO, "In Progress") == "In Progress"
    assert status.to_canonical("In Progress", Status.ON_HOLD, tracker="jira") is Status.ON_HOLD


def test_priority_none_is_written_as_unset() -> None:
    priority = load_mapping("zendesk").priority
    assert priority.to_native(Priority.NONE, "high") is None
    assert priority.to_native(Priority.NONE, None) is None


def test_seed_tables_use_the_exact_seed_names() -> None:
    seed000 = load_mapping("seed000-clickup-support").status
    assert list(seed000.represents) == [
        "Open",
        "Pending",
        "Needs Clarification",
        "Planned",
        "In Progress",
        "Resolved",
    ]
    assert seed000.write[Status.ON_HOLD] == "In Progress"
    assert seed000.write[Status.CLOSED] == "Resolved"
    seed001 = load_mapping("seed001-helpdesk").status
    assert seed001.represents == {
        "New": (Status.NEW, Status.ACKNOWLEDGED),
        "Scheduled": (Status.PLANNED,),
        "InProgress": (Status.IN_PROGRESS, Status.NEEDS_INFO, Status.ON_HOLD),
        "Closed": (Status.CLOSED, Status.RESOLVED),
        "ReOpen": (Status.REOPENED,),
    }
    seed004 = load_mapping("seed004-zendesk")
    assert "004" in seed004.title
    assert seed004.status.represents == load_mapping("zendesk").status.represents


def test_memory_maps_every_canonical_value_to_itself() -> None:
    mapping = load_mapping("memory")
    assert {native: values for native, values in mapping.status.represents.items()} == {
        status.value: (status,) for status in Status
    }
    assert mapping.priority.represents == {
        p.value: (p,) for p in (Priority.P1, Priority.P2, Priority.P3, Priority.P4)
    }
    assert all(mapping.kind_of(kind.value) is kind for kind in Kind)
    assert all(mapping.native_kind(kind) == kind.value for kind in Kind)


def test_kinds_default_to_support_and_zendesk_creates_the_documented_types() -> None:
    zendesk = load_mapping("zendesk")
    assert zendesk.kind_of(None) is Kind.SUPPORT
    assert zendesk.kind_of("something new") is Kind.SUPPORT
    assert zendesk.kind_of("question") is Kind.QUESTION
    assert zendesk.kind_of("problem") is Kind.SUPPORT
    assert zendesk.native_kind(Kind.SUPPORT) == "incident"
    assert zendesk.native_kind(Kind.ESCALATION) == "problem"
    assert load_mapping("clickup").native_kind(Kind.SUPPORT) is None


def test_an_unknown_native_value_parks_the_link_naming_the_table() -> None:
    status = load_mapping("jira").status
    with pytest.raises(UnknownNativeValue) as caught:
        status.to_canonical("Backlog", None, tracker="jira")
    assert caught.value.source == "mappings/jira.toml"
    assert "'Backlog'" in str(caught.value)
    assert "status" in str(caught.value)


# -- refusals: one test per kind of problem --------------------------------------------------


def test_refuses_an_unknown_canonical_status(tmp_path: Path) -> None:
    text = VALID.replace('"Open" = ["new", ', '"Open" = ["new", "todo", ')
    problem = only_problem(tmp_path, text)
    assert "status 'Open'" in problem
    assert "'todo'" in problem


def test_refuses_an_unknown_canonical_priority(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID.replace('Hi = ["P1", "P2"]', 'Hi = ["P1", "P2", "P0"]'))
    assert "priority 'Hi'" in problem
    assert "'P0'" in problem


def test_refuses_an_empty_set(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID.replace("[priority]", '"Parked" = []\n\n[priority]'))
    assert "status 'Parked'" in problem
    assert "no canonical status" in problem


def test_refuses_a_value_listed_twice(tmp_path: Path) -> None:
    text = VALID.replace(
        '"Done" = ["resolved", "closed"]', '"Done" = ["resolved", "closed", "resolved"]'
    )
    problem = only_problem(tmp_path, text)
    assert "status 'Done'" in problem
    assert "'resolved' more than once" in problem


def test_refuses_a_canonical_status_no_native_status_represents(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID.replace('["needs_info", "on_hold"]', '["needs_info"]'))
    assert "status 'on_hold' is represented by no native status" in problem


def test_refuses_a_canonical_priority_no_native_priority_represents(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID.replace('Lo = ["P3", "P4"]', 'Lo = ["P3"]'))
    assert "priority 'P4' is represented by no native priority" in problem


def test_refuses_a_native_status_the_table_does_not_map(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID, natives=[*LIVE, "Backlog"])
    assert (
        problem
        == f"{tmp_path / 'acme.toml'}: acme status 'Backlog' is not mapped to any canonical status"
    )


def test_refuses_a_write_to_a_status_the_tracker_does_not_have(tmp_path: Path) -> None:
    text = VALID.replace(
        "[priority]", '"Parked" = ["on_hold"]\n\n[status_write]\non_hold = "Parked"\n\n[priority]'
    )
    problem = only_problem(tmp_path, text, natives=LIVE)
    assert "status 'on_hold' would be written as 'Parked'" in problem


def test_refuses_a_write_override_to_a_native_not_in_the_table(tmp_path: Path) -> None:
    text = VALID.replace("[priority]", '[status_write]\nneeds_info = "Blocked"\n\n[priority]')
    problem = only_problem(tmp_path, text)
    assert "status_write 'needs_info' = 'Blocked'" in problem
    assert "not a native status" in problem


def test_refuses_a_write_override_to_a_native_that_cannot_represent_the_value(
    tmp_path: Path,
) -> None:
    text = VALID.replace("[priority]", '[status_write]\nneeds_info = "Done"\n\n[priority]')
    problem = only_problem(tmp_path, text)
    assert "status_write 'needs_info' = 'Done'" in problem
    assert "does not represent 'needs_info'" in problem


def test_refuses_a_priority_write_override_for_an_unknown_canonical_priority(
    tmp_path: Path,
) -> None:
    problem = only_problem(
        tmp_path, VALID.replace("[kind]", '[priority_write]\nP5 = "Lo"\n\n[kind]')
    )
    assert "priority_write 'P5'" in problem


def test_refuses_a_table_that_is_not_round_trip_stable() -> None:
    represents = {"Open": (Status.NEW,), "Done": (Status.RESOLVED,)}
    table = SetMap[Status](
        field="status",
        source="mappings/acme.toml",
        represents=represents,
        write={**derive_write(represents, {}), Status.NEW: "Done"},
    )
    problems = round_trip_problems(table, "acme", [Status.NEW, Status.RESOLVED])
    assert problems
    assert all(p.startswith("mappings/acme.toml: acme status ") for p in problems)
    assert problems == [
        "mappings/acme.toml: acme status 'new' is not round-trip stable: "
        "written over None as 'Done', it reads back as 'resolved'"
    ]


def test_refuses_an_unknown_kind(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path, VALID.replace('Bug = "support"', 'Bug = "support"\nEpic = "bigwork"')
    )
    assert "kind 'Epic' = 'bigwork'" in problem


def test_refuses_a_kind_written_as_a_type_the_table_does_not_read(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, VALID.replace('support = "Bug"', 'support = "Incident"'))
    assert "kind_write 'support' = 'Incident'" in problem


def test_refuses_an_unknown_top_level_key(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'colour = "red"\n' + VALID)
    assert "unknown key 'colour'" in problem


def test_refuses_a_set_that_is_not_a_list(tmp_path: Path) -> None:
    problem = only_problem(
        tmp_path,
        VALID.replace(
            '"Waiting" = ["needs_info", "on_hold"]',
            '"Waiting" = "needs_info"\n"Parked" = ["on_hold"]',
        ),
    )
    assert "status 'Waiting' = 'needs_info'" in problem


def test_refuses_a_table_without_a_tracker(tmp_path: Path) -> None:
    source, problems = refused(tmp_path, VALID.replace('tracker = "acme"\n', ""))
    assert problems == [f"{source}: tracker None must be a non-empty string, e.g. 'jira'"]


def test_refuses_text_that_is_not_toml(tmp_path: Path) -> None:
    source, problems = refused(tmp_path, VALID + "\n[status\n")
    assert len(problems) == 1
    assert problems[0].startswith(f"{source}: not valid TOML")


def test_refuses_a_name_that_is_neither_shipped_nor_a_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping("zendesk-enterprise")
    assert "zendesk-enterprise" in str(caught.value)
    assert "seed004-zendesk" in str(caught.value)


def test_a_broken_table_is_refused_once_with_every_problem(tmp_path: Path) -> None:
    text = """\
tracker = "acme"
colour = "red"

[status]
"Open" = ["new", "todo"]
"Waiting" = []
"Doing" = ["in_progress", "in_progress"]
"Done" = ["resolved", "closed"]

[status_write]
new = "Done"

[priority]
Hi = ["P1", "P2", "P3"]
"""
    source, problems = refused(tmp_path, text, natives=["Open", "Doing", "Done", "Backlog"])
    assert all(p.startswith(f"{source}: acme ") for p in problems), problems
    expected = [
        "unknown key 'colour'",
        "status 'Open' lists 'todo'",
        "status 'Waiting' represents no canonical status",
        "status 'Doing' lists 'in_progress' more than once",
        "status 'acknowledged' is represented by no native status",
        "status 'needs_info' is represented by no native status",
        "status 'on_hold' is represented by no native status",
        "status 'planned' is represented by no native status",
        "status 'reopened' is represented by no native status",
        "status_write 'new' = 'Done'",
        "status 'Backlog' is not mapped",
        "priority 'P4' is represented by no native priority",
    ]
    for fragment in expected:
        assert sum(fragment in p for p in problems) == 1, (fragment, problems)
    assert len(problems) == len(expected), problems


# -- an admin's own copy ---------------------------------------------------------------------


def test_an_admin_copy_loads_by_path_and_reports_under_its_own_name(tmp_path: Path) -> None:
    shipped = (
        resources.files("ticket_bridge").joinpath("mappings").joinpath("jira.toml").read_text()
    )
    copy = tmp_path / "our-jira.toml"
    copy.write_text(
        shipped.replace('"To Do" = [', '"Backlog" = ["new"]\n"To Do" = ['), encoding="utf-8"
    )
    natives = ["Backlog", "To Do", "In Progress", "Done"]

    mapping = load_mapping(copy, natives=natives)
    assert load_mapping(str(copy), natives=natives) == mapping
    assert mapping.source == str(copy)
    assert mapping.status.to_canonical("Backlog", None, tracker="jira") is Status.NEW
    assert mapping.status.write[Status.NEW] == "Backlog"
    assert mapping.status.to_native(Status.NEW, "To Do") == "To Do"

    with pytest.raises(MappingError) as caught:
        load_mapping(copy, natives=[*natives, "Review"])
    assert caught.value.problems == [
        f"{copy}: jira status 'Review' is not mapped to any canonical status"
    ]


def test_a_tracker_that_cannot_unset_priority_writes_none_as_a_native_value(tmp_path: Path) -> None:
    text = VALID.replace('Lo = ["P3", "P4"]', 'Lo = ["P3", "P4", "none"]').replace(
        "[kind]", '[priority_write]\nnone = "Lo"\n\n[kind]'
    )
    path = tmp_path / "acme.toml"
    path.write_text(text, encoding="utf-8")
    priority = load_mapping(path).priority
    assert priority.to_native(Priority.NONE, None) == "Lo"
    assert priority.to_native(Priority.NONE, "Hi") == "Lo"
    assert priority.to_canonical("Lo", Priority.NONE, tracker="acme") is Priority.NONE
    assert priority.to_canonical("Lo", None, tracker="acme") is Priority.P3
