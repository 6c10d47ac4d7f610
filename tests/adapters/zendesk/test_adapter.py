"""The Zendesk adapter passes the shared contract against the fake, spec-checked on zenpy's session.

The account has a custom status "In progress": the shipped table maps every working status to
``open``, so in_progress read with no current status would come back as acknowledged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.contract import AdapterContract
from tests.adapters.zendesk.conftest import ZendeskHarness
from tests.conftest import TickingClock
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk.fake import FakeZendesk

CUSTOM_STATUSES = str(Path(__file__).with_name("custom-statuses.toml"))


class TestZendeskContract(AdapterContract):
    @pytest.fixture(params=["oauth-client", "api-token"])
    def harness(
        self,
        request: pytest.FixtureRequest,
        served: Served,
        fake: FakeZendesk,
        clock: TickingClock,
    ) -> Iterator[ZendeskHarness]:
        fake.add_custom_status("open", "In progress")
        extra = {"api_token": fake.api_token, "email": fake.admin_email}
        harness = ZendeskHarness(
            served,
            fake,
            clock,
            mapping=CUSTOM_STATUSES,
            **(extra if request.param == "api-token" else {}),
        )
        yield harness
        harness.finish()
