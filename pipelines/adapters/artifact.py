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


def artifact_digest(folder: Path) -> str:
    """The sha256 a model folder is pinned by (see VOLATILE_FILES)."""
    return sha256_tree(folder, exclude=VOLATILE_FILES, normalize={"MLmodel": _stable_mlmodel})


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
