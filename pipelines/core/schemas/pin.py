"""`models/production.yaml`: what serves in production, one entry per model."""

from __future__ import annotations

from pydantic import Field

from pipelines.core.schemas.base import Document, Name, Sha256, Strict


class PinOrigin(Strict):
    """Where the pinned candidate came from: its pull request and commit."""

    pr: int | None = Field(default=None, ge=1)
    commit: str | None = None


class PinnedModel(Strict):
    """One pinned registry version and the lineage needed to verify it."""

    version: int = Field(ge=1)
    run_id: str = Field(min_length=1)
    artifact_sha256: Sha256
    spec_hash: Sha256
    data_sha256: Sha256
    metrics: dict[str, float] = Field(default_factory=dict)
    source: PinOrigin = Field(default_factory=PinOrigin)
    suspend: bool = False


class ProductionPins(Document):
    """The whole pin file. An empty `models` map means nothing is in production yet."""

    models: dict[Name, PinnedModel] = Field(default_factory=dict)
