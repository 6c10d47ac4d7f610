"""Set-valued mapping tables between native and canonical statuses, priorities and kinds.

A native value represents a *set* of canonical values (DESIGN.md, the set rule): reading keeps the
current canonical value whenever the native value can represent it, and writing keeps the current
native value whenever it already represents the canonical one. Lossy tables then never flap.

Tables are TOML files: the defaults ship in ``ticket_bridge/mappings/``; an admin copies one, edits
it and points the config at the copy. Every problem in a table is reported at once, one line each,
because the daemon refuses to start on a table that leaves a value unmapped.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import Field

from ticket_bridge.bridge.errors import MappingError, UnknownNativeValue
from ticket_bridge.bridge.model import Frozen, Kind, Priority, Status

C = TypeVar("C", Status, Priority)

TOP_LEVEL_KEYS = (
    "tracker",
    "title",
    "status",
    "status_write",
    "priority",
    "priority_write",
    "kind",
    "kind_write",
)


class SetMap(Frozen, Generic[C]):
    """One field's table: each native value with the canonical values it can represent."""

    field: str
    source: str
    represents: dict[str, tuple[C, ...]]
    write: dict[C, str]

    def natives(self) -> frozenset[str]:
        return frozenset(self.represents)

    def default(self, native: str) -> C:
        return self.represents[native][0]

    def to_canonical(self, native: str, current: C | None, *, tracker: str) -> C:
        """Keep ``current`` when ``native`` can represent it, so a lossy read never flaps."""
        represented = self.represents.get(native)
        if not represented:
            raise UnknownNativeValue(tracker, self.field, native, self.source)
        if current is not None and current in represented:
            return current
        return represented[0]

    def to_native(self, value: C, current: str | None) -> str | None:
        """Keep ``current`` when it already represents ``value``: no write is needed then.

        ``None`` means "unset", which is how a tracker holds priority NONE unless the table
        names a native priority for it.
        """
        if current is not None and value in self.represents.get(current, ()):
            return current
        native = self.write.get(value)
        if native is None and value is not Priority.NONE:
            raise MappingError(
                [f"{self.source}: {self.field} {value.value!r} has no native value to write"]
            )
        return native


def derive_write(represents: Mapping[str, Sequence[C]], overrides: Mapping[C, str]) -> dict[C, str]:
    """Where each canonical value is written: the override, else the first native holding it."""
    write: dict[C, str] = {}
    for native, values in represents.items():
        for value in values:
            write.setdefault(value, native)
    write.update(overrides)
    return write


class TrackerMapping(Frozen):
    """Every table one tracker type needs: status, priority and ticket kind."""

    tracker: str
    title: str
    source: str
    status: SetMap[Status]
    priority: SetMap[Priority]
    kinds: dict[str, Kind] = Field(default_factory=dict)
    kind_write: dict[Kind, str] = Field(default_factory=dict)

    def kind_of(self, native: str | None) -> Kind:
        """An unlisted native type is a support ticket: that is what most tickets are."""
        if native is None:
            return Kind.SUPPORT
        return self.kinds.get(native, Kind.SUPPORT)

    def native_kind(self, kind: Kind) -> str | None:
        return self.kind_write.get(kind)


def builtin_mappings() -> list[str]:
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".toml")
    )


