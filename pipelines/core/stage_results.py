"""What stages return: plain, JSON-ready records that the CLI and reports render."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pipelines.core.compare import MetricDelta
from pipelines.core.drift import DriftReport
from pipelines.core.policy import Decision

PerturbationName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]  # shown in PR comments


class TrainResult(BaseModel):
    """A trained candidate and its lineage; version and run are None when it was not
    registered (a pull request's candidate: its job has no write access)."""

    model: str
    version: int | None
    run_id: str | None
    artifact_sha256: str
    spec_hash: str
    data_sha256: str
    git_commit: str | None
    git_dirty: bool
    task: str
    estimator: str
    train_rows: int
    eval_rows: int
    metrics: dict[str, float]
    confusion: dict[str, Any] = Field(default_factory=dict)
    tracking_uri: str
    result_path: str = ""
    init_version: int | None = None  # fine-tuned from this production version's weights


class ScoredVersion(BaseModel):
    """One version's scores on the held-out rows (None: an unregistered candidate)."""

    version: int | None
    metrics: dict[str, float]
    confusion: dict[str, Any] = Field(default_factory=dict)


class HoldoutEvaluation(BaseModel):
    """Production (before) and the candidate (after) scored on the spec's drift holdout:
    labelled production rows that no training used. Shown beside the gates, never gated."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    rows: int
    candidate: ScoredVersion
    production: ScoredVersion | None = None
    production_note: str
    comparison: list[MetricDelta]


class EvaluationResult(BaseModel):
    """Candidate and production scored on identical held-out rows (and on the drift holdout,
    when the spec names one)."""

    model: str
    spec_hash: str
    eval_rows: int
    candidate: ScoredVersion
    production: ScoredVersion | None = None
    production_note: str
    comparison: list[MetricDelta]
    tracking_uri: str
    result_path: str = ""
    drift_holdout: HoldoutEvaluation | None = None
    # image models: accuracy on the held-out images as they are ("clean") and under fixed
    # perturbations, for the candidate and (when pinned) production
    robustness: dict[Literal["candidate", "production"], dict[PerturbationName, float]] | None = None


class CandidateReport(BaseModel):
    """Everything `mlpin candidate` found for one model: what the PR comment shows."""

    model_config = ConfigDict(extra="forbid")  # `mlpin report post` parses it from files PR code wrote

    model: str
    task: str
    policy: str
    pr: str | None
    reasons: list[str]
    train: TrainResult
    evaluation: EvaluationResult
    decision: Decision
    drift: DriftReport | None
    drift_note: str
    drift_html: str | None = None
