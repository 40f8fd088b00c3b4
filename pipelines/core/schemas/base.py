"""Shared building blocks: strict models, the versioned document base, constrained names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

# Lowercase names that are safe as file stems, MLflow model names and branch parts.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Strict(BaseModel):
    """Unknown fields are errors, so a misspelt key never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(Strict):
    """A whole committed file. `schema_version` lets later releases migrate old files."""

    schema_version: Literal[1] = 1
