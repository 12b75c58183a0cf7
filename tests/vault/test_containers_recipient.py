"""Tests of recipient keys, RFC 5649 key wrapping, key check values and the recipient file."""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkms.vault.algorithms import KEY_LENGTHS, Algorithm
from meterkms.vault.containers.errors import (
    ContainerError,
    DamagedFileError,
    SecretRequiredError,
    WrongSecretError,
)
from meterkms.vault.containers.recipient import (
    MEMBER_NAMES,
    KeyToWrap,
    key_checks_digest,
    read_recipient_container,
    write_recipient_container,
)
from meterkms.vault.containers.wrapping import (
    generate_recipient_keypair,
    key_check_value,
    kwp_unwrap,
    kwp_wrap,
    public_key_fingerprint,
)
from meterkms.vault.containers.zipped import StrictZip, ZipWriter
from tests.support.tiers import require

WHEN = (2026, 11, 27, 10, 15, 30)
KEYS = [
    KeyToWrap(
        "61070071", "OMS", Algorithm.AES128, bytes.fromhex("A004EB23329A477F1DD2D7820B56EB3D")
    ),
    KeyToWrap("61070072", "MBUS", Algorithm.AES256, bytes(range(32))),
    KeyToWrap("00000001", "DES", Algorithm.DES, bytes.fromhex("0102030405060708")),
    KeyToWrap("00000002", "DES", Algorithm.TDES, bytes(range(24))),
]


@pytest.fixture(scope="module")
def pair():
    return generate_recipient_keypair(2048)


@pytest.fixture(scope="module")
def other_pair():
    return generate_recipient_keypair(2048)


def seal(pair, payload=b"serial;key\n1;A0\n", keys=KEYS, manifest=b'{"m": 1}\n', chunk_size=64):
    out = io.BytesIO()
    write_recipient_container(
        out, [payload], keys, lambda: manifest, public_key_pem=pair.public_pem,
        date_time=WHEN, chunk_size=chunk_size,
    )  # fmt: skip
    return out.getvalue()


def unseal(data, private_pem, passphrase=None):
    sink = io.BytesIO()
    contents = read_recipient_container(
        StrictZip(io.BytesIO(data)), sink, private_key_pem=private_pem, passphrase=passphrase
    )
    return sink.getvalue(), contents


def members(data):
    archive = StrictZip(io.BytesIO(data))
    return {name: archive.read(name, limit=1 << 30) for name in archive.names}


def repack(contents):
    """A canonical ZIP with edited members: what a careful forger without the key can make."""
    out = io.BytesIO()
    writer = ZipWriter(out, date_time=WHEN)
    for name in MEMBER_NAMES:
        writer.add(name, [contents[name]])
    writer.close()
    return out.getvalue()


def test_rfc_5649_test_vectors():
    kek = bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
    vectors = [
        (
            "c37b7e6492584340bed12207808941155068f738",
            "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
        ),
        ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"),
    ]
    for key, wrapped in vectors:
        assert kwp_wrap(kek, bytes.fromhex(key)).hex() == wrapped
        assert kwp_unwrap(kek, bytes.fromhex(wrapped)) == bytes.fromhex(key)
    assert kwp_unwrap(kek, bytes.fromhex("afbeb0f07dfbf5419200f2ccb50bb24e")) is None


def test_key_check_values_match_published_examples():
    assert key_check_value(bytes.fromhex("0123456789ABCDEF"), Algorithm.DES) == "D5D44F"
    two_key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert key_check_value(two_key, Algorithm.TDES) == "08D7B4"
    assert key_check_value(bytes(16), Algorithm.AES128) == "66E94B"


@settings(max_examples=100, deadline=None)
@given(data=st.data(), algorithm=st.sampled_from(list(Algorithm)))
def test_key_check_value_equals_an_independent_ecb_of_a_zero_block(data, algorithm):
    size = data.draw(st.sampled_from(KEY_LENGTHS[algorithm]))
    key = data.draw(st.binary(min_size=size, max_size=size))
    if algorithm in (Algorithm.DES, Algorithm.TDES):
        cipher, block = TripleDES(key if len(key) == 24 else (key * 3)[:24]), 8
    else:
        cipher, block = algorithms.AES(key), 16
    encryptor = Cipher(cipher, modes.ECB()).encryptor()
    expected = encryptor.update(bytes(block))[:3].hex().upper()
    assert key_check_value(key, algorithm) == expected


