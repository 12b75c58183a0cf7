"""Where the vault's state lives in the database: wrapped data keys and the check blob.

Only wrapped data keys are stored; the master key never is. Both tables are internal to the
vault (global, not tenant-owned): no view or API lists them.
"""

from __future__ import annotations

from django.db import models

from meterkms.core import tenancy


class StoredDataKey(models.Model):
    """One data key, wrapped by the master-key version named in ``master_key_version``."""

    tenancy_kind = tenancy.GLOBAL

    id = models.UUIDField(primary_key=True)
    scope = models.CharField(max_length=100)
    master_key_version = models.CharField(max_length=200, db_index=True)
    wrapped = models.BinaryField()
    state = models.CharField(max_length=10, default="active")
    encryptions = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope"],
                condition=models.Q(state="active"),
                name="vault_one_active_data_key_per_scope",
            )
        ]

    def __str__(self) -> str:
        return f"data key {self.id} ({self.scope}, {self.state})"


class MasterKeyCheck(models.Model):
    """The check blob that proves, at every start, that the configured master key is right."""

    tenancy_kind = tenancy.GLOBAL

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    blob = models.BinaryField()
    master_key_version = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"master key check ({self.master_key_version})"
