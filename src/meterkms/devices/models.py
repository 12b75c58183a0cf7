"""Device types, devices, their sealed keys, labels and history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from meterkms.core import tenancy
from meterkms.core.fields import BinaryOrderCharField
from meterkms.devices.enums import ClaimStatus, KeySlot, Technology
from meterkms.organisations.models import Organisation, subtree_filter
from meterkms.vault.algorithms import Algorithm

if TYPE_CHECKING:
    from meterkms.core.tenancy import Actor


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]


class KeyState(models.TextChoices):
    """Lifecycle of a key (NIST SP 800-57)."""

    PRE_ACTIVE = "pre-active", _("pre-active")
    ACTIVE = "active", _("active")
    DEACTIVATED = "deactivated", _("deactivated")
    COMPROMISED = "compromised", _("compromised")
    DESTROYED = "destroyed", _("destroyed")


class DeviceType(models.Model):
    """A product type: technology, product family and the key slots its devices carry.

    ``organisation`` is None for the types every organisation sees (the manual's types);
    admins add types for their own tree.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    name = models.CharField(_("name"), max_length=100)
    technology = models.CharField(_("technology"), max_length=16, choices=_choices(Technology))
    product_family = models.CharField(_("product family"), max_length=100, blank=True)
    key_slots = models.JSONField(_("key slots"), default=list)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="device_type_unique"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(organisation__isnull=True),
                name="device_type_global_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Shared types plus the types of the actor's tree (and of its ancestors)."""
        ancestors = [part for part in actor.organisation_path.split("/") if part]
        return queryset.filter(
            models.Q(organisation__isnull=True)
            | models.Q(organisation_id__in=ancestors)
            | subtree_filter("organisation__path", actor.organisation_path)
        )

    @property
    def slots(self) -> list[KeySlot]:
        return [KeySlot(value) for value in self.key_slots]


class Label(models.Model):
    """A free tag of one organisation; it sees only its own tree's labels on devices."""

    tenancy_kind = tenancy.TENANT_OWNED

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=64)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="label_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        return queryset.filter(subtree_filter("organisation__path", actor.organisation_path))


class ImportRun(models.Model):
    """One manufacturer import: the file's digest, counts, progress and outcome."""

    tenancy_kind = tenancy.TENANT_OWNED

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        VALIDATING = "validating", _("validating")
        VALIDATED = "validated", _("checked")
        WRITING = "writing", _("writing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=32)
    options = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(null=True)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    warnings = models.JSONField(default=list)
    warning_count = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True)
    #: The uploaded file, encrypted (see vault.spool); its key and the KEM password are
    #: stored only sealed by the vault. Removed when the import is done or dropped.
    spool_name = models.CharField(max_length=100, blank=True)
    spool_key_sealed = models.BinaryField(null=True)
    password_sealed = models.BinaryField(null=True)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.file_name}"

    @property
    def in_progress(self) -> bool:
        return self.state in {self.State.QUEUED, self.State.VALIDATING, self.State.WRITING}

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        return queryset.filter(subtree_filter("organisation__path", actor.organisation_path))


class Device(models.Model):
    """A meter or module with its identifiers, owner, claim status and keys.

    ``manufacturer`` is the organisation that registered the device (its serial is unique
    there, and its keys' data keys belong to it); ``owner`` is who holds it now.
    ``claimable_by`` is set while the device sits in an open batch addressed to that
    organisation, which may then see and claim it.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    serial = BinaryOrderCharField(_("serial number"), max_length=64)
    # Foreign keys whose lookups the composite indexes below already serve carry no index of
    # their own: every index costs each of the millions of inserts of an import.
    device_type = models.ForeignKey(
        DeviceType,
        verbose_name=_("device type"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    manufacturer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    owner = models.ForeignKey(
        Organisation,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="devices",
        db_index=False,
    )
    claim_status = models.CharField(
        _("claim status"),
        max_length=10,
        choices=_choices(ClaimStatus),
        default=ClaimStatus.UNCLAIMED.value,
    )
    claimable_by = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    batch = models.ForeignKey(
        "batches.Batch",
        verbose_name=_("batch"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="devices",
    )
    labels = models.ManyToManyField(
        Label, blank=True, related_name="devices", through="DeviceLabel"
    )
    import_run = models.ForeignKey(
        ImportRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Identifiers are compared byte-wise: equal under any collation, and an index insert or
    # probe then costs a memcmp() per comparison instead of the locale's strcoll().
    dev_eui = BinaryOrderCharField("DevEUI", max_length=16, blank=True)
    join_eui = models.CharField("JoinEUI", max_length=16, blank=True)
    dev_addr = models.CharField("DevAddr", max_length=8, blank=True)
    lorawan_version = models.CharField(_("LoRaWAN version"), max_length=8, blank=True)
    wmbus_manufacturer = BinaryOrderCharField(_("manufacturer code"), max_length=3, blank=True)
    meter_address = BinaryOrderCharField(_("meter address"), max_length=8, blank=True)
    wmbus_version = models.PositiveSmallIntegerField(_("version"), null=True, blank=True)
    medium = models.PositiveSmallIntegerField(_("medium"), null=True, blank=True)
    module_address = BinaryOrderCharField(_("radio module address"), max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["serial"]
        constraints = [
            models.UniqueConstraint(fields=["manufacturer", "serial"], name="device_serial_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "serial"], name="device_owner_serial"),
            models.Index(fields=["serial"], name="device_serial"),
            models.Index(
                fields=["claimable_by", "serial"],
                name="device_claimable_serial",
                condition=models.Q(claimable_by__isnull=False),
            ),
            # Address lookups (proofs, free-text search) only ever look for real addresses.
            models.Index(
                fields=["wmbus_manufacturer", "meter_address"],
                name="device_wmbus_addr",
                condition=~models.Q(meter_address=""),
            ),
            models.Index(
                fields=["module_address"],
                name="device_module_addr",
                condition=~models.Q(module_address=""),
            ),
            models.Index(
                fields=["dev_eui"], name="device_dev_eui", condition=~models.Q(dev_eui="")
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """Devices owned in the actor's subtree, plus those offered to it in an open batch."""
        from meterkms.devices.queries import scope_devices

        return scope_devices(queryset, actor)


