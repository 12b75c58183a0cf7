"""Label links become a model of their own and carry the device's serial, owner and offer.

The table stays ``devices_device_labels``: Django's automatic through table is adopted as
``DeviceLabel`` without touching the database, then the copies are added, filled from the
devices, and indexed by (label, serial, device). The separate indexes on ``device_id`` and
``label_id`` go: the unique (device, label) pair and the new index serve those look-ups.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

import meterkms.core.fields

FILL = (
    "UPDATE devices_device_labels SET "
    "serial = (SELECT d.serial FROM devices_device d WHERE d.id = device_id), "
    "owner_id = (SELECT d.owner_id FROM devices_device d WHERE d.id = device_id), "
    "claimable_by_id = (SELECT d.claimable_by_id FROM devices_device d WHERE d.id = device_id)"
)


def fill(apps, schema_editor) -> None:
    schema_editor.execute(FILL)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0004_live_key_covering_index"),
        ("organisations", "0002_partnerships_and_invitations"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DeviceLabel",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "device",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="devices.device",
                            ),
                        ),
                        (
                            "label",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="devices.label",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "devices_device_labels",
                        "unique_together": {("device", "label")},
                    },
                ),
                migrations.AlterField(
                    model_name="device",
                    name="labels",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="devices",
                        through="devices.DeviceLabel",
                        to="devices.label",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="devicelabel",
            name="serial",
            field=meterkms.core.fields.BinaryOrderCharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="devicelabel",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organisations.organisation",
            ),
        ),
        migrations.AddField(
            model_name="devicelabel",
            name="claimable_by",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="organisations.organisation",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="devicelabel",
            name="serial",
            field=meterkms.core.fields.BinaryOrderCharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="devicelabel",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organisations.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="devicelabel",
            name="device",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="devices.device",
            ),
        ),
        migrations.AlterField(
            model_name="devicelabel",
            name="label",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="devices.label",
            ),
        ),
        migrations.AddIndex(
            model_name="devicelabel",
            index=models.Index(
                fields=["label", "serial", "device"],
                include=("owner", "claimable_by"),
                name="device_label_serial",
            ),
        ),
    ]
