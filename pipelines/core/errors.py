"""The exception tree. Each class says who must act next (its `kind`); the CLI alone
maps kinds to exit codes.

- InvalidInput: a person must fix a committed file, the data or an argument.
- OutsideSystemError: MLflow, git or a store failed; retrying later may help.
Errors carry the ids a person needs to act on them (`ids`: model, version, dataset ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.outcome import Kind


@dataclass(frozen=True)
class Problem:
    """One thing wrong, at a location such as `estimator.params.max_depth` or `row count`."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class MlpinError(Exception):
    """Base of every error mlpin raises on purpose."""

    kind = Kind.BUG

    def __init__(
        self, message: str, *, problems: list[Problem] | None = None, ids: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        self.ids = dict(ids or {})

    def lines(self) -> list[str]:
        """The message, then one line per problem."""
        return [self.message, *(f"  - {p}" for p in self.problems)]

    def all_problems(self) -> list[Problem]:
        """Every problem, each located well enough to act on alone."""
        return list(self.problems)


class InvalidInput(MlpinError):
    """A person must fix something we were given; retrying the same input fails again."""

    kind = Kind.INVALID_INPUT


class AccessRefused(InvalidInput):
    """An outside system refused our credentials or a permission: a person must give other
    credentials or grants (the message says which); retrying with the same ones fails again."""


class ConfigError(InvalidInput):
    """Committed files do not load or do not fit their schemas; problems grouped by file."""

    def __init__(self, problems_by_path: dict[str, list[Problem]]) -> None:
        self.problems_by_path = {path: list(ps) for path, ps in sorted(problems_by_path.items())}
        count = sum(len(ps) for ps in self.problems_by_path.values())
        paths = list(self.problems_by_path)
        where = paths[0] if len(paths) == 1 else f"{len(paths)} files"
        super().__init__(f"{where}: {count} problem{'s' if count != 1 else ''}")

    def lines(self) -> list[str]:
        """One header per file, then one line per problem in it."""
        if len(self.problems_by_path) == 1:
            return super().lines() + [f"  - {p}" for ps in self.problems_by_path.values() for p in ps]
        out = [self.message]
        for path, problems in self.problems_by_path.items():
            out.append(f"  {path}:")
            out.extend(f"    - {p}" for p in problems)
        return out

    def all_problems(self) -> list[Problem]:
        """Every problem of every file, its location prefixed by the file."""
        return [Problem(f"{path}: {p.location}" if p.location else path, p.message)
                for path, problems in self.problems_by_path.items() for p in problems]


class DataError(InvalidInput):
    """The data a pointer names is not what the pointer promises (digest or contract)."""

    def __init__(self, message: str, *, dataset: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, problems=problems, ids={"dataset": dataset})
        self.dataset = dataset


class NotFound(InvalidInput):
    """A model, version or file that was asked for does not exist."""


class OutsideSystemError(MlpinError):
    """An outside system (MLflow, git, object store) failed; names which one."""

    kind = Kind.OUTSIDE_SYSTEM

    def __init__(self, system: str, message: str, *, ids: dict[str, str] | None = None) -> None:
        super().__init__(f"{system}: {message}", ids={"system": system, **(ids or {})})
        self.system = system


class ArtifactMismatch(InvalidInput):
    """A model artifact's sha256 differs from the one recorded for it: never load it."""

    def __init__(self, model: str, version: int, *, expected: str, actual: str) -> None:
        super().__init__(
            f"{model} v{version}: artifact sha256 is {actual[:12]}…, expected {expected[:12]}…; "
            "refusing to load it. Check the pin or re-register the model.",
            ids={"model": model, "version": str(version), "expected_sha256": expected, "actual_sha256": actual},
        )
        self.model = model
        self.version = version
