"""Finding production's training data by digest in git history: real repositories,
the same strict loader as the working tree, a cache keyed by digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipelines.adapters.datahistory import cache_dir, find_in_history
from tests.helpers import commit_all, git

V1, V2 = b"x,y\n1,a\n2,b\n", b"x,y\n1,a\n2,b\n3,c\n"


def pointer_text(content: bytes, *, extra: str = "") -> str:
    digest = hashlib.sha256(content).hexdigest()
    return (f"schema_version: 1\nuri: data/t.csv\nformat: csv\nsha256: {digest}\n{extra}"
            "columns:\n- {name: x, type: float}\n- {name: y, type: category, role: target}\n")


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """v1 of data/t.csv committed, then replaced by v2 (the current file)."""
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    git(root, "init", "-q")
    for content in (V1, V2):
        (root / "data/t.csv").write_bytes(content)
        (root / "data/t.yaml").write_text(pointer_text(content))
        commit_all(root, f"data {len(content)}")
    return root


def test_an_old_version_is_found_in_history_then_served_from_the_cache(history: Path) -> None:
    digest = hashlib.sha256(V1).hexdigest()
    found = find_in_history(history, digest)
    assert found is not None and found.content == V1 and found.where.startswith("data/t.yaml at ")
    assert (cache_dir(history) / digest).read_bytes() == V1
    again = find_in_history(history, digest)
    assert again is not None and again.content == V1 and again.where.endswith("(cached)")


def test_an_unknown_digest_is_not_found(history: Path) -> None:
    assert find_in_history(history, "0" * 64) is None


def test_a_past_pointer_with_duplicate_keys_is_not_trusted(tmp_path: Path) -> None:
    # Last-key-wins YAML would read this pointer as naming V1; the strict loader refuses it.
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "data/t.csv").write_bytes(V1)
    (root / "data/t.yaml").write_text("sha256: " + "f" * 64 + "\n" + pointer_text(V1))
    commit_all(root, "a pointer with a duplicate key")
    assert find_in_history(root, hashlib.sha256(V1).hexdigest()) is None
    (root / "data/t.yaml").write_text(pointer_text(V1))
    commit_all(root, "fixed")
    assert find_in_history(root, hashlib.sha256(V1).hexdigest()) is not None
