"""What every stage runs in: the repository, its committed files read once, the model
registry and the forge, progress, the clock and the environment.

The CLI (or a test) builds one context per command and hands it to the stage; stages
never re-read the workspace, re-read or re-hash a data file, or connect to the registry
a second time. The registry and the forge are built on first use, so a command that
needs neither never imports MLflow or PyGithub; a test passes fakes instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.core.errors import ConfigError, MlpinError, Problem
from pipelines.progress import SILENT, Progress

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.adapters.datahistory import FoundData
    from pipelines.adapters.forge import Forge
    from pipelines.adapters.modelregistry import ModelRegistry
    from pipelines.core.schemas import DataPointer
    from pipelines.core.workspace import Workspace


def utcnow() -> datetime:
    """The wall clock in UTC, to the second (what mlpin records)."""
    return datetime.now(UTC).replace(microsecond=0)


class StageContext:
    """One command's view of the world; see the module docstring."""

    def __init__(self, root: Path, *, progress: Progress = SILENT, environ: Mapping[str, str] = os.environ,
                 clock: Callable[[], datetime] = utcnow, registry: ModelRegistry | None = None,
                 forge: Forge | None = None) -> None:
        self.root = root
        self.progress = progress
        self.environ = environ
        self.clock = clock
        self._registry = registry
        self._forge = forge
        self._workspace: Workspace | None = None
        self._source: tuple[str | None, bool] | None = None
        self._problems: dict[str, list[Problem]] = {}
        self._partial = False  # serve the data of the pointers that loaded, whatever else is broken
        self._content: dict[str, bytes] = {}
        self._tables: dict[tuple[str, str | None], pd.DataFrame] = {}

    @property
    def workspace(self) -> Workspace:
        """Every committed file, parsed on first use (ConfigError lists every problem)."""
        workspace, problems = self._read()
        if problems:
            raise ConfigError(problems)
        return workspace

    def loaded_workspace(self) -> tuple[Workspace, dict[str, list[Problem]]]:
        """The committed files that load, and the problems of all of them (for `mlpin validate`,
        which checks the data of the pointers that loaded too). From then on `content` and
        `table` serve those pointers even when other files are broken; `workspace` still raises."""
        self._partial = True
        return self._read()

    def _read(self) -> tuple[Workspace, dict[str, list[Problem]]]:
        if self._workspace is None:
            from pipelines.adapters.workspace import read_workspace

            self._workspace, self._problems = read_workspace(self.root)
        return self._workspace, self._problems

    def _pointer(self, dataset: str) -> DataPointer:
        workspace = self._read()[0] if self._partial else self.workspace
        return workspace.pointers[dataset]

    def source_state(self) -> tuple[str | None, bool]:
        """(HEAD commit, whether the work tree differs from it), read once per command:
        before the command writes its own outputs (e.g. `--out` inside the checkout), so
        they never mark the models it trains later as trained from a dirty tree."""
        if self._source is None:
            from pipelines.adapters import git

            self._source = (git.head_commit(self.root), git.is_dirty(self.root))
        return self._source

    @property
    def registry(self) -> ModelRegistry:
        """The model registry: MLflow (embedded or `MLFLOW_TRACKING_URI`) unless one was given."""
        if self._registry is None:
            from pipelines.adapters.registry import Registry

            self._registry = Registry(self.root)
        return self._registry

    @property
    def forge(self) -> Forge:
        """GitHub when the Actions variables are set, else the local forge, unless one was given."""
        if self._forge is None:
            from pipelines.adapters.forge import select_forge

            self._forge = select_forge(self.root, self.environ)
        return self._forge

    def content(self, dataset: str) -> bytes:
        """A current data pointer's bytes, read and checked against its sha256 once per command."""
        if dataset not in self._content:
            from pipelines.adapters.datastore import read_verified

            self._content[dataset] = read_verified(self.root, dataset, pointer=self._pointer(dataset))
        return self._content[dataset]

    def table(self, dataset: str, *, target: str | None) -> pd.DataFrame:
        """A current dataset, typed and contract-checked once per command (callers must not mutate it)."""
        key = (dataset, target)
        if key not in self._tables:
            from pipelines.adapters.datastore import typed_table

            pointer = self._pointer(dataset)
            with self.progress.step(f"loading {pointer.uri} (verifying sha256 and contract)"):
                self._tables[key] = typed_table(self.content(dataset), dataset, pointer=pointer, target=target)
        return self._tables[key]

    def data_by_digest(self, sha256: str) -> FoundData | None:
        """The data whose content has `sha256`: a current pointer's (already read), else
        from git history; None when nothing known has it."""
        from pipelines.adapters.datahistory import FoundData, find_in_history

        for name, pointer in sorted(self.workspace.pointers.items()):
            if pointer.sha256 == sha256:
                try:
                    return FoundData(pointer, self.content(name), f"data/{name}.yaml")
                except MlpinError:
                    break  # the current file is gone or changed: look in history
        return find_in_history(self.root, sha256)
