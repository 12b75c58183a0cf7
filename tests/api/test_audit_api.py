"""The audit API: scoped, filtered by the shared FilterSet, paginated."""

from __future__ import annotations

import pytest

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from tests.support.personas import World


@pytest.mark.django_db
def test_audit_list_is_scoped_and_filterable(world: World, client_for) -> None:
    record(Action.USER_LOGIN, actor=world.alice)
    record(Action.USER_LOGIN, actor=world.carol)
    client = client_for(world.adam)
    everything = client.get("/api/v1/audit").json()
    names = {item["organisation_name"] for item in everything["items"]}
    assert "Carol Utility" not in names
    assert everything["count_exact"] is True
    logins = client.get("/api/v1/audit", {"action": "user.login"}).json()
    assert [item["actor_label"] for item in logins["items"]] == ["Alice <alice@example.com>"]
    bad = client.get("/api/v1/audit", {"action": "nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "action"


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["organisation", "organisation_id", "org", "tenant"])
def test_injected_tenant_parameters_do_not_widen_the_scope(
    world: World, client_for, param: str
) -> None:
    record(Action.USER_LOGIN, actor=world.carol)
    response = client_for(world.adam).get("/api/v1/audit", {param: str(world.org_b.pk)})
    assert response.status_code == 200
    assert all(item["organisation_name"] != "Carol Utility" for item in response.json()["items"])


@pytest.mark.django_db
def test_openapi_schema_describes_the_api(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "meterkms API"
    assert "/api/v1/audit" in schema["paths"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert {"action", "actor", "since", "until", "limit", "offset"} <= parameters