def load_mapping(
    name_or_path: str | Path, *, natives: Iterable[str] | None = None
) -> TrackerMapping:
    """Load a shipped table by name, or an admin's copy by path; refuse it unless it is sound."""
    source, text = _read(name_or_path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError([f"{source}: not valid TOML: {exc}"]) from exc
    stem = Path(source).stem
    mapping, problems = _parse(raw, source, stem)
    problems.extend(validate(mapping, natives=natives))
    if problems:
        raise MappingError(problems)
    return mapping


def validate(mapping: TrackerMapping, *, natives: Iterable[str] | None = None) -> list[str]:
    """Every reason ``mapping`` cannot be used; ``natives``: the statuses the tracker really has."""
    live = None if natives is None else list(natives)
    return [
        *_validate_table(mapping.status, mapping.tracker, tuple(Status), live),
        *_validate_table(mapping.priority, mapping.tracker, tuple(Priority), None),
        *_validate_kinds(mapping),
    ]


def _builtin_dir() -> Traversable:
    return resources.files("ticket_bridge").joinpath("mappings")


def _read(name_or_path: str | Path) -> tuple[str, str]:
    if isinstance(name_or_path, str) and name_or_path in builtin_mappings():
        entry = _builtin_dir().joinpath(f"{name_or_path}.toml")
        return f"mappings/{name_or_path}.toml", entry.read_text(encoding="utf-8")
    path = Path(name_or_path)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as exc:
        shipped = ", ".join(builtin_mappings())
        raise MappingError(
            [f"{path}: cannot read the mapping ({exc.strerror}); built-in mappings are: {shipped}"]
        ) from exc


def _parse(raw: dict[str, Any], source: str, stem: str) -> tuple[TrackerMapping, list[str]]:
    """Build what can be built and list what cannot; ``validate`` then judges the result."""
    problems: list[str] = []
    tracker = raw.get("tracker")
    if not isinstance(tracker, str) or not tracker:
        problems.append(f"{source}: tracker {tracker!r} must be a non-empty string, e.g. 'jira'")
        tracker = stem
    where = f"{source}: {tracker}"
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                f"{where} has unknown key {key!r} (allowed: {', '.join(TOP_LEVEL_KEYS)})"
            )
    title = raw.get("title", stem)
    if not isinstance(title, str):
        problems.append(f"{where} title {title!r} must be a string")
        title = stem

    status_sets = _parse_sets(raw, "status", Status, where, problems)
    status_writes = _parse_writes(raw, "status", Status, where, problems)
    priority_sets = _parse_sets(raw, "priority", Priority, where, problems)
    priority_writes = _parse_writes(raw, "priority", Priority, where, problems)
    kinds = _parse_kinds(raw, where, problems)
    kind_write = _parse_kind_write(raw, where, problems)

    mapping = TrackerMapping(
        tracker=tracker,
        title=title,
        source=source,
        status=SetMap[Status](
            field="status",
            source=source,
            represents=status_sets,
            write=derive_write(status_sets, status_writes),
        ),
        priority=SetMap[Priority](
            field="priority",
            source=source,
            represents=priority_sets,
            write=derive_write(priority_sets, priority_writes),
        ),
        kinds=kinds,
        kind_write=kind_write,
    )
    return mapping, problems


def _table(raw: dict[str, Any], key: str, where: str, problems: list[str]) -> dict[str, Any]:
    section = raw.get(key, {})
    if not isinstance(section, dict):
        problems.append(f"{where} {key} must be a table ([{key}]), not {section!r}")
        return {}
    return section


def _parse_sets(
    raw: dict[str, Any], field: str, canonical: type[C], where: str, problems: list[str]
) -> dict[str, tuple[C, ...]]:
    if field not in raw:
        problems.append(f"{where} {field}: the file has no [{field}] table")
    allowed = ", ".join(member.value for member in canonical)
    sets: dict[str, tuple[C, ...]] = {}
    for native, given in _table(raw, field, where, problems).items():
        names = given
        if not isinstance(given, list):
            problems.append(
                f"{where} {field} {native!r} = {given!r}: write a list of canonical values"
            )
            if not isinstance(given, str):
                continue
            names = [given]
        known: list[C] = []
        for name in names:
            try:
                known.append(canonical(name))
            except ValueError:
                problems.append(
                    f"{where} {field} {native!r} lists {name!r}, which is not a canonical "
                    f"{field} (one of: {allowed})"
                )
        if known or not names:
            sets[native] = tuple(known)
    return sets


def _parse_writes(
    raw: dict[str, Any], field: str, canonical: type[C], where: str, problems: list[str]
) -> dict[C, str]:
    key = f"{field}_write"
    allowed = ", ".join(member.value for member in canonical)
    writes: dict[C, str] = {}
    for name, native in _table(raw, key, where, problems).items():
        try:
            value = canonical(name)
        except ValueError:
            problems.append(
                f"{where} {key} {name!r} is not a canonical {field} (one of: {allowed})"
            )
            continue
        if not isinstance(native, str):
            problems.append(f"{where} {key} {name!r} = {native!r}: write the native {field} name")
            continue
        writes[value] = native
    return writes


def _parse_kinds(raw: dict[str, Any], where: str, problems: list[str]) -> dict[str, Kind]:
    allowed = ", ".join(kind.value for kind in Kind)
    kinds: dict[str, Kind] = {}
    for native, name in _table(raw, "kind", where, problems).items():
        try:
            kinds[native] = Kind(name)
        except ValueError:
            problems.append(
                f"{where} kind {native!r} = {name!r}, which is not a canonical kind "
                f"(one of: {allowed})"
            )
    return kinds


