"""Device types: the manual's shared types and the ones an organisation adds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from meterkms.core.errors import DomainError
from meterkms.devices import services
from meterkms.devices.enums import KeySlot, Technology
from meterkms.devices.models import DeviceType
from meterkms.organisations.permissions import Perm
from meterkms.web.views.base import apply_domain_error, requires


class DeviceTypeForm(forms.Form):
    """Name, technology, product family and the key slots the devices carry."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    technology = forms.ChoiceField(
        label=gettext_lazy("Technology"), choices=[(t.value, t.value) for t in Technology]
    )
    product_family = forms.CharField(
        label=gettext_lazy("Product family"), max_length=100, required=False
    )
    key_slots = forms.MultipleChoiceField(
        label=gettext_lazy("Key slots"),
        widget=forms.CheckboxSelectMultiple,
        choices=[(slot.value, slot.value) for slot in KeySlot],
    )


@requires(Perm.DEVICES_READ)
def device_types_view(request: HttpRequest) -> HttpResponse:
    """The types the actor's tree can use; administrators of types add new ones here."""
    actor: Any = request.actor  # type: ignore[attr-defined]
    can_add = actor.has(Perm.DEVICE_TYPES_MANAGE)
    form = DeviceTypeForm(request.POST or None) if can_add else None
    if request.method == "POST":
        if form is None:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        if form.is_valid():
            try:
                created = services.create_device_type(actor=actor, **form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(
                    request, _("The device type %(name)s has been added.") % {"name": created.name}
                )
                return redirect("web:device_types")
    types = DeviceType.objects.visible_to(actor)
    return render(request, "web/devices/types.html", {"types": types, "form": form})
