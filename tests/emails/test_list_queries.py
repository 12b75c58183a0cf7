"""The template list and the outbox cost the same number of queries for 1 and for 3 rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meterkms.core import tenancy
from meterkms.emails.enums import EmailKind
from meterkms.emails.models import EmailTemplate
from meterkms.emails.services import copy_template, queue_email
from tests.support.personas import World


def _queries(client, url: str) -> int:
    client.get(url)  # warm up: session refresh and other once-per-while writes
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def _system() -> EmailTemplate:
    with tenancy.crossing("test"):
        return EmailTemplate.objects.get(organisation__isnull=True, kind="new_batch", language="en")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/admin/emails/?organisation={org}", "/api/v1/emails/templates?organisation={org}"]
)
def test_template_lists_do_not_query_per_row(world: World, client_for, url: str) -> None:
    client = client_for(world.alice)
    url = url.format(org=world.org_a.pk)
    copy_template(template=_system(), actor=world.alice)
    one = _queries(client, url)
    copy_template(template=_system(), actor=world.alice)
    copy_template(template=_system(), actor=world.alice)
    assert _queries(client, url) == one


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/admin/emails/outbox/", "/api/v1/emails/outbox"])
def test_outbox_lists_do_not_query_per_row(world: World, client_for, url: str) -> None:
    client = client_for(world.alice)

    def queue() -> None:
        queue_email(
            kind=EmailKind.PASSWORD_RESET,
            to="x@example.com",
            recipient_name="X",
            language="en",
            organisation=world.org_a_child,
            context={
                "link": "https://e.example/",
                "expires_at": timezone.now() + timedelta(hours=1),
            },
        )

    queue()
    one = _queries(client, url)
    queue()
    queue()
    assert _queries(client, url) == one
