"""The "Organisationen" pages (list, add, edit with the copyable ID, delete) and partners."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from meterkms.core.errors import DomainError
from meterkms.organisations import services
from meterkms.organisations.filters import OrganisationFilter, PartnershipFilter
from meterkms.organisations.forms import OrganisationForm, PartnerForm
from meterkms.organisations.models import Organisation, Partnership, subtree_filter
from meterkms.organisations.permissions import Perm
from meterkms.organisations.queries import organisations_visible_to, partnerships_visible_to
from meterkms.web.views.base import apply_domain_error, render_list, requires


def _may_create(actor: object) -> bool:
    try:
        services.require_may_create(actor)
    except DomainError:
        return False
    return True


@requires(Perm.ORGANISATIONS_READ)
def organisations_view(request: HttpRequest) -> HttpResponse:
    """The actor's organisation and everything below it, with filters and the total."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/organisations/list.html",
        filterset_class=OrganisationFilter,
        queryset=organisations_visible_to(actor),
        filterset_kwargs={"actor": actor},
        context={
            "may_create": _may_create(actor),
            "may_edit": actor.has(Perm.ORGANISATIONS_EDIT),
            "may_partner": actor.has(Perm.PARTNERS_MANAGE),
        },
    )


@requires(Perm.ORGANISATIONS_CREATE)
@never_cache
def organisation_add_view(request: HttpRequest) -> HttpResponse:
    """ "Organisation hinzufügen" below an organisation of the actor's subtree."""
    actor = request.actor  # type: ignore[attr-defined]
    if not _may_create(actor):
        raise PermissionDenied
    form = OrganisationForm(
        request.POST or None,
        parents=organisations_visible_to(actor),
        initial={"parent": actor.organisation_id},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            organisation = services.create_organisation(
                name=data["name"],
                parent=data["parent"],
                customer_reference=data["customer_reference"],
                may_create_organisations=data["may_create_organisations"],
                actor=actor,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("The organisation %(name)s has been added.") % {"name": organisation.name},
            )
            return redirect("web:organisations")
    return render(request, "web/organisations/form.html", {"form": form, "adding": True})


@requires(Perm.ORGANISATIONS_EDIT)
@never_cache
def organisation_edit_view(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """ "Organisation bearbeiten"; its ID is shown with a copy button."""
    actor = request.actor  # type: ignore[attr-defined]
    organisation = get_object_or_404(organisations_visible_to(actor), pk=organisation_id)
    own = organisation.pk == actor.organisation_id
    # Only parents that cannot make a cycle are offered; the service checks again.
    parents = organisations_visible_to(actor).exclude(subtree_filter("path", organisation.path))
    initial = {
        "name": organisation.name,
        "parent": organisation.parent_id,
        "customer_reference": organisation.customer_reference,
        "may_create_organisations": organisation.may_create_organisations,
    }
    form = OrganisationForm(request.POST or None, parents=parents, own=own, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_organisation(
                actor=actor,
                organisation=organisation,
                name=data["name"],
                customer_reference=data["customer_reference"],
                may_create_organisations=data["may_create_organisations"],
                parent=organisation.parent if own else data["parent"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("The organisation has been saved."))
            return redirect("web:organisations")
    return render(
        request,
        "web/organisations/form.html",
        {"form": form, "adding": False, "organisation": organisation, "own": own},
    )


@requires(Perm.ORGANISATIONS_EDIT)
@require_POST
def organisation_delete_view(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """Delete an organisation that owns no users, sub-organisations or devices."""
    actor = request.actor  # type: ignore[attr-defined]
    organisation = get_object_or_404(Organisation.objects.visible_to(actor), pk=organisation_id)
    try:
        services.delete_organisation(actor=actor, organisation=organisation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The organisation %(name)s has been deleted.") % {"name": organisation.name}
        )
    return redirect("web:organisations")


@requires(Perm.ORGANISATIONS_READ)
def partners_view(request: HttpRequest) -> HttpResponse:
    """Partner links of the actor's tree; both sides of a link see it."""
    actor = request.actor  # type: ignore[attr-defined]
    return render_list(
        request,
        "web/organisations/partners.html",
        filterset_class=PartnershipFilter,
        queryset=partnerships_visible_to(actor),
        filterset_kwargs={"actor": actor},
        context={
            "may_partner": actor.has(Perm.PARTNERS_MANAGE),
            "actor_path": actor.organisation_path,
        },
    )


@requires(Perm.PARTNERS_MANAGE)
@never_cache
def partner_add_view(request: HttpRequest) -> HttpResponse:
    """ "Partner hinzufügen": paste the ID the other organisation gave you."""
    actor = request.actor  # type: ignore[attr-defined]
    form = PartnerForm(
        request.POST or None,
        organisations=organisations_visible_to(actor),
        initial={"organisation": actor.organisation_id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            link = services.add_partner(
                actor=actor,
                organisation=form.cleaned_data["organisation"],
                partner_id=form.cleaned_data["partner_id"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc, default_field="partner_id")
        else:
            partner = link.other_side(form.cleaned_data["organisation"])
            messages.success(request, _("%(name)s is now a partner.") % {"name": partner.name})
            return redirect("web:partners")
    return render(request, "web/organisations/partner_form.html", {"form": form})


@requires(Perm.PARTNERS_MANAGE)
@require_POST
def partner_remove_view(request: HttpRequest, partnership_id: int) -> HttpResponse:
    """Remove a partner link (from either side)."""
    actor = request.actor  # type: ignore[attr-defined]
    link = get_object_or_404(Partnership.objects.visible_to(actor), pk=partnership_id)
    services.remove_partner(actor=actor, partnership=link)
    messages.success(request, _("The partner link has been removed."))
    return redirect("web:partners")
