"""The artifact digest: the sha256 a model folder is pinned by, and the check that must
pass before a folder is unpickled.

Shared by every registry implementation and by serving's model store, so that they
all agree on what "the same model" means. Reads files only; never unpickles.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters.digest import sha256_tree
from pipelines.core.errors import ArtifactMismatch

# Left out of the artifact digest: the registry's own note of the name and version it
# was downloaded as. MLmodel is covered, without the fields that differ between two
# identical trainings: it names the file to unpickle, the code paths put on sys.path
# and the signature, so it must be as verified as the pickle.
VOLATILE_FILES = ("registered_model_meta",)
MLMODEL_VOLATILE_KEYS = ("run_id", "model_id", "model_uuid", "utc_time_created", "artifact_path")
# A skops file is a zip archive whose entries carry the time they were written: hashed as
# its entries (every name and its bytes, in archive order, duplicates included), so two
# identical trainings still give one digest while any change to what loads changes it.
SKOPS_FILE = "model.skops"


def artifact_digest(folder: Path) -> str:
    """The sha256 a model folder is pinned by (see VOLATILE_FILES)."""
    return sha256_tree(folder, exclude=VOLATILE_FILES, normalize={"MLmodel": _stable_mlmodel, SKOPS_FILE: _stable_zip})


def verify_artifact(folder: Path, *, model: str, version: int, expected_sha256: str) -> None:
    """Raise ArtifactMismatch unless `folder`'s digest is `expected_sha256`."""
    actual = artifact_digest(folder)
    if actual != expected_sha256:
        raise ArtifactMismatch(model, version, expected=expected_sha256, actual=actual)


def _stable_mlmodel(raw: bytes) -> bytes:
    import json

    import yaml

    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw  # hashed as it is: a damaged file still changes the digest
    if not isinstance(doc, dict):
        return raw
    kept = {k: v for k, v in doc.items() if k not in MLMODEL_VOLATILE_KEYS}
    return json.dumps(kept, sort_keys=True, default=str).encode()


def _stable_zip(raw: bytes) -> bytes:
    """A skops archive as what loads from it: each entry's name and bytes, with the object ids
    skops takes from Python's `id()` (in schema.json and as .npy names) renumbered by order of
    first appearance, a one-to-one renaming that keeps every reference the same."""
    import hashlib
    import io
    import re
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        return raw  # hashed as it is: a damaged file still changes the digest
    schema = next((data for name, data in entries if name == "schema.json"), b"").decode(errors="replace")
    order: dict[str, str] = {}
    for found in re.finditer(r'"__id__": (\d+)|"(\d+)\.npy"', schema):
        order.setdefault(found.group(1) or found.group(2), str(len(order)))
    renamed = re.sub(r'("__id__": )(\d+)|"(\d+)(\.npy)"', lambda m: (
        f"{m.group(1)}{order[m.group(2)]}" if m.group(1) else f'"{order[m.group(3)]}{m.group(4)}"'), schema)
    digest = hashlib.sha256()
    for name, data in entries:
        stem = name.removesuffix(".npy")
        name = f"{order[stem]}.npy" if name.endswith(".npy") and stem in order else name
        data = renamed.encode() if name == "schema.json" else data
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n")
    return digest.hexdigest().encode()