def test_key_check_value_refuses_a_key_of_the_wrong_length():
    with pytest.raises(ContainerError, match="AES128 keys are 16 bytes long, not 15"):
        key_check_value(bytes(15), Algorithm.AES128)


def test_generated_keypair_is_rsa_with_a_matching_fingerprint(pair):
    public = serialization.load_pem_public_key(pair.public_pem)
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    assert public.key_size == 2048
    assert public_key_fingerprint(pair.public_pem) == hashlib.sha256(der).hexdigest()
    assert "private_pem" not in repr(pair)


def test_keypair_below_2048_bits_is_refused():
    with pytest.raises(ContainerError, match="at least 2048"):
        generate_recipient_keypair(1024)


def test_small_and_non_rsa_recipient_keys_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    curve = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = serialization.Encoding.PEM
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    with pytest.raises(ContainerError, match="1024 bits"):
        seal(type("P", (), {"public_pem": small.public_bytes(pem, spki)}))
    with pytest.raises(ContainerError, match="must be an RSA key"):
        seal(type("P", (), {"public_pem": curve.public_bytes(pem, spki)}))


def test_round_trip_returns_payload_manifest_and_checked_kcvs(pair):
    payload = os.urandom(1000)
    opened, contents = unseal(seal(pair, payload), pair.private_pem)
    assert opened == payload
    assert contents.manifest == b'{"m": 1}\n'
    rows = [(k.device, k.slot, str(k.algorithm), key_check_value(k.key, k.algorithm)) for k in KEYS]
    assert contents.key_checks_sha256 == key_checks_digest(rows)
    assert contents.key_count == len(KEYS)


def test_wrapped_keys_unwrap_independently_as_ckm_rsa_aes_key_wrap_blobs(pair):
    wrapped = json.loads(members(seal(pair))["wrapped-keys.json"])
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    rsa_part = base64.b64decode(wrapped["encrypted_key"])
    for entry, expected in zip(wrapped["keys"], KEYS, strict=True):
        blob = rsa_part + base64.b64decode(entry["wrapped_key"])  # one CKM_RSA_AES_KEY_WRAP blob
        ephemeral = private.decrypt(blob[:256], oaep)
        assert aes_key_unwrap_with_padding(ephemeral, blob[256:]) == expected.key
    assert wrapped["mechanism"] == "CKM_RSA_AES_KEY_WRAP"


