"""No cache of device keys or other unsealed values exists (security goal 9).

Two checks. A source search over ``src/meterkms``: no memoisation (``functools.cache``,
``lru_cache``, ``cached_property``) and no Django cache use in the vault package or in any
module that opens sealed values. And a heap check: after sealing and opening known keys, no
object reachable from the vault holds one of them.
"""

from __future__ import annotations

import ast
import gc
import os
from pathlib import Path

from meterkms.vault.engine import Vault
from meterkms.vault.providers import LocalKeyConfig, open_provider
from meterkms.vault.store import InMemoryDataKeyStore

SOURCE = Path(__file__).resolve().parents[2] / "src" / "meterkms"
MEMOISERS = {"cache", "lru_cache", "cached_property"}
OPENERS = {"unseal", "unseal_batch", "reseal_blobs"}


def _names(node: ast.AST) -> set[str]:
    """Every plain or attribute name used inside ``node``."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _findings(path: Path, root: Path = SOURCE) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_vault = path.relative_to(root).parts[0] == "vault"
    calls = {
        call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
    }
    if not in_vault and not calls & OPENERS:
        return []
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if _names(decorator) & MEMOISERS:
                    problems.append(f"{path}:{node.lineno} memoises {node.name}()")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django.core.cache"):
            problems.append(f"{path}:{node.lineno} imports the Django cache")
        if isinstance(node, ast.ImportFrom) and node.module == "functools":
            used = {alias.name for alias in node.names} & MEMOISERS
            if used:
                problems.append(f"{path}:{node.lineno} imports {', '.join(sorted(used))}")
    return problems


def test_source_has_no_cache_of_unsealed_values():
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 20
    problems = [problem for path in files for problem in _findings(path)]
    assert problems == []


def test_the_source_check_catches_memoised_openers(tmp_path: Path):
    memoised = (
        "from functools import lru_cache\n\n@lru_cache\ndef key(v, b):\n    return v.unseal(b)\n"
    )
    django_cache = "from django.core.cache import cache\n\ndef get(v, b):\n    return v.unseal(b)\n"
    harmless = "from functools import cache\n\n@cache\ndef table():\n    return 1\n"
    for name, text in [
        ("vault/probe.py", memoised),
        ("keys/downloads.py", django_cache),
        ("web/tables.py", harmless),
    ]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert len(_findings(tmp_path / "vault/probe.py", tmp_path)) == 2
    assert len(_findings(tmp_path / "keys/downloads.py", tmp_path)) == 1
    assert _findings(tmp_path / "web/tables.py", tmp_path) == []


def _reachable(root: object, limit: int = 200_000) -> list[object]:
    seen: set[int] = set()
    stack = [root]
    found = []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type) or type(obj).__name__ == "module":
            continue
        seen.add(id(obj))
        found.append(obj)
        stack.extend(gc.get_referents(obj))
    return found


def test_no_object_reachable_from_the_vault_holds_a_device_key():
    provider = open_provider(LocalKeyConfig(key=os.urandom(32).hex()))
    vault = Vault(provider, InMemoryDataKeyStore())
    keys = [os.urandom(16) for _ in range(20)]
    items = [(f"dev-{n}", key) for n, key in enumerate(keys)]
    blobs = vault.seal_batch(scope="org:heap", slot="OMS", version=1, items=items)
    pairs = [(record, blob) for (record, _), blob in zip(items, blobs, strict=True)]
    opened = vault.unseal_batch(scope="org:heap", slot="OMS", version=1, items=pairs)
    single = vault.unseal(blobs[0], scope="org:heap", record="dev-0", slot="OMS", version=1)
    assert opened == keys
    assert single == keys[0]
    del opened, single, items
    wanted = set(keys)
    holders = [
        obj
        for obj in _reachable(vault)
        if isinstance(obj, bytes | bytearray)
        and (bytes(obj) in wanted or any(k in obj for k in keys))
    ]
    assert holders == []
