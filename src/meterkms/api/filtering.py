"""Use a django-filter FilterSet as an API operation's documented query parameters.

The web list and the API list of a resource share one FilterSet, so their query parameters
are the same; :func:`query_schema` turns the FilterSet's fields into a ninja schema so that
the parameters appear in the OpenAPI description.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import FilterSet
from ninja import Schema
from pydantic import create_model

from meterkms.core.errors import DomainError


def query_schema(filterset_class: type[FilterSet], name: str) -> type[Schema]:
    """A schema with one optional string parameter per filter, plus limit and offset."""
    fields: dict[str, Any] = dict.fromkeys(filterset_class.base_filters, (str | None, None))
    fields["limit"] = (int | None, None)
    fields["offset"] = (int | None, None)
    return create_model(name, __base__=Schema, **fields)


def apply(
    filterset_class: type[FilterSet], params: Schema, queryset: QuerySet, **kwargs: Any
) -> QuerySet:
    """Filter ``queryset`` with the FilterSet; invalid parameters raise a 422 with details.

    Filters only narrow the scoped queryset they receive; they never replace it.
    """
    return bind(filterset_class, params, queryset, **kwargs).qs


def bind(
    filterset_class: type[FilterSet], params: Schema, queryset: QuerySet, **kwargs: Any
) -> FilterSet:
    """The valid FilterSet of ``params`` over ``queryset``, or a 422 with details."""
    data = {
        key: value
        for key, value in params.model_dump(exclude_none=True).items()
        if key not in {"limit", "offset"}
    }
    filterset = filterset_class(data, queryset=queryset, **kwargs)
    if not filterset.is_valid():
        details = [
            {"field": field, "message": str(message)}
            for field, messages in filterset.errors.items()
            for message in messages
        ]
        raise DomainError("invalid", "Some filters are invalid.", details=details)
    return filterset