class DeviceLabel(models.Model):
    """A label on a device, with the device's serial, owner and offer copied in.

    The copies let a label's devices be read, counted and sorted in serial order from one
    index range of this table, within the reader's scope, instead of looking up every
    device by its id (thousands of index descents: most of a label-filtered list page at
    millions of devices). ``serial`` never changes; ``owner`` and ``claimable_by`` follow
    the device in the same transaction: every write that moves a device or links a label
    calls :func:`meterkms.devices.labels.sync_label_links`.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    # The unique (device, label) pair serves look-ups by device, the index below by label.
    device = models.ForeignKey(Device, on_delete=models.CASCADE, db_index=False)
    label = models.ForeignKey(Label, on_delete=models.CASCADE, db_index=False)
    serial = BinaryOrderCharField(max_length=64)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    claimable_by = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )

    objects = tenancy.TenantManager()

    class Meta:
        db_table = "devices_device_labels"
        unique_together = [("device", "label")]
        indexes = [
            # PostgreSQL answers a label's list and count from the index alone (INCLUDE);
            # SQLite has no INCLUDE and reads the rows of the same range.
            models.Index(
                fields=["label", "serial", "device"],
                name="device_label_serial",
                include=["owner", "claimable_by"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.serial}: label {self.label_id}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        """The actor's tree's labels on devices it may see (the devices' rule, on the copies)."""
        from meterkms.devices.queries import scope_devices

        mine = subtree_filter("label__organisation__path", actor.organisation_path)
        return scope_devices(queryset, actor).filter(mine)


class DeviceKey(models.Model):
    """One key of a device, sealed by the vault; never stored or shown in clear.

    The sealed blob is bound to (device id, slot, version): moved to another row it does not
    open. ``kcv`` lets two parties compare keys without showing them; ``fingerprint`` (an
    HMAC under a server secret) finds devices that share a key.
    """

    tenancy_kind = tenancy.TENANT_OWNED

    # (device, slot, version) is unique, so that index serves lookups by device.
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="keys", db_index=False
    )
    slot = models.CharField(_("slot"), max_length=16, choices=_choices(KeySlot))
    algorithm = models.CharField(_("algorithm"), max_length=8, choices=_choices(Algorithm))
    version = models.PositiveIntegerField(default=1)
    state = models.CharField(
        _("state"), max_length=12, choices=KeyState.choices, default=KeyState.ACTIVE
    )
    sealed = models.BinaryField()
    kcv = models.CharField(_("key check value"), max_length=6)
    kcv_cmac = models.CharField(_("key check value (CMAC)"), max_length=6, blank=True)
    # Byte-wise like the device identifiers: each shared-key probe and index insert of an
    # import compares fingerprints about twenty times.
    fingerprint = BinaryOrderCharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["slot", "-version"]
        # Equality only (shared-key look-ups): no extra pattern-ops index on PostgreSQL.
        indexes = [models.Index(fields=["fingerprint"], name="key_fingerprint")]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "slot", "version"], name="key_version_unique"
            ),
            models.UniqueConstraint(
                fields=["device", "slot"],
                condition=models.Q(state__in=["active", "pre-active"]),
                name="key_one_live_per_slot",
            ),
        ]
        # On PostgreSQL key_one_live_per_slot also INCLUDEs version and sealed blob
        # (migration 0007), so the proof lookup reads no key table page. Not declared here:
        # Django would then create no constraint at all on SQLite (no covering indexes).

    def __str__(self) -> str:
        return f"{self.slot} v{self.version} ({self.kcv})"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        from meterkms.devices.queries import scope_devices

        return queryset.filter(device__in=scope_devices(Device._base_manager.all(), actor))


class DeviceEvent(models.Model):
    """One line of a device's history (claims, hand-overs, label changes, key changes)."""

    tenancy_kind = tenancy.TENANT_OWNED

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="history")
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=64)
    organisation_name = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict)

    objects = tenancy.TenantManager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.action}"

    @classmethod
    def scope_queryset(cls, queryset: models.QuerySet, actor: Actor) -> models.QuerySet:
        from meterkms.devices.queries import scope_devices

        return queryset.filter(device__in=scope_devices(Device._base_manager.all(), actor))

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.created_at, "action": self.action, "by": self.actor_label}


class ResealJob(models.Model):
    """Progress of moving a manufacturer's stored keys to a new data key (resumable)."""

    tenancy_kind = tenancy.GLOBAL

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    retired_data_key = models.CharField(max_length=36, blank=True)
    last_id = models.BigIntegerField(default=0)
    resealed = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"reseal job {self.pk} ({self.organisation_id})"
