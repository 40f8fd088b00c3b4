"""`policies/*.yaml`: promotion gates and drift-check settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipelines.core.schemas.base import Document, Strict

# Evidently 0.7's per-column drift methods.
DriftMethod = Literal[
    "ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon", "kl_div", "hellinger",
    "TVD", "anderson", "fisher_exact", "cramer_von_mises", "g-test", "empirical_mmd",
    "t_test", "mannw", "energy_distance", "epps_singleton",
]


class MetricGate(Strict):
    """A floor (`min`), a ceiling (`max`) or both on one candidate metric."""

    metric: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> MetricGate:
        if self.min is None and self.max is None:
            raise ValueError("a metric gate needs `min`, `max` or both")
        return self


class RegressionGate(Strict):
    """How much worse than production a metric may be, on the same rows."""

    metric: str
    max_drop: float = Field(ge=0.0)


class PromotionPolicy(Document):
    """The gates a candidate must pass before a promotion PR is opened."""

    min_eval_rows: int = Field(default=1, ge=1)
    metrics: list[MetricGate] = Field(default_factory=list)
    regression: list[RegressionGate] = Field(default_factory=list)
    max_drifted_share: float | None = Field(default=None, ge=0.0, le=1.0)


class FeatureTest(Strict):
    """A drift test for one feature: Evidently method and its threshold."""

    method: DriftMethod
    threshold: float = Field(gt=0.0)


class IssueSettings(Strict):
    """How the drift check talks to people through issues."""

    labels: list[str] = Field(default_factory=lambda: ["drift"])
    close_after_clean_checks: int = Field(default=3, ge=1)


class ImageDriftSettings(Strict):
    """Image drift: per-image statistics and embedding MMD, each with a permutation p-value."""

    verdict: Literal["p_value", "distance"] = "p_value"  # which measure of each column decides
    statistics_p_value: float = Field(default=0.05, gt=0.0, lt=1.0)
    statistics_distance: float = Field(default=0.1, gt=0.0)  # normed Wasserstein
    mmd_p_value: float = Field(default=0.05, gt=0.0, lt=1.0)
    mmd_distance: float = Field(default=0.1, gt=0.0)  # MMD^2 of the embeddings
    permutations: int = Field(default=200, ge=20, le=10_000)
    seed: int = 0

    def thresholds(self) -> dict[str, float]:
        return self.model_dump(include={"statistics_p_value", "statistics_distance", "mmd_p_value", "mmd_distance"})


class DriftPolicy(Document):
    """Settings of the scheduled drift check of production inputs."""

    window_hours: int = Field(default=168, ge=1)
    min_rows: int = Field(default=100, ge=1)
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    default_test: FeatureTest | None = None
    features: dict[str, FeatureTest] = Field(default_factory=dict)
    issue: IssueSettings = Field(default_factory=IssueSettings)
    images: ImageDriftSettings = Field(default_factory=ImageDriftSettings)
