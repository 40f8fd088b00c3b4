"""Fetching what a data pointer names, checking its digest, and typing it by its schema.

Local paths resolve inside the repository; anything with a scheme goes through fsspec.
A digest mismatch or contract violation is a DataError raised before any training.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from pipelines.adapters.digest import sha256_bytes
from pipelines.core.contract import check_contract, coerce_frame
from pipelines.core.errors import DataError, OutsideSystemError, Problem
from pipelines.core.schemas import DataPointer
from pipelines.core.workspace import pointer_path


def load_dataset(root: Path, dataset: str, *, pointer: DataPointer, target: str | None) -> pd.DataFrame:
    """The typed table a pointer names, after its digest and contract have passed."""
    return typed_table(read_verified(root, dataset, pointer=pointer), dataset, pointer=pointer, target=target)


def read_verified(root: Path, dataset: str, *, pointer: DataPointer) -> bytes:
    """The bytes a pointer names, read once and checked against its sha256."""
    content = read_bytes(root, dataset, uri=pointer.uri)
    actual = sha256_bytes(content)
    if actual != pointer.sha256:
        raise DataError(
            f"{pointer_path(dataset)}: sha256 of {pointer.uri} does not match the pointer "
            f"(pointer {pointer.sha256[:12]}…, content {actual[:12]}…). If the data change is "
            f"intended, set sha256: {actual}",
            dataset=dataset,
        )
    return content


def typed_table(content: bytes, dataset: str, *, pointer: DataPointer, target: str | None) -> pd.DataFrame:
    """Verified bytes parsed, typed by the pointer's schema and checked against its contract."""
    raw = parse_table(content, dataset, pointer=pointer)
    frame, problems = coerce_frame(raw, pointer)
    problems += check_contract(frame, pointer, target=target)
    if problems:
        raise DataError(
            f"{pointer_path(dataset)}: {pointer.uri} breaks its contract", dataset=dataset, problems=problems
        )
    return frame


def read_bytes(root: Path, dataset: str, *, uri: str) -> bytes:
    """Bytes at `uri`: a repository path, or any fsspec URL (s3://, gs://, file://...)."""
    if "://" in uri:
        return _read_remote(uri)
    path = (root / uri).resolve()
    if not path.is_relative_to(root.resolve()):
        raise DataError(f"{pointer_path(dataset)}: uri '{uri}' points outside the repository", dataset=dataset)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{pointer_path(dataset)}: uri '{uri}' does not exist", dataset=dataset) from None


def _read_remote(uri: str) -> bytes:
    import fsspec

    try:
        with fsspec.open(uri, "rb") as handle:
            return handle.read()
    except (OSError, ValueError, ImportError) as exc:
        raise OutsideSystemError("data store", f"cannot read {uri}: {exc}") from exc


def parse_table(content: bytes, dataset: str, *, pointer: DataPointer) -> pd.DataFrame:
    """Parse CSV (every cell as text, typed later by the schema) or parquet."""
    try:
        if pointer.format == "csv":
            return pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=True)
        return pd.read_parquet(io.BytesIO(content))
    except Exception as exc:  # pandas raises many types for malformed files
        problem = Problem(pointer.uri, f"cannot parse as {pointer.format}: {exc}")
        raise DataError(f"{pointer_path(dataset)}: unreadable data", dataset=dataset, problems=[problem]) from exc
