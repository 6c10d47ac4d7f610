"""Real Jira deliveries, signed as Jira signs them: verified, parsed into refs, deduplicated."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ticket_bridge.adapters.deliveries import MAX_BODY
from ticket_bridge.adapters.jira import webhooks
from ticket_bridge.bridge.adapter import Scope
from ticket_bridge.bridge.errors import WebhookRejected
from ticket_bridge.bridge.store import Store

FIXTURES = Path(__file__).parents[2] / "data" / "fixtures" / "jira"
SECRET = SecretStr("It's a Secret to Everybody")


def signed(
    name: str, identifier: str = "b7b5c5b0-1111-4a8e-9d5e-000000000001"
) -> tuple[dict[str, str], bytes]:
    body = (FIXTURES / name).read_bytes()
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Atlassian-Webhook-Identifier": identifier,
        "X-Hub-Signature": webhooks.sign(SECRET, body),
    }, body


@pytest.mark.parametrize(
    ("name", "issue_id"),
    [
        ("webhook-cloud-comment-created.json", "10040"),
        ("webhook-cloud-comment-updated.json", "10040"),
        ("webhook-cloud-comment-deleted.json", "10357"),
        ("webhook-cloud-issue-created-many-fields.json", "10509"),
        ("webhook-cloud-issue-updated-custom-field.json", "10368"),
        ("webhook-issue-updated-assigned.json", "10040"),
        ("webhook-issue-updated-resolved.json", "10040"),
        ("webhook-issue-updated-started-working.json", "10040"),
    ],
)
def test_each_real_delivery_names_its_issue(name: str, issue_id: str) -> None:
    headers, body = signed(name)
    [hint] = webhooks.parse("jira", SECRET, headers, body)
    assert (hint.tracker, hint.ticket_id, hint.delivery_id) == (
        "jira",
        issue_id,
        "b7b5c5b0-1111-4a8e-9d5e-000000000001",
    )


@pytest.mark.parametrize(
    ("name", "scope"),
    [
        ("webhook-cloud-comment-created.json", Scope.COMMENTS),
        ("webhook-cloud-comment-updated.json", Scope.COMMENTS),
        ("webhook-cloud-comment-deleted.json", Scope.COMMENTS),
        ("webhook-cloud-issue-created-many-fields.json", Scope.ALL),
        ("webhook-cloud-issue-updated-custom-field.json", Scope.FIELDS),
        ("webhook-issue-updated-assigned.json", Scope.FIELDS),
        ("webhook-issue-updated-resolved.json", Scope.FIELDS),
        ("webhook-issue-updated-started-working.json", Scope.FIELDS),
    ],
)
def test_each_real_delivery_says_what_of_its_issue_changed(name: str, scope: Scope) -> None:
    """A worker reads only that: an update's changelog names fields, a comment event the
    comments, and a created issue may hold anything."""
    [hint] = webhooks.parse("jira", SECRET, *signed(name))
    assert hint.scope is scope


def test_an_update_that_says_it_was_a_comment_reads_comments_and_one_naming_nothing_all() -> None:
    body = json.loads((FIXTURES / "webhook-issue-updated-resolved.json").read_bytes())
    commented = {**body, "issue_event_type_name": "issue_commented", "changelog": None}
    both = {**body, "issue_event_type_name": "issue_commented"}
    bare = {**body, "changelog": {"id": "1", "items": []}}
    scopes = []
    for payload in (commented, both, bare):
        raw = json.dumps(payload).encode()
        headers = {
            "X-Atlassian-Webhook-Identifier": "x-1",
            "X-Hub-Signature": webhooks.sign(SECRET, raw),
        }
        [hint] = webhooks.parse("jira", SECRET, headers, raw)
        scopes.append(hint.scope)
    assert scopes == [Scope.COMMENTS, Scope.ALL, Scope.ALL]


def test_the_signature_is_hmac_sha256_of_the_raw_body_in_hex() -> None:
    headers, body = signed("webhook-cloud-comment-created.json")
    import hashlib
    import hmac

    expected = hmac.new(SECRET.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha256={expected}"


def test_a_bad_signature_is_refused() -> None:
    headers, body = signed("webhook-issue-updated-resolved.json")
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("jira", SecretStr("another secret"), headers, body)
    assert caught.value.status == 401 and "does not match" in caught.value.reason
    with pytest.raises(WebhookRejected):
        webhooks.parse("jira", SECRET, headers, body.replace(b"TES-41", b"TES-42"))


def test_a_missing_signature_is_refused() -> None:
    headers, body = signed("webhook-issue-updated-resolved.json")
    del headers["X-Hub-Signature"]
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("jira", SECRET, headers, body)
    assert caught.value.status == 401 and "missing" in caught.value.reason


def test_an_oversized_delivery_is_refused_before_anything_else() -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("jira", SECRET, {}, b" " * (MAX_BODY + 1))
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"not json", "body"),
        (b'{"webhookEvent": "jira:issue_updated"}', "timestamp"),
        (b"[]", "body"),
    ],
)
def test_a_malformed_delivery_says_where(body: bytes, where: str) -> None:
    headers = {
        "X-Hub-Signature": webhooks.sign(SECRET, body),
        "X-Atlassian-Webhook-Identifier": "d1",
    }
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("jira", SECRET, headers, body)
    assert caught.value.status == 400 and where in caught.value.reason


def test_an_issue_event_without_an_issue_is_malformed() -> None:
    body = json.dumps({"timestamp": 1, "webhookEvent": "jira:issue_updated"}).encode()
    headers = {
        "X-Hub-Signature": webhooks.sign(SECRET, body),
        "X-Atlassian-Webhook-Identifier": "d1",
    }
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("jira", SECRET, headers, body)
    assert caught.value.status == 400


def test_a_delivery_without_an_identifier_is_refused() -> None:
    headers, body = signed("webhook-issue-updated-resolved.json")
    del headers["X-Atlassian-Webhook-Identifier"]
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("jira", SECRET, headers, body)
    assert caught.value.status == 400


def test_other_events_name_no_issue() -> None:
    body = json.dumps({"timestamp": 1, "webhookEvent": "project_created"}).encode()
    headers = {
        "X-Hub-Signature": webhooks.sign(SECRET, body),
        "X-Atlassian-Webhook-Identifier": "d1",
    }
    assert webhooks.parse("jira", SECRET, headers, body) == []


def test_a_replayed_delivery_keeps_its_id_and_the_inbox_refuses_it() -> None:
    headers, body = signed("webhook-cloud-comment-created.json", "replayed-id")
    retry = {**headers, "X-Atlassian-Webhook-Retry": "1"}
    [first] = webhooks.parse("jira", SECRET, headers, body)
    [again] = webhooks.parse("jira", SECRET, retry, body)
    assert again.delivery_id == first.delivery_id
    store = Store.open("sqlite://")
    try:
        assert store.enqueue(first.tracker, first.delivery_id, first.ticket_id) is True
        assert store.enqueue(again.tracker, again.delivery_id, again.ticket_id) is False
        assert store.inbox_depth() == 1
    finally:
        store.close()


def test_a_delivery_carries_the_issues_updated_stamp() -> None:
    headers, body = signed("webhook-issue-updated-started-working.json")
    [hint] = webhooks.parse("jira", SECRET, headers, body)
    assert hint.stamp == dt.datetime(
        2019, 2, 15, 19, 14, 22, 2000, tzinfo=dt.timezone(-dt.timedelta(hours=8))
    )


ADMIN = "5c5f880629be9642ba529340"
"""The account that made the changes of most fixtures (``user`` or the comment's ``updateAuthor``)."""
OTHER = "5cedcb4355a88a0fc86388ba"


@pytest.mark.parametrize(
    ("name", "actor"),
    [
        ("webhook-cloud-comment-created.json", ADMIN),
        ("webhook-cloud-comment-updated.json", ADMIN),
        ("webhook-cloud-issue-created-many-fields.json", OTHER),
        ("webhook-cloud-issue-updated-custom-field.json", OTHER),
        ("webhook-issue-updated-assigned.json", ADMIN),
        ("webhook-issue-updated-resolved.json", ADMIN),
        ("webhook-issue-updated-started-working.json", ADMIN),
    ],
)
def test_a_delivery_of_a_change_the_bridges_account_made_is_an_echo(name: str, actor: str) -> None:
    headers, body = signed(name)
    [mine] = webhooks.parse("jira", SECRET, headers, body, identity=actor)
    [theirs] = webhooks.parse("jira", SECRET, headers, body, identity="557058:someone-else")
    [unknown] = webhooks.parse("jira", SECRET, headers, body)
    assert (mine.echo, theirs.echo, unknown.echo) == (True, False, False)
    assert mine.model_dump(exclude={"echo"}) == unknown.model_dump(exclude={"echo"})


def test_a_deleted_comment_is_never_an_echo() -> None:
    """Jira names the deleted comment's last editor, not who deleted it."""
    [hint] = webhooks.parse(
        "jira", SECRET, *signed("webhook-cloud-comment-deleted.json"), identity=OTHER
    )
    assert not hint.echo


def altered(name: str, change: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """A fixture with some of its top-level or comment keys replaced, signed again."""
    payload = json.loads((FIXTURES / name).read_bytes())
    for key, value in change.items():
        where, _, field = key.rpartition(".")
        target = payload[where] if where else payload
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    body = json.dumps(payload).encode()
    return {
        "X-Atlassian-Webhook-Identifier": "d1",
        "X-Hub-Signature": webhooks.sign(SECRET, body),
    }, body


def test_a_comments_author_is_its_actor_when_no_editor_is_named() -> None:
    headers, body = altered("webhook-cloud-comment-created.json", {"comment.updateAuthor": None})
    [hint] = webhooks.parse("jira", SECRET, headers, body, identity=ADMIN)
    assert hint.echo
    edited = {"comment.updateAuthor": {"accountId": OTHER, "displayName": "Someone"}}
    [hint] = webhooks.parse(
        "jira", SECRET, *altered("webhook-cloud-comment-updated.json", edited), identity=ADMIN
    )
    assert not hint.echo, "the editor made the change, not the author"


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("webhook-issue-updated-assigned.json", {"user": None}),
        ("webhook-issue-updated-assigned.json", {"user": "admin"}),
        ("webhook-issue-updated-assigned.json", {"user": {"displayName": "Test User"}}),
        ("webhook-issue-updated-assigned.json", {"user": {"accountId": 42}}),
        (
            "webhook-cloud-comment-created.json",
            {"comment.updateAuthor": None, "comment.author": None},
        ),
        ("webhook-cloud-comment-created.json", {"comment.updateAuthor": [], "comment.author": 7}),
    ],
)
def test_a_delivery_naming_no_usable_actor_is_read_not_refused(
    name: str, change: dict[str, Any]
) -> None:
    [hint] = webhooks.parse("jira", SECRET, *altered(name, change), identity=ADMIN)
    assert not hint.echo and hint.ticket_id == "10040"