def test_wrapped_keys_unwrap_with_the_openssl_command_line(pair, tmp_path):
    require(shutil.which("openssl") is not None, "the openssl command")
    wrapped = json.loads(members(seal(pair))["wrapped-keys.json"])
    (tmp_path / "private.pem").write_bytes(pair.private_pem)
    (tmp_path / "ek.bin").write_bytes(base64.b64decode(wrapped["encrypted_key"]))
    subprocess.run(
        ["openssl", "pkeyutl", "-decrypt", "-inkey", "private.pem", "-in", "ek.bin",
         "-out", "k.bin", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
         "-pkeyopt", "rsa_mgf1_md:sha256"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    kek = (tmp_path / "k.bin").read_bytes().hex()
    (tmp_path / "wk.bin").write_bytes(base64.b64decode(wrapped["keys"][0]["wrapped_key"]))
    result = subprocess.run(
        ["openssl", "enc", "-d", "-id-aes256-wrap-pad", "-K", kek, "-iv", "A65959A6",
         "-in", "wk.bin"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    assert result.stdout == KEYS[0].key


def test_private_key_of_another_recipient_is_named_by_fingerprint(pair, other_pair):
    with pytest.raises(WrongSecretError, match=public_key_fingerprint(pair.public_pem)):
        unseal(seal(pair), other_pair.private_pem)


def test_encrypted_private_key_needs_its_passphrase():
    protected = generate_recipient_keypair(2048, passphrase="key passphrase")
    data = seal(protected)
    with pytest.raises(SecretRequiredError, match="passphrase"):
        unseal(data, protected.private_pem)
    with pytest.raises(WrongSecretError, match="wrong passphrase"):
        unseal(data, protected.private_pem, passphrase="not it")
    assert unseal(data, protected.private_pem, passphrase="key passphrase")[0].startswith(b"serial")


@pytest.mark.parametrize(
    ("member", "old", "new"),
    [("manifest.json", b'"m": 1', b'"m": 2'), ("wrapped-keys.json", b"61070071", b"61070079")],
)
def test_metadata_edited_and_repacked_fails_the_mac(pair, member, old, new):
    contents = members(seal(pair))
    assert old in contents[member]
    contents[member] = contents[member].replace(old, new)
    with pytest.raises(DamagedFileError, match="MAC mismatch"):
        unseal(repack(contents), pair.private_pem)


def test_payload_from_another_file_for_the_same_recipient_fails(pair):
    contents = members(seal(pair))
    contents["payload.enc"] = members(seal(pair, payload=b"other"))["payload.enc"]
    with pytest.raises(DamagedFileError, match="failed authentication"):
        unseal(repack(contents), pair.private_pem)


def test_truncated_payload_stream_fails(pair):
    contents = members(seal(pair, payload=bytes(300)))
    contents["payload.enc"] = contents["payload.enc"][:-30]
    with pytest.raises(DamagedFileError, match="truncated"):
        unseal(repack(contents), pair.private_pem)


def test_flipped_bits_across_the_whole_file_fail(pair):
    data = seal(pair, payload=b"x" * 100, keys=KEYS[:1])
    for position in range(0, len(data), 7):
        damaged = bytearray(data)
        damaged[position] ^= 0x10
        with pytest.raises(ContainerError):
            unseal(bytes(damaged), pair.private_pem)


def test_empty_payload_and_no_keys_round_trip(pair):
    opened, contents = unseal(seal(pair, payload=b"", keys=[]), pair.private_pem)
    assert (opened, contents.key_count) == (b"", 0)
    assert contents.key_checks_sha256 == key_checks_digest([])


HSM_SCRIPT = """
import json, sys
import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
job = json.loads(sys.stdin.read())
token = pkcs11.lib(job["module"]).get_token(token_label="export-test")
kcvs = []
with token.open(user_pin="1234", rw=True) as session:
    file_key = session.create_object({
        Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
        Attribute.VALUE: bytes.fromhex(job["file_key"]), Attribute.UNWRAP: True,
        Attribute.TOKEN: False,
    })
    for wrapped in job["wrapped"]:
        key = file_key.unwrap_key(
            ObjectClass.SECRET_KEY, KeyType.AES, bytes.fromhex(wrapped),
            mechanism=Mechanism.AES_KEY_WRAP_PAD,
            template={Attribute.ENCRYPT: True, Attribute.TOKEN: False},
        )
        kcvs.append(key.encrypt(bytes(16), mechanism=Mechanism.AES_ECB)[:3].hex().upper())
print(json.dumps(kcvs))
"""


@pytest.mark.softhsm
def test_wrapped_aes_keys_unwrap_inside_softhsm_with_matching_kcvs(pair, tmp_path):
    """The KWP half of CKM_RSA_AES_KEY_WRAP, done by an HSM (SoftHSM 2.6 has OAEP-SHA1 only)."""
    module = "/usr/lib/softhsm/libsofthsm2.so"
    require(shutil.which("softhsm2-util") is not None and os.path.exists(module), "SoftHSM2")
    pytest.importorskip("pkcs11")
    (tmp_path / "tokens").mkdir()
    config = tmp_path / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    env = os.environ | {"SOFTHSM2_CONF": str(config)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "export-test", "--pin", "1234",
         "--so-pin", "5678"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    aes_keys = [k for k in KEYS if k.algorithm in (Algorithm.AES128, Algorithm.AES256)]
    wrapped = json.loads(members(seal(pair, keys=aes_keys))["wrapped-keys.json"])
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    file_key = private.decrypt(base64.b64decode(wrapped["encrypted_key"]), oaep)
    job = {
        "module": module,
        "file_key": file_key.hex(),
        "wrapped": [base64.b64decode(e["wrapped_key"]).hex() for e in wrapped["keys"]],
    }
    result = subprocess.run(
        [sys.executable, "-c", HSM_SCRIPT], input=json.dumps(job), env=env,
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert json.loads(result.stdout) == [e["kcv"] for e in wrapped["keys"]]
