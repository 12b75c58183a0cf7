"""Benchmark: batch key proof of mode 5 telegrams, next to raw AES-CBC decryption.

The issue goal: 100,000 mode 5 telegrams proven against a 1,000,000-device catalogue in the
database, end to end (parse, look up, unseal, decrypt, verdict), at least 50,000
telegrams/s and at least 25 % of the raw AES-128-CBC decrypt rate of 64-byte payloads with
a new cipher object per telegram. The raw ceiling is measured in the same run through the
vault's ``aes_cbc_decrypt`` (a new ``Cipher``/decryptor and IV per call).

Figures: the pure part in memory as the proof service drives it (:func:`prove_capture`,
chunk by chunk, a dict standing in for the catalogue), with one and with ten telegrams per
meter; then the proof service itself (:func:`prove_traffic`) against a catalogue filled by
:mod:`meterkms.bench.proofcatalogue` in the benchmark database, audit event included.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from meterkms.bench.registry import BenchContext, Figure, scenario
from meterkms.core.batchgc import collect_per_chunk
from meterkms.keys.proofs import (
    Candidate,
    DeviceAddress,
    Verdict,
    merge_summaries,
    prove_capture,
)
from meterkms.keys.proofs.encode import encrypt_mode5
from meterkms.keys.proofs.wmbus import device_address
from meterkms.vault import meter_crypto

FULL_SIZE = 100_000
CATALOGUE_SIZE = 1_000_000
RUNS = 5
GOAL_RATE = 50_000
GOAL_SHARE = 0.25
# TOPAS ES KR water meter (M = AMT), mode 5 with 4 encrypted blocks, as decrypted by
# wmbusmeters (drivers/src/topaseskr.xmq); bytes 4..7 (the ID) vary per meter.
TOPAS_PLAIN = bytes.fromhex(
    "4E44B40512345678F1077A310040052F2F01FD08040C13991848004C1359423500CC10130000"
    "0000CC201359423500426C7F2C0B3B00000002FD74DA10025AD300C4016D3B179F27CC011387124600"
)


Catalogue = dict[tuple[str, str], bytes]  # (manufacturer, meter address) -> key


def _capture(
    telegrams: int, per_meter: int
) -> tuple[str, Catalogue, list[tuple[bytes, bytes, bytes]]]:
    """Hex lines of ``telegrams`` mode 5 telegrams, the key catalogue and raw CBC inputs."""
    lines = []
    catalogue: Catalogue = {}
    raw = []
    meters = max(1, telegrams // per_meter)
    for meter in range(meters):
        ident = int(str(meter + 10_000_000), 16).to_bytes(4, "little")  # BCD digits
        plain = TOPAS_PLAIN[:4] + ident + TOPAS_PLAIN[8:]
        key = os.urandom(16)
        address = device_address(plain[2:10])
        catalogue[address.manufacturer, address.identifier] = key
        for repeat in range(per_meter):
            access = (meter + repeat) & 0xFF
            frame = encrypt_mode5(plain[:11] + bytes((access,)) + plain[12:], key)
            lines.append(frame.hex().upper())
            raw.append((key, frame[2:10] + bytes((access,)) * 8, frame[15:79]))
    return "\n".join(lines), catalogue, raw


def _prove(text: str, catalogue: Catalogue) -> int:
    """The pipeline of the proof service, with a dict standing in for the catalogue.

    Like the database, the stand-in returns keys only for the addresses asked for, and the
    candidates are built per chunk (as rows become candidates in the proof service).
    """

    def fetch(wanted: set[DeviceAddress]) -> dict[DeviceAddress, list[Candidate]]:
        """Candidates for the addresses of one chunk, as one bulk query would return them."""
        found = {}
        for address in wanted:
            key = catalogue.get((address.manufacturer, address.identifier))
            if key is not None:
                found[address] = [Candidate(f"{address}/OMS", key)]
        return found

    summaries = []
    with collect_per_chunk() as collector:  # as the proof service runs its chunks
        for chunk in prove_capture(text, fetch):
            summaries.append(chunk.summary)
            collector.chunk_done()
    return merge_summaries(summaries).telegram_verdicts[Verdict.PROVEN]


def _raw(inputs: list[tuple[bytes, bytes, bytes]]) -> int:
    """The ceiling: one AES-128-CBC decryption of 64 bytes per telegram, new cipher each."""
    decrypt = meter_crypto.aes_cbc_decrypt
    for key, iv, payload in inputs:
        decrypt(key, iv, payload)
    return len(inputs)


def _rates(proof: Callable[[], int], raw: Callable[[], int], count: int) -> tuple[float, float]:
    """Median telegrams per second of the proof and of the raw ceiling, runs interleaved.

    Interleaving makes both see the same load on a shared machine, so their ratio holds
    even when the absolute figures move.
    """
    proof_rates, raw_rates = [], []
    for _ in range(RUNS):
        for work, rates in ((raw, raw_rates), (proof, proof_rates)):
            start = time.perf_counter()
            done = work()
            elapsed = time.perf_counter() - start
            if done != count:
                raise RuntimeError(f"benchmark run handled {done} of {count} telegrams")
            rates.append(count / elapsed)
    return statistics.median(proof_rates), statistics.median(raw_rates)


@scenario(
    "proofs",
    description="batch proof of mode 5 telegrams, in memory and against a device catalogue",
    needs_django=True,
)
def proofs_batch(ctx: BenchContext) -> list[Figure]:
    """The in-memory figures, then the proof service against the database catalogue."""
    return [*memory_figures(ctx), *catalogue_figures(ctx)]


def memory_figures(ctx: BenchContext) -> list[Figure]:
    """Batch proof rate with one and with ten telegrams per meter, next to raw AES-CBC."""
    count = ctx.n(FULL_SIZE)
    figures = []
    for per_meter in (1, 10):
        ctx.progress(f"building {count} mode 5 telegrams, {per_meter} per meter")
        text, keys, raw = _capture(count, per_meter)
        ctx.progress("measuring raw AES-128-CBC decrypt and the batch proof")
        rate, ceiling = _rates(
            lambda text=text, keys=keys: _prove(text, keys), lambda raw=raw: _raw(raw), len(raw)
        )
        figures.append(
            Figure(
                name=f"proof of {len(raw)} mode 5 telegrams, {per_meter} per meter (no DB)",
                value=rate,
                unit="telegrams/s",
                ceiling=ceiling,
                ceiling_label="AES-128-CBC decrypt of 64 bytes, new cipher per telegram",
                goal=f"with catalogue: >= {GOAL_RATE:,}/s and >= {GOAL_SHARE:.0%} of ceiling",
                passed=rate >= GOAL_RATE and rate >= GOAL_SHARE * ceiling,
            )
        )
    return figures


def catalogue_figures(ctx: BenchContext) -> list[Figure]:
    """The proof service end to end against the catalogue: parse, query, unseal, check, audit.

    First one telegram each for distinct meters drawn at random from the catalogue (the
    issue's figure: every telegram needs its own lookup and its own unsealed key), then ten
    consecutive telegrams per meter, as a drive-by capture holds them (and as the in-memory
    figure has them). The collector's view of the setup is
    frozen first, as ``meterkms prove`` does.
    """
    from meterkms.bench.proofcatalogue import bench_catalogue

    devices = ctx.n(CATALOGUE_SIZE)
    count = min(ctx.n(FULL_SIZE), devices)
    with bench_catalogue(devices, ctx.progress) as catalogue:
        figures = []
        for per_meter in (1, 10):
            meters = random.sample(range(devices), max(1, count // per_meter))
            figures.append(_catalogue_figure(ctx, catalogue, meters, per_meter))
        return figures


def _catalogue_figure(
    ctx: BenchContext, catalogue: Any, meters: list[int], per_meter: int
) -> Figure:
    from meterkms.keys.proofs.service import prove_traffic

    ctx.progress(f"building mode 5 telegrams of {len(meters):,} meters, {per_meter} per meter")
    lines, raw = [], []
    for index in meters:
        ident = bytes.fromhex(catalogue.address(index))[::-1]
        key = catalogue.keys[index]
        for repeat in range(per_meter):
            access = (index + repeat) & 0xFF
            plain = (
                TOPAS_PLAIN[:4] + ident + TOPAS_PLAIN[8:11] + bytes((access,)) + TOPAS_PLAIN[12:]
            )
            frame = encrypt_mode5(plain, key)
            lines.append(frame.hex().upper())
            raw.append((key, frame[2:10] + bytes((access,)) * 8, frame[15:79]))
    text = "\n".join(lines)

    def proof() -> int:
        run = prove_traffic(actor=catalogue.actor, data=text, keep=0, source="benchmark")
        return run.summary.telegram_verdicts[Verdict.PROVEN]

    ctx.progress("measuring raw AES-128-CBC decrypt and the proof service")
    gc.collect()
    gc.freeze()
    try:
        rate, ceiling = _rates(proof, lambda: _raw(raw), len(lines))
    finally:
        gc.unfreeze()
    devices = len(catalogue.keys)
    return Figure(
        name=f"proof service, {len(lines):,} telegrams, {per_meter} per meter, "
        f"{devices:,} devices in {ctx.db}",
        value=rate,
        unit="telegrams/s",
        ceiling=ceiling,
        ceiling_label="AES-128-CBC decrypt of 64 bytes, new cipher per telegram",
        goal=f">= {GOAL_RATE:,}/s and >= {GOAL_SHARE:.0%} of ceiling",
        passed=rate >= GOAL_RATE and rate >= GOAL_SHARE * ceiling,
    )
