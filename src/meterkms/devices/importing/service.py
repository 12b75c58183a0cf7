"""The manufacturer import: validate every row, then write everything in one transaction.

:func:`check_file` reads the file once and reports every problem ("line N, column: …")
without writing (the dry run). :func:`import_file` reads it once more, validating and
writing chunk by chunk inside one transaction: at the first problem it stops writing but keeps
validating, so the user sees every problem, and the transaction is rolled back — all or
nothing, also under kill -9. Re-importing a file is idempotent: identical devices count as
unchanged; differing ones are errors unless ``update_existing`` is chosen (which needs the
``devices:update`` permission): then their data is updated and a changed key gets a new
version, the old one deactivated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from meterkms.audit.actions import Action
from meterkms.audit.services import record
from meterkms.core.batchgc import collect_per_chunk
from meterkms.core.errors import DomainError, PermissionDenied
from meterkms.core.readahead import read_ahead
from meterkms.devices.importers.base import ParseOptions
from meterkms.devices.importers.dispatch import PARSERS, parse
from meterkms.devices.importers.records import DeviceRecord, RecordError, keep
from meterkms.devices.importing.validate import RecordValidator, ValidDevice
from meterkms.devices.importing.writer import (
    DATA_COLUMNS,
    LIVE_STATES,
    DeviceWriter,
    Stored,
    given_fields,
    in_list,
    scope_of,
)
from meterkms.devices.models import Device, DeviceKey, DeviceType, ImportRun
from meterkms.organisations.models import Organisation
from meterkms.organisations.permissions import Perm
from meterkms.vault.runtime import get_vault
from meterkms.vault.spool import open_spool

CHUNK = 5000
#: Imports writing at least this many devices, and at least this share of the rows the
#: planner's statistics know of, refresh those statistics afterwards.
ANALYZE_AFTER = 10_000
ANALYZE_SHARE = 0.1
#: Validated rows handed from the validating thread to the writing one at a time.
READ_AHEAD_BATCH = 1000
PREVIEW_ROWS = 20
Progress = Callable[[str, int], None]


@dataclass(frozen=True, repr=False)
class ImportOptions:
    """How to read the file and what to do with it. ``password`` opens KEM files only."""

    format: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    encoding: str = "utf-8"
    password: str | None = None
    default_type_id: int | None = None
    generate_missing: bool = False
    owner_id: Any = None
    update_existing: bool = False

    def public(self) -> dict[str, Any]:
        """What may be stored and shown: everything but the password."""
        return {
            "format": self.format,
            "mapping": self.mapping,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "default_type_id": self.default_type_id,
            "generate_missing": self.generate_missing,
            "update_existing": self.update_existing,
            "owner_id": str(self.owner_id) if self.owner_id else None,
        }


@dataclass
class Outcome:
    """Counts and problems of one pass over the file."""

    rows: int = 0
    valid: int = 0
    unchanged: int = 0
    updated: int = 0
    errors: list[RecordError] = field(default_factory=list)
    error_count: int = 0
    warnings: list[RecordError] = field(default_factory=list)
    warning_count: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, error: RecordError) -> None:
        self.error_count += 1
        keep(self.errors, error)

    def add_warning(self, warning: RecordError) -> None:
        self.warning_count += 1
        keep(self.warnings, warning)


class Source:
    """An import file: a plain file on disk (the CLI) or an encrypted spool (uploads)."""

    def __init__(self, path: Path, name: str | None = None, spool_key: bytes | None = None) -> None:
        self.path = path
        self.name = name or path.name
        self.spool_key = spool_key

    def open(self) -> BinaryIO:
        """The file's plaintext as a binary stream."""
        if self.spool_key is None:
            return self.path.open("rb")
        return open_spool(self.path, self.spool_key)

    def sha256(self) -> str:
        """SHA-256 of the plaintext, streamed."""
        digest = hashlib.sha256()
        with self.open() as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def estimate_rows(self) -> int:
        """An upper bound of the devices in the file, for reserving sealing capacity."""
        size, lines = 0, 0
        with self.open() as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                size += len(block)
                lines += block.count(b"\n")
        return max(lines + 1, size // 16, 1)


def start_import(*, actor: Any, source: Source, options: ImportOptions) -> ImportRun:
    """Register an import of ``source`` by ``actor``; nothing is read or written yet."""
    if not actor.has(Perm.DEVICES_IMPORT):
        raise PermissionDenied()
    if options.update_existing and not actor.has(Perm.DEVICES_UPDATE):
        raise PermissionDenied(_("Your role may not update existing devices."))
    if options.format is not None and options.format not in PARSERS:
        raise DomainError("invalid", _("Unknown file format %(name)s.") % {"name": options.format})
    owner = _owner(actor, options.owner_id)
    return ImportRun._base_manager.create(
        organisation_id=owner.pk,
        created_by=getattr(actor, "user", actor),
        file_name=source.name[:255],
        file_sha256=source.sha256(),
        file_format=options.format or "auto",
        options=options.public(),
    )


def _owner(actor: Any, owner_id: Any) -> Organisation:
    if owner_id is None:
        return Organisation._base_manager.get(pk=actor.organisation_id)
    owner = Organisation.objects.visible_to(actor).filter(pk=owner_id).first()
    if owner is None:
        raise DomainError("invalid", _("Choose an organisation of your own tree."))
    return owner


def _records(stream: BinaryIO, file_name: str, options: ImportOptions) -> Iterator[Any]:
    parse_options = ParseOptions(
        mapping=options.mapping,
        delimiter=options.delimiter,
        encoding=options.encoding,
        password=options.password,
    )
    return parse(stream, format=options.format, filename=file_name, options=parse_options)


#: What validation makes of a parsed item: a device, its problems, or the parser's problem.
Checked = ValidDevice | list[RecordError] | RecordError


class _Pass:
    """One pass over the file: parse, validate, compare with the catalogue, maybe write."""

    def __init__(
        self,
        run: ImportRun,
        actor: Any,
        options: ImportOptions,
        writer: DeviceWriter | None,
        progress: Progress | None,
    ) -> None:
        types = list(DeviceType.objects.visible_to(actor))
        default = next((t for t in types if t.pk == options.default_type_id), None)
        if options.default_type_id is not None and default is None:
            raise DomainError("invalid", _("The chosen device type does not exist."))
        self.run = run
        self.manufacturer_id = run.organisation_id
        self.validator = RecordValidator(
            types=types,
            default_type=default,
            generate_missing=options.generate_missing,
            fingerprint_secret=settings.FINGERPRINT_SECRET,
        )
        self.writer = writer
        self.progress = progress
        self.outcome = Outcome()
        self.update_existing = options.update_existing
        self._pending: list[ValidDevice] = []

    def checked(self, item: DeviceRecord | RecordError) -> Checked:
        """``item`` validated: touches no database, so it may run on another thread."""
        if isinstance(item, RecordError):
            return item
        return self.validator.validate(item)

    def feed(self, result: Checked) -> None:
        """Count a checked item in; a full chunk is compared with the catalogue and written."""
        if isinstance(result, RecordError):
            if result.blocking:
                self.outcome.add_error(result)
            else:
                self.outcome.add_warning(result)
            return
        self.outcome.rows += 1
        if isinstance(result, list):
            for error in result:
                self.outcome.add_error(error)
            return
        self._pending.append(result)
        if len(self._pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        fresh, changed = self._against_catalogue(pending)
        self.outcome.valid += len(fresh)
        self.outcome.updated += len(changed)
        if len(self.outcome.preview) < PREVIEW_ROWS:
            self.outcome.preview.extend(
                _preview(d) for d in fresh[: PREVIEW_ROWS - len(self.outcome.preview)]
            )
        if self.writer is not None and not self.outcome.error_count:
            self.writer.write(fresh)
            self.writer.update(changed)
        if self.progress is not None:
            self.progress("rows", self.outcome.rows)

    def _against_catalogue(
        self, devices: list[ValidDevice]
    ) -> tuple[list[ValidDevice], list[tuple[ValidDevice, Stored]]]:
        """New devices, and changed ones with what is stored; identical ones count as
        unchanged. A changed device is an error unless updates were asked for.
        """
        span = _serial_span(self.manufacturer_id)
        candidates = [d.serial for d in devices if span and span[0] <= d.serial <= span[1]]
        existing = _existing(self.manufacturer_id, candidates) if candidates else {}
        shared = _shared_keys([k.fingerprint for d in devices for k in d.keys])
        fresh: list[ValidDevice] = []
        changed: list[tuple[ValidDevice, Stored]] = []
        for device in devices:
            known = existing.get(device.serial)
            if known is None:
                fresh.append(device)
            elif _same(known, device):
                self.outcome.unchanged += 1
                continue
            elif self.update_existing:
                changed.append((device, known))
                if not known.owned:
                    self._warn_new_keys_elsewhere(device, known)
            else:
                self.outcome.add_error(
                    RecordError(
                        device.line,
                        "serial",
                        _("a device with this serial number exists already with other data"),
                    )
                )
                continue
            own = known.keys if known is not None else {}
            for key in device.keys:
                # An updated device's unchanged key is stored for the device itself.
                if key.fingerprint in shared and own.get(key.slot.value) != key.fingerprint:
                    self.outcome.add_warning(
                        RecordError(
                            device.line,
                            key.slot.value,
                            _("the same key is stored for another device"),
                        )
                    )
        return fresh, changed

    def _warn_new_keys_elsewhere(self, device: ValidDevice, known: Stored) -> None:
        """A device claimed or handed over meanwhile gets a new key: its owner holds the old."""
        for key in device.keys:
            if not key.generated and known.keys.get(key.slot.value) != key.fingerprint:
                self.outcome.add_warning(
                    RecordError(
                        device.line,
                        key.slot.value,
                        _(
                            "the device belongs to another organisation now, "
                            "which must download its new key"
                        ),
                    )
                )


def _same(known: Stored, device: ValidDevice) -> bool:
    """Same type, every value the file gives equals the stored one, and so does every key
    the file gives (generated ones aside)."""
    given = {k.slot.value: k.fingerprint for k in device.keys if not k.generated}
    return (
        known.type_id == device.device_type.pk
        and all(known.fields.get(name) == value for name, value in given_fields(device).items())
        and all(known.keys.get(slot) == fingerprint for slot, fingerprint in given.items())
    )


def _serial_span(manufacturer_id: Any) -> tuple[str, str] | None:
    """The smallest and the largest serial the manufacturer has registered; None: none.

    A serial outside the span cannot exist, so it needs no look-up: new production is
    usually numbered on from the last, and a first import probes nothing. Read per chunk,
    the span includes what other imports committed meanwhile and this one wrote so far.
    Python orders strings by code point, as the byte-ordered column does.
    """
    owner = Device._meta.get_field("manufacturer").get_db_prep_save(manufacturer_id, connection)
    table = Device._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT (SELECT MIN(serial) FROM "{table}" WHERE manufacturer_id = %s), '  # noqa: S608
            f'(SELECT MAX(serial) FROM "{table}" WHERE manufacturer_id = %s)',
            [owner, owner],
        )
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def _existing(manufacturer_id: Any, serials: list[str]) -> dict[str, Stored]:
    """Existing devices of the manufacturer among ``serials``: id, type, data, live keys."""
    owner = Device._meta.get_field("manufacturer").get_db_prep_save(manufacturer_id, connection)
    columns = ", ".join(f"dd.{name}" for name in ("id", "device_type_id", *DATA_COLUMNS))
    columns += ", dd.owner_id = dd.manufacturer_id AS owned"
    live = f"k.state IN ({', '.join(['%s'] * len(LIVE_STATES))})"
    join = f"LEFT JOIN devices_devicekey k ON k.device_id = dd.id AND {live}"
    if connection.vendor == "postgresql":
        # Each serial is looked up on its own (manufacturer, serial) index entry. Inside the
        # import's transaction the planner's statistics do not know the rows written so far;
        # given the choice, it would read all of the manufacturer's devices and filter them
        # by the array — every earlier chunk again, for each chunk. ``OFFSET 0`` keeps the
        # lookup a subquery run per serial, an equality on the unique index.
        sql = (
            f"SELECT s.serial, d.* FROM unnest(%s::text[]) AS s(serial) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {columns}, k.slot, k.fingerprint "
            f"FROM devices_device dd {join} "
            f"WHERE dd.manufacturer_id = %s AND dd.serial = s.serial OFFSET 0) d"
        )
        params: list[Any] = [list(serials), *LIVE_STATES, owner]
    else:
        condition, values = in_list("dd.serial", serials)
        sql = (
            f"SELECT dd.serial, {columns}, k.slot, k.fingerprint "  # noqa: S608
            f"FROM devices_device dd {join} WHERE dd.manufacturer_id = %s AND {condition}"
        )
        params = [*LIVE_STATES, owner, *values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: dict[str, Stored] = {}
    for serial, pk, type_id, *data, owned, slot, fingerprint in rows:
        stored = found.get(serial)
        if stored is None:
            fields = dict(zip(DATA_COLUMNS, data, strict=True))
            stored = found[serial] = Stored(pk, type_id, bool(owned), fields, {})
        if slot is not None:
            stored.keys[slot] = fingerprint
    return found


def _shared_keys(fingerprints: list[str]) -> set[str]:
    """Which of the fingerprints are stored already (a key shared with another device)."""
    if not fingerprints:
        return set()
    condition, params = in_list("fingerprint", fingerprints)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT fingerprint FROM devices_devicekey WHERE {condition}", params)  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def _preview(device: ValidDevice) -> dict[str, Any]:
    """A row of the preview: identifiers, type and key check values, never a key."""
    return {
        "line": device.line,
        "serial": device.serial,
        "device_type": device.device_type.name,
        **{k: v for k, v in device.fields.items() if v not in ("", None)},
        "keys": [
            {
                "slot": k.slot.value,
                "algorithm": k.algorithm.value,
                "kcv": k.kcv,
                "generated": k.generated,
            }
            for k in device.keys
        ],
    }


def _run_pass(
    run: ImportRun,
    actor: Any,
    source: Source,
    options: ImportOptions,
    writer: DeviceWriter | None,
    progress: Progress | None,
) -> Outcome:
    worker = _Pass(run, actor, options, writer, progress)
    language = translation.get_language()

    def checked_batches() -> Iterator[list[Checked]]:
        # Parsing and validation run on their own thread, ahead of the database work.
        with translation.override(language), source.open() as stream:
            checked = (worker.checked(item) for item in _records(stream, run.file_name, options))
            while batch := list(islice(checked, READ_AHEAD_BATCH)):
                yield batch

    with collect_per_chunk() as collector:
        for batch in read_ahead(checked_batches, name="import-validate"):
            for result in batch:
                worker.feed(result)
            collector.chunk_done()
        worker.flush()
    validator = worker.validator
    for warning in validator.warnings:
        worker.outcome.add_warning(warning)
    worker.outcome.warning_count += validator.warning_count - len(validator.warnings)
    return worker.outcome


def _store(run: ImportRun, outcome: Outcome, state: str, **extra: Any) -> None:
    run.rows_total = outcome.rows
    run.rows_done = outcome.rows
    run.error_count = outcome.error_count
    run.errors = [_as_dict(e) for e in outcome.errors]
    run.warnings = [_as_dict(w) for w in outcome.warnings]
    run.warning_count = outcome.warning_count
    run.unchanged_count = outcome.unchanged
    run.state = state
    for name, value in extra.items():
        setattr(run, name, value)
    run.save()


def _as_dict(problem: RecordError) -> dict[str, Any]:
    return {"line": problem.line, "field": problem.field, "message": problem.message}


def check_file(
    *,
    run: ImportRun,
    actor: Any,
    source: Source,
    options: ImportOptions,
    progress: Progress | None = None,
) -> Outcome:
    """The dry run: every problem of the file, the counts and a preview; writes nothing."""
    _store(run, Outcome(), ImportRun.State.VALIDATING)
    outcome = _run_pass(run, actor, source, options, None, progress)
    state = ImportRun.State.FAILED if outcome.error_count else ImportRun.State.VALIDATED
    _store(run, outcome, state, options={**run.options, "preview": outcome.preview})
    return outcome


def import_file(
    *,
    run: ImportRun,
    actor: Any,
    source: Source,
    options: ImportOptions,
    progress: Progress | None = None,
) -> Outcome:
    """Validate and write in one transaction; all or nothing. Audited as devices.imported."""
    if not actor.has(Perm.DEVICES_IMPORT):
        raise PermissionDenied()
    vault = get_vault()
    slots = max((len(t.key_slots) for t in DeviceType.objects.visible_to(actor)), default=1)
    # Data keys and reservations commit on their own, before the import's transaction.
    vault.prepare(scope_of(run.organisation_id), source.estimate_rows() * slots, seconds=3600)
    _store(run, Outcome(), ImportRun.State.WRITING)
    known = _rows_in_statistics()
    writer = DeviceWriter(
        vault=vault,
        manufacturer_id=run.organisation_id,
        owner_id=run.organisation_id,
        run_id=run.pk,
        actor=actor,
    )
    try:
        with transaction.atomic():
            _prefer_indexes()
            outcome = _run_pass(run, actor, source, options, writer, progress)
            if outcome.error_count:
                raise _Rollback(outcome)
            record(
                Action.DEVICES_IMPORTED,
                actor=actor,
                target=run,
                data={
                    "file_sha256": run.file_sha256,
                    "rows": outcome.rows,
                    "created": writer.written,
                    "updated": outcome.updated,
                    "unchanged": outcome.unchanged,
                    "format": run.file_format,
                },
            )
            _store(
                run,
                outcome,
                ImportRun.State.DONE,
                created_count=writer.written,
                updated_count=outcome.updated,
                finished_at=timezone.now(),
            )
    except _Rollback as rollback:
        run.refresh_from_db()
        _store(run, rollback.outcome, ImportRun.State.FAILED, finished_at=timezone.now())
        return rollback.outcome
    if writer.written >= max(ANALYZE_AFTER, ANALYZE_SHARE * known):
        _refresh_statistics()
    return outcome


def _rows_in_statistics() -> float:
    """How many devices PostgreSQL's planner statistics know of (0: none; SQLite: 0)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Device._meta.db_table]
        )
        row = cursor.fetchone()
    return max(float(row[0]), 0.0) if row else 0.0


def _refresh_statistics() -> None:
    """After an import that changed the tables' size, give PostgreSQL's planner the new sizes.

    Until autovacuum gets to it (a minute or more), the planner would plan the device list
    and the proof look-ups with the statistics of the tables before the import — after a
    first import of a million devices, those of empty tables, and plans fit for them (a
    proof chunk then read the whole address index: ten times slower). An import that adds
    less than a tenth to the catalogue leaves the statistics about right, and ANALYZE's
    sample of random pages is not free on a big catalogue: 10 s at 4,500,000 devices when
    the pages were not cached, for an import of 20,000 that itself took 2 s.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{Device._meta.db_table}", "{DeviceKey._meta.db_table}"')


def _prefer_indexes() -> None:
    """Keep PostgreSQL on the indexes while the import's own rows grow the tables.

    Inside one transaction the planner still sees the statistics of the tables before the
    import (often: empty), so it would answer the per-chunk catalogue checks with sequential
    scans over a table that grows by a million rows — quadratic time. Only this transaction
    is affected (SET LOCAL).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("import has problems")
        self.outcome = outcome
