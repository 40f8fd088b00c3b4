"""Identity of a training recipe: the spec hash and the tag names lineage is stored under."""

from __future__ import annotations

import hashlib
import json

from pipelines.core.schemas import DataPointer, ImageFolderPointer, ModelSpec

TAG_PREFIX = "mlpin."
# Tags written on every training run and registered model version.
TAGS = (
    "git_commit", "git_dirty", "spec_hash", "data_sha256", "seed", "task",
    "estimator", "artifact_sha256", "mlpin_version",
)


# Spec fields added after specs were first hashed, with their defaults.
OPTIONAL_SPEC_KEYS = {"drift_holdout": None, "isp": None, "init": "scratch"}


def spec_hash(spec: ModelSpec, pointer: DataPointer | ImageFolderPointer, *, mlpin_version: str,
              holdout: DataPointer | None = None) -> str:
    """sha256 over the parsed spec, the parsed data pointer (and drift holdout pointer, when
    the spec names one) and the mlpin version.

    Hashing parsed objects (not file bytes) means comments and key order do not
    change the identity; any value that changes training or judging does. A spec without
    `drift_holdout`, `isp` or `init` hashes as it did before those fields existed.
    """
    dumped = spec.model_dump(mode="json")
    for key, default in OPTIONAL_SPEC_KEYS.items():  # unset, they hash as before they existed
        if dumped.get(key) == default:
            dumped.pop(key, None)
    payload = {
        "spec": dumped,
        "data": pointer.model_dump(mode="json"),
        "mlpin": mlpin_version,
    }
    if holdout is not None:
        payload["drift_holdout"] = holdout.model_dump(mode="json")
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def tag(name: str) -> str:
    """The full MLflow tag key for a lineage field."""
    return TAG_PREFIX + name