def _parse_kind_write(raw: dict[str, Any], where: str, problems: list[str]) -> dict[Kind, str]:
    allowed = ", ".join(kind.value for kind in Kind)
    kind_write: dict[Kind, str] = {}
    for name, native in _table(raw, "kind_write", where, problems).items():
        try:
            kind = Kind(name)
        except ValueError:
            problems.append(
                f"{where} kind_write {name!r} is not a canonical kind (one of: {allowed})"
            )
            continue
        if not isinstance(native, str):
            problems.append(f"{where} kind_write {name!r} = {native!r}: write the native type name")
            continue
        kind_write[kind] = native
    return kind_write


def _validate_table(
    table: SetMap[C], tracker: str, canonical: tuple[C, ...], live: list[str] | None
) -> list[str]:
    where = f"{table.source}: {tracker} {table.field}"
    field = table.field
    problems: list[str] = []

    for native, values in table.represents.items():
        if not values:
            problems.append(
                f"{where} {native!r} represents no canonical {field}: list at least one"
            )
        seen: set[C] = set()
        for value in values:
            if value in seen:
                problems.append(f"{where} {native!r} lists {value.value!r} more than once")
            seen.add(value)

    covered = {value for values in table.represents.values() for value in values}
    unwritable: set[C] = set()
    for value in canonical:
        if value not in covered and value is not Priority.NONE:
            problems.append(
                f"{where} {value.value!r} is represented by no native {field}: "
                f"add it to a native {field}'s list"
            )
            unwritable.add(value)

    for value, native in table.write.items():
        if native not in table.represents:
            problems.append(
                f"{where}_write {value.value!r} = {native!r}: {native!r} is not a native "
                f"{field} in the [{field}] table"
            )
            unwritable.add(value)
        elif value not in table.represents[native]:
            holds = ", ".join(v.value for v in table.represents[native])
            problems.append(
                f"{where}_write {value.value!r} = {native!r}: {native!r} does not represent "
                f"{value.value!r} (it represents: {holds})"
            )
            unwritable.add(value)

    if live is not None:
        for native in live:
            if native not in table.represents:
                problems.append(f"{where} {native!r} is not mapped to any canonical {field}")
        available = set(live)
        for value, native in table.write.items():
            if native not in available and value not in unwritable:
                problems.append(
                    f"{where} {value.value!r} would be written as {native!r}, "
                    f"which the {tracker} tracker does not have"
                )

    problems.extend(round_trip_problems(table, tracker, canonical, skip=unwritable))
    return problems


def round_trip_problems(
    table: SetMap[C], tracker: str, canonical: Iterable[C], *, skip: Collection[C] = ()
) -> list[str]:
    """Reading then writing must give back what was there, or the bridge would flap.

    For a table that passes the other checks this always holds; ``validate`` keeps it as the guard,
    skipping the canonical values (``skip``) whose problems it has already reported.
    """
    where = f"{table.source}: {tracker} {table.field}"
    problems: list[str] = []
    for native, values in table.represents.items():
        if not values or values[0] in skip:
            continue
        back = table.to_native(table.to_canonical(native, None, tracker=tracker), native)
        if back != native:
            problems.append(
                f"{where} {native!r} is not round-trip stable: it reads as "
                f"{values[0].value!r}, which writes back as {back!r}"
            )
    for value in canonical:
        if value in skip:
            continue
        for current in (None, *table.represents):
            try:
                written = table.to_native(value, current)
                read: Status | Priority = (
                    Priority.NONE
                    if written is None
                    else table.to_canonical(written, value, tracker=tracker)
                )
            except (MappingError, UnknownNativeValue) as exc:
                problems.append(f"{where} {value.value!r} cannot be written: {exc}")
                break
            if read != value:
                problems.append(
                    f"{where} {value.value!r} is not round-trip stable: written over "
                    f"{current!r} as {written!r}, it reads back as {read.value!r}"
                )
                break
    return problems


def _validate_kinds(mapping: TrackerMapping) -> list[str]:
    where = f"{mapping.source}: {mapping.tracker} kind_write"
    return [
        f"{where} {kind.value!r} = {native!r}: {native!r} is not a native type in the [kind] table"
        for kind, native in mapping.kind_write.items()
        if native not in mapping.kinds
    ]
