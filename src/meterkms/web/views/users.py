"""The "Anwender" pages: list, add, edit, set password, deactivate, reactivate, delete.

Every object page looks the user up in the actor's subtree first (foreign = missing = 404);
the services check the rest (role ceiling, own account).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from meterkms.accounts import mfa, services, user_services
from meterkms.accounts.filters import UserFilter
from meterkms.accounts.forms import SetPasswordForm, UserForm
from meterkms.accounts.models import User
from meterkms.core.errors import DomainError
from meterkms.organisations.permissions import Perm, may_grant
from meterkms.organisations.queries import organisations_visible_to
from meterkms.web.views.base import apply_domain_error, render_list, requires


def _scoped_user(request: HttpRequest, user_id: int) -> User:
    users = User.objects.visible_to(request.actor).select_related("organisation")  # type: ignore[attr-defined]
    return get_object_or_404(users, pk=user_id)


@requires(Perm.USERS_READ)
def users_view(request: HttpRequest) -> HttpResponse:
    """Users of the actor's subtree with a filter per column and the total."""
    actor = request.actor  # type: ignore[attr-defined]
    users = User.objects.visible_to(actor).select_related("organisation")
    users = mfa.with_flag(users).order_by("name", "pk")
    return render_list(
        request,
        "web/users/list.html",
        filterset_class=UserFilter,
        queryset=users,
        filterset_kwargs={"actor": actor},
        context={
            "may_manage": actor.has(Perm.USERS_MANAGE),
            "may_invite": actor.has(Perm.USERS_INVITE),
            "actor_role": actor.role,
        },
    )


@sensitive_post_parameters("password")
@requires(Perm.USERS_MANAGE)
@never_cache
def user_add_view(request: HttpRequest) -> HttpResponse:
    """ "Anwender hinzufügen"; the new user must change the password at the first login."""
    actor = request.actor  # type: ignore[attr-defined]
    initial = {
        "organisation": actor.organisation_id,
        "language": actor.language,
        "role": "VIEWER",
        "csv_delimiter": ";",
    }
    form = UserForm(
        request.POST or None,
        actor=actor,
        organisations=organisations_visible_to(actor),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(
                email=data["email"],
                name=data["name"],
                organisation=data["organisation"],
                role=data["role"],
                password=data["password"],
                language=data["language"],
                csv_delimiter=data["csv_delimiter"],
                csv_thousands_separator=data["csv_thousands_separator"],
                must_change_password=True,
                actor=actor,
            )
        except DomainError as exc:
            apply_domain_error(form, exc, default_field="password")
        else:
            messages.success(request, _("The user %(name)s has been added.") % {"name": user.name})
            return redirect("web:users")
    return render(request, "web/users/form.html", {"form": form, "adding": True})


@requires(Perm.USERS_MANAGE)
@never_cache
def user_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """ "Anwender bearbeiten": name, email, organisation, role, language, CSV preferences."""
    actor = request.actor  # type: ignore[attr-defined]
    target = _scoped_user(request, user_id)
    initial = {
        field: getattr(target, field)
        for field in ("name", "email", "role", "language", "csv_delimiter")
    }
    initial["organisation"] = target.organisation_id
    initial["csv_thousands_separator"] = target.csv_thousands_separator
    form = UserForm(
        request.POST or None,
        actor=actor,
        organisations=organisations_visible_to(actor),
        editing=target,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user_services.update_user(
                actor=actor,
                user=target,
                organisation=data["organisation"],
                role=data["role"],
                name=data["name"],
                email=data["email"],
                language=data["language"],
                csv_delimiter=data["csv_delimiter"],
                csv_thousands_separator=data["csv_thousands_separator"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("The user has been saved."))
            return redirect("web:users")
    return render(
        request,
        "web/users/form.html",
        {
            "form": form,
            "adding": False,
            "target": target,
            "manageable": may_grant(actor.role, target.role),
        },
    )


@sensitive_post_parameters("new_password", "confirmation")
@requires(Perm.USERS_MANAGE)
@never_cache
def user_password_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Set another user's password; they must change it at their next login."""
    actor = request.actor  # type: ignore[attr-defined]
    target = _scoped_user(request, user_id)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_services.set_user_password(
                actor=actor,
                user=target,
                password=form.cleaned_data["new_password"],
                confirmation=form.cleaned_data["confirmation"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc, default_field="new_password")
        else:
            messages.success(
                request,
                _("The password of %(name)s has been set; it must be changed at the next login.")
                % {"name": target.name},
            )
            return redirect("web:users")
    return render(request, "web/users/password.html", {"form": form, "target": target})


def _user_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    target = _scoped_user(request, user_id)
    service, done = {
        "deactivate": (user_services.deactivate_user, _("%(name)s has been deactivated.")),
        "reactivate": (user_services.reactivate_user, _("%(name)s has been reactivated.")),
        "delete": (user_services.delete_user, _("%(name)s has been deleted.")),
        "mfa_reset": (
            mfa.reset,
            _("The second factor of %(name)s has been removed; they can set up a new one."),
        ),
    }[action]
    try:
        service(actor=actor, user=target)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"name": target.name})
    return redirect("web:users")


@requires(Perm.USERS_MANAGE)
@require_POST
def user_deactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate a user: every session of theirs ends at once."""
    return _user_action(request, user_id, "deactivate")


@requires(Perm.USERS_MANAGE)
@require_POST
def user_reactivate_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Let a deactivated user log in again."""
    return _user_action(request, user_id, "reactivate")


@requires(Perm.USERS_MANAGE)
@require_POST
def user_delete_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Delete a user (after the confirmation dialog)."""
    return _user_action(request, user_id, "delete")


@requires(Perm.USERS_MANAGE)
@require_POST
def user_mfa_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Remove a user's second factor (lost phone and recovery codes); audited."""
    return _user_action(request, user_id, "mfa_reset")
