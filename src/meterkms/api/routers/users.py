"""``/api/v1/users``: the users of the caller's organisation subtree ("Anwender")."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from meterkms.accounts import mfa, services, user_services
from meterkms.accounts.filters import UserFilter
from meterkms.accounts.models import User
from meterkms.api import filtering
from meterkms.api.errors import ERRORS, ErrorOut
from meterkms.api.paging import page_of
from meterkms.api.permissions import require
from meterkms.api.schemas.users import PasswordIn, UserIn, UserOut, UserPage, UserPatch
from meterkms.core.errors import DomainError
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm

router = Router(tags=["users"])
UserQuery = filtering.query_schema(UserFilter, "UserQuery")
#: Errors of operations that can also conflict (an email address in use, a role ceiling).
CHANGE_ERRORS = {**ERRORS, 409: ErrorOut}


def _users(actor: object) -> object:
    users = User.objects.visible_to(actor).select_related("organisation")
    return mfa.with_flag(users).order_by("name", "pk")


def _user(actor: object, user_id: int) -> User:
    return get_object_or_404(_users(actor), pk=user_id)


def scoped_organisation(actor: object, organisation_id: object, field: str) -> Organisation:
    """An organisation of the actor's subtree; any other ID is the same invalid value."""
    found = Organisation.objects.visible_to(actor).filter(pk=organisation_id).first()
    if found is None:
        message = "No such organisation."
        raise DomainError("invalid", message, details=[{"field": field, "message": message}])
    return found


@router.get("", response={200: UserPage, **ERRORS}, summary="List users")
def list_users(request: HttpRequest, params: Query[UserQuery]) -> dict[str, object]:  # type: ignore[valid-type]
    """Users of the caller's subtree; the filters are those of the web list."""
    actor = request.auth
    require(actor, Perm.USERS_READ)
    users = filtering.apply(UserFilter, params, _users(actor), actor=actor)
    return page_of(users, params)


@router.post("", response={201: UserOut, **CHANGE_ERRORS}, summary="Add a user")
def create_user(request: HttpRequest, payload: UserIn) -> Status:
    """Create a user who must change the password at the first login."""
    actor = request.auth
    require(actor, Perm.USERS_MANAGE)
    user = services.create_user(
        email=payload.email,
        name=payload.name,
        organisation=scoped_organisation(actor, payload.organisation_id, "organisation_id"),
        role=payload.role,
        password=payload.password,
        language=payload.language,
        csv_delimiter=payload.csv_delimiter,
        csv_thousands_separator=payload.csv_thousands_separator,
        must_change_password=True,
        actor=actor,
    )
    return Status(201, user)


@router.get("/{user_id}", response={200: UserOut, **ERRORS}, summary="One user")
def get_user(request: HttpRequest, user_id: int) -> User:
    require(request.auth, Perm.USERS_READ)
    return _user(request.auth, user_id)


@router.patch("/{user_id}", response={200: UserOut, **CHANGE_ERRORS}, summary="Edit a user")
def update_user(request: HttpRequest, user_id: int, payload: UserPatch) -> User:
    """Change name, email, organisation, role, language or CSV preferences."""
    actor = request.auth
    require(actor, Perm.USERS_MANAGE)
    user = _user(actor, user_id)
    changes = payload.model_dump(exclude_none=True, exclude={"organisation_id", "role"})
    organisation = (
        scoped_organisation(actor, payload.organisation_id, "organisation_id")
        if payload.organisation_id is not None
        else None
    )
    return user_services.update_user(
        actor=actor, user=user, organisation=organisation, role=payload.role, **changes
    )


@router.post(
    "/{user_id}/password", response={204: None, **CHANGE_ERRORS}, summary="Set a user's password"
)
def set_password(request: HttpRequest, user_id: int, payload: PasswordIn) -> Status:
    """Set the password; the user must change it at the next login and is logged out."""
    actor = request.auth
    require(actor, Perm.USERS_MANAGE)
    user_services.set_user_password(
        actor=actor,
        user=_user(actor, user_id),
        password=payload.password,
        confirmation=payload.confirmation,
    )
    return Status(204, None)


@router.post(
    "/{user_id}/deactivate", response={200: UserOut, **ERRORS}, summary="Deactivate a user"
)
def deactivate_user(request: HttpRequest, user_id: int) -> User:
    """Deactivate: all sessions end at once; login and API tokens stop working."""
    actor = request.auth
    require(actor, Perm.USERS_MANAGE)
    return user_services.deactivate_user(actor=actor, user=_user(actor, user_id))


@router.post(
    "/{user_id}/reactivate", response={200: UserOut, **ERRORS}, summary="Reactivate a user"
)
def reactivate_user(request: HttpRequest, user_id: int) -> User:
    actor = request.auth
    require(actor, Perm.USERS_MANAGE)
    return user_services.reactivate_user(actor=actor, user=_user(actor, user_id))


@router.delete("/{user_id}", response={204: None, **ERRORS}, summary="Delete a user")
def delete_user(request: HttpRequest, user_id: int) -> Status:
    actor = request.auth
    require(actor, Perm.USERS_MANAGE)
    user_services.delete_user(actor=actor, user=_user(actor, user_id))
    return Status(204, None)
