"""The one REST API of meterkms, mounted at /api/v1/ with its OpenAPI description."""

from __future__ import annotations

from ninja import NinjaAPI

from meterkms import __version__
from meterkms.api import errors
from meterkms.api.auth import AUTH
from meterkms.api.routers import (
    audit,
    batches,
    claims,
    devices,
    downloads,
    emails,
    invitations,
    me,
    organisations,
    ownership,
    partners,
    proofs,
    tokens,
    users,
)

api = NinjaAPI(
    title="meterkms API",
    version=__version__,
    description=(
        "Key management for smart-meter and IoT device keys. Authenticate with "
        "`Authorization: Bearer mkms_…` (an API token from your profile) or a browser "
        'session. Errors share one shape: `{"error": {"code", "message", "details"}}`.'
    ),
    auth=AUTH,
    urls_namespace="api",
    docs_url="/docs",
)
errors.install(api)
api.add_router("/me", me.router)
api.add_router("/tokens", tokens.router)
api.add_router("/audit", audit.router)
api.add_router("/devices", devices.router)
api.add_router("/device-types", devices.types_router)
api.add_router("/emails", emails.router)
api.add_router("/users", users.router)
api.add_router("/invitations", invitations.router)
api.add_router("/organisations", organisations.router)
api.add_router("/partners", partners.router)
api.add_router("/proofs", proofs.router)
api.add_router("/batches", batches.router)
api.add_router("/claims", claims.router)
api.add_router("/ownership", ownership.router)
api.add_router("/downloads", downloads.router)
