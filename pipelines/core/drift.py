"""Drift results as plain records, and how severe each finding is.

Evidently's methods report either a p-value (drift when the value is LOW) or a
distance (drift when it is HIGH). `kind` records which, and severity follows it, so a
p-value of 0.001 ranks above one of 0.04, and a distance of 0.3 above one of 0.12.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Kind = Literal["p_value", "distance"]


# Evidently's tests that answer a p-value, by registry name and by display name; most
# display names say "p_value", but not all ("Anderson-Darling", "Mann-Whitney U-rank test").
P_VALUE_METHODS = frozenset({
    "ks", "chisquare", "z", "anderson", "cramer_von_mises", "es", "fisher_exact", "g_test", "mannw", "t_test",
    "empirical_mmd", "TVD", "g-test", "epps_singleton",
    "Anderson-Darling", "Cramer-von Mises", "Epps-Singleton", "Fisher's Exact test", "Mann-Whitney U-rank test",
    "Total-Variation-Distance",
})


def method_kind(method: str) -> Kind:
    """Whether `method` (an Evidently registry or display name) answers a p-value (drift when
    LOW) or a distance (drift when HIGH)."""
    return "p_value" if "p_value" in method or method in P_VALUE_METHODS else "distance"


class FeatureDrift(BaseModel):
    """One feature's drift test."""

    column: str
    method: str
    kind: Kind
    score: float
    threshold: float
    drifted: bool

    @property
    def severity(self) -> float:
        """How far past (>1) or short of (<1) its threshold the score is, in its own direction."""
        if self.kind == "p_value":
            return self.threshold / max(self.score, 1e-300)
        return self.score / self.threshold if self.threshold else float("inf")

    def comparison(self) -> str:
        """`p=0.0012 < 0.05` or `0.31 >= 0.10`: the score against its threshold, the right way round."""
        if self.kind == "p_value":
            sign = "<" if self.score < self.threshold else ">="
            return f"p={self.score:.4g} {sign} {self.threshold:g}"
        sign = ">=" if self.score >= self.threshold else "<"
        return f"{self.score:.4g} {sign} {self.threshold:g}"


class DriftReport(BaseModel):
    """Drift between a reference and a current table, feature by feature."""

    reference: str
    current: str
    reference_rows: int
    current_rows: int
    features: list[FeatureDrift]
    drift_share: float
    html_sample: int | None = None  # the HTML report was drawn on this many rows per table, not all of them

    @property
    def drifted(self) -> list[FeatureDrift]:
        """Drifted features, most severe first."""
        return sorted((f for f in self.features if f.drifted), key=lambda f: -f.severity)

    @property
    def share(self) -> float:
        """Share of features that drifted."""
        return len(self.drifted) / len(self.features) if self.features else 0.0

    @property
    def dataset_drifted(self) -> bool:
        """Whether enough features drifted for the dataset as a whole to count as drifted."""
        return bool(self.features) and self.share >= self.drift_share
