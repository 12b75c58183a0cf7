"""Reads about organisations used in several places: partners, recipients, invitation state."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from meterkms.core import tenancy
from meterkms.organisations.models import Invitation, Organisation, Partnership, subtree_filter


def partner_ids(organisation: Organisation) -> set[Any]:
    """The ids of the partners of ``organisation`` (not of its sub-organisations)."""
    # Reading the link rows of one named organisation needs no actor scope: the caller
    # chose the organisation from its own scope.
    with tenancy.crossing("the partner links of one organisation the caller may see"):
        rows = Partnership.objects.filter(
            models.Q(first=organisation) | models.Q(second=organisation)
        ).values_list("first_id", "second_id")
        return {second if first == organisation.pk else first for first, second in rows}


def recipient_choices(actor: Any) -> models.QuerySet[Organisation]:
    """Organisations the actor may send batches and hand devices to.

    The actor's own subtree plus the partners of the actor's organisation (only the
    partner organisations themselves, not their sub-organisations). Partners lie in other
    trees, so the queryset deliberately reaches beyond the actor's scope.
    """
    own = Organisation._base_manager.get(pk=actor.organisation_id)
    partners = partner_ids(own)
    # Crossing on purpose: partners are outside the actor's tree but valid recipients.
    return Organisation._base_manager.filter(
        subtree_filter("path", actor.organisation_path) | models.Q(pk__in=partners)
    ).order_by("name", "pk")


def partnerships_visible_to(actor: Any) -> models.QuerySet[Partnership]:
    """Partner links with either side in the actor's subtree, both sides loaded."""
    return (
        Partnership.objects.visible_to(actor)
        .select_related("first", "second", "created_by")
        .order_by("-created_at", "-pk")
    )


def invitation_state() -> models.Case:
    """An expression for the state of an invitation as of now (see ``InvitationState``)."""
    return models.Case(
        models.When(accepted_at__isnull=False, then=models.Value("accepted")),
        models.When(revoked_at__isnull=False, then=models.Value("revoked")),
        models.When(expires_at__lte=timezone.now(), then=models.Value("expired")),
        default=models.Value("pending"),
        output_field=models.CharField(),
    )


def invitations_visible_to(actor: Any) -> models.QuerySet[Invitation]:
    """Invitations into the actor's subtree, newest first, with ``current_state``."""
    return (
        Invitation.objects.visible_to(actor)
        .select_related("organisation", "created_by")
        .annotate(current_state=invitation_state())
        .order_by("-created_at", "-pk")
    )


def organisations_visible_to(actor: Any) -> models.QuerySet[Organisation]:
    """The actor's organisation and its descendants, by name, with their parents."""
    return Organisation.objects.visible_to(actor).select_related("parent").order_by("name", "pk")
