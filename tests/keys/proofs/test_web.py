"""The "Prove keys" page: paste or upload, results per telegram, summary, CSV, limits."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from meterkms.audit.models import AuditEvent
from meterkms.core import tenancy
from meterkms.keys.proofs.rows import CSV_COLUMNS
from meterkms.web.views import proofs as proofs_view
from tests.support.personas import World

from .catalogue import random_key, topas_mode5, topas_mode7, topas_plain, wmbus_device
from .vectors import MODE5_LONG_TPL, TOPAS_PLAIN

pytestmark = pytest.mark.django_db

URL = "/catalogue/proofs/"


def _rows(html: str) -> list[str]:
    """The verdict badge of every result row, in order."""
    body = html.split('id="proof-results"', 1)[1]
    return re.findall(r'<td><span class="badge verdict-([a-z-]+)">', body)


def test_the_page_offers_paste_upload_and_technology(world: World, client_for):
    html = client_for(world.olga).get(URL).content.decode()
    for text in ("Prove keys", "Telegrams", "Or a log file", "Technology", "Download CSV report"):
        assert text in html
    assert 'enctype="multipart/form-data"' in html


def test_the_catalogue_menu_lists_the_page_for_those_who_may_prove(world: World, client_for):
    assert URL in client_for(world.olga).get("/menu/catalogue/").content.decode()
    assert URL not in client_for(world.bob).get("/menu/catalogue/").content.decode()


def test_a_viewer_gets_403(world: World, client_for):
    client = client_for(world.bob)
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"telegrams": MODE5_LONG_TPL.frame})
    assert response.status_code == 403
    with tenancy.crossing("test reads the audit log"):
        assert not AuditEvent.objects.filter(action="keys.proved").exists()


def test_pasted_telegrams_show_verdicts_devices_checks_and_summary(world: World, client_for):
    key = random_key()
    device = wmbus_device(world.org_a, "SN-PROVEN", "AMT", "50000001", key)
    wmbus_device(world.org_a, "SN-WRONG", "AMT", "50000002", random_key())
    text = "\n".join(
        [
            topas_mode5("50000001", key).hex(),
            topas_mode5("50000002", key).hex(),
            topas_mode5("50000003", key).hex(),
            "not a telegram",
        ]
    )
    html = client_for(world.olga).post(URL, {"telegrams": text}).content.decode()
    assert _rows(html) == ["proven", "wrong-key", "no-device", "bad-line"]
    assert f'<a href="/catalogue/devices/{device.pk}/">SN-PROVEN</a>' in html
    assert "OMS v1" in html
    assert "TPL security mode 5 (AES-128-CBC)" in html
    assert "AMT 50000001" in html
    assert "radio link (link layer)" in html
    assert "AMT 50000001 vF1 t07" in html  # the address that fed the IV
    assert "2F2F" in html
    assert "✔" in html
    assert "✘" in html
    assert "unusable line" in html
    assert "All lines: 4" in html
    summary = html.split('id="proof-summary"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"Devices with a proven key</dt><dd>1<", summary)
    assert re.search(r"Devices whose keys fail</dt><dd>1<", summary)
    assert re.search(r"Addresses without a device</dt><dd>1<", summary)
    # Nothing decrypted: not the meter data behind the 2F 2F filler, not a key.
    assert TOPAS_PLAIN[30:60].lower() not in html.lower()
    assert key.hex() not in html.lower()


def test_an_uploaded_log_of_generated_mode5_and_mode7_telegrams_is_proven(world: World, client_for):
    lines = []
    for index in range(4):
        address = f"{51_000_000 + index:08d}"
        key = random_key()
        wmbus_device(world.org_a, f"UP{index}", "AMT", address, key)
        lines += [topas_mode5(address, key).hex(), topas_mode7(address, key, counter=9).hex()]
    upload = SimpleUploadedFile(
        "capture.log", ("\ufeff" + "\r\n".join(lines)).encode(), content_type="text/plain"
    )
    response = client_for(world.olga).post(URL, {"file": upload})
    html = response.content.decode()
    assert _rows(html) == ["proven"] * 8
    assert "TPL security mode 7" in html
    assert "MAC" in html
    with tenancy.crossing("test reads the audit log"):
        (event,) = AuditEvent.objects.filter(action="keys.proved")
    assert event.data["source"] == "capture.log"
    assert event.data["verdicts"]["proven"] == 8
    assert event.channel == "web"


def test_a_device_of_another_tree_is_never_named(world: World, client_for):
    key = random_key()
    wmbus_device(world.org_b, "SN-CAROL-ONLY", "AMT", "50000009", key)
    html = client_for(world.olga).post(URL, {"telegrams": topas_mode5("50000009", key).hex()})
    html = html.content.decode()
    assert _rows(html) == ["no-device"]
    assert "SN-CAROL-ONLY" not in html
    assert "no key is stored for this address" in html


def test_the_csv_report_holds_every_line(world: World, client_for):
    key = random_key()
    wmbus_device(world.org_a, "=CSV1", "AMT", "50000011", key)
    lines = [topas_mode5("50000011", key, access).hex() for access in range(3)] + ["zz"]
    response = client_for(world.olga).post(URL, {"telegrams": "\n".join(lines), "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="key-proof.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4"]
    assert [row[CSV_COLUMNS.index("verdict")] for row in rows[1:]] == ["proven"] * 3 + ["bad-line"]
    assert rows[1][CSV_COLUMNS.index("devices")] == "'=CSV1"  # no formula for a spreadsheet
    assert rows[1][CSV_COLUMNS.index("key_slot")] == "OMS v1"
    assert rows[1][CSV_COLUMNS.index("checks")] == "2F2F=ok"


def test_paste_and_file_together_or_neither_are_refused(world: World, client_for):
    client = client_for(world.olga)
    upload = SimpleUploadedFile("c.log", b"00", content_type="text/plain")
    html = client.post(URL, {"telegrams": "00", "file": upload}).content.decode()
    assert "Paste telegrams or choose a file, not both." in html
    html = client.post(URL, {"telegrams": "  "}).content.decode()
    assert "Paste at least one telegram or choose a log file." in html
    html = client.post(URL, {"telegrams": "# nothing but a comment"}).content.decode()
    assert "The input holds no telegram" in html


def test_an_upload_over_the_limit_is_refused_with_a_message(world: World, client_for, monkeypatch):
    monkeypatch.setattr(proofs_view, "MAX_UPLOAD_BYTES", 1000)
    upload = SimpleUploadedFile("big.log", b"00" * 5000, content_type="text/plain")
    response = client_for(world.olga).post(URL, {"file": upload})
    assert response.status_code == 200
    assert "The file is larger than 64 MB" in response.content.decode()
    with tenancy.crossing("test reads the audit log"):
        assert not AuditEvent.objects.filter(action="keys.proved").exists()


def test_pasted_text_over_the_request_limit_is_refused_with_a_message(
    world: World, client_for, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(world.olga).post(URL, {"telegrams": "00" * 5000})
    assert response.status_code == 200
    assert "Pasted text is limited to 3 MB" in response.content.decode()


def test_long_results_show_the_first_rows_and_point_to_the_csv(
    world: World, client_for, monkeypatch
):
    monkeypatch.setattr(proofs_view, "SHOWN_ROWS", 2)
    key = random_key()
    wmbus_device(world.org_a, "MANY", "AMT", "50000012", key)
    text = "\n".join(topas_mode5("50000012", key, access).hex() for access in range(5))
    html = client_for(world.olga).post(URL, {"telegrams": text}).content.decode()
    assert _rows(html) == ["proven", "proven"]
    assert "The first 2 of 5 lines are shown." in html
    assert "All lines: 5" in html


def test_technology_choice_forces_how_lines_are_read(world: World, client_for):
    plain = topas_plain("50000013").hex()  # not encrypted: cannot tell
    html = client_for(world.olga).post(URL, {"telegrams": plain, "technology": "LoRaWAN"})
    assert _rows(html.content.decode()) == ["bad-line"]
