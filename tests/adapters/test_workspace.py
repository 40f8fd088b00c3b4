"""Loading the whole repository: problems of every file reported together."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.workspace import load_workspace
from pipelines.core.errors import ConfigError
from tests.helpers import edit_yaml


def test_sample_repository_loads(repo: Path) -> None:
    ws = load_workspace(repo)
    assert sorted(ws.specs) == ["breast_cancer_rf", "diabetes_hgb", "wine_logreg"]
    assert sorted(ws.pointers) == ["breast_cancer", "diabetes", "wine"]
    assert ws.pins.models == {}
    assert ws.drift is not None and ws.drift.issue.close_after_clean_checks == 3


def test_problems_in_several_files_are_reported_together(repo: Path) -> None:
    edit_yaml(repo / "models/wine_logreg.yaml", estimator={"kind": "svm"})
    edit_yaml(repo / "models/diabetes_hgb.yaml", colour="blue")
    (repo / "policies/promotion.yaml").write_text("metrics: [\n")
    with pytest.raises(ConfigError) as err:
        load_workspace(repo)
    found = err.value.problems_by_path
    assert sorted(found) == ["models/diabetes_hgb.yaml", "models/wine_logreg.yaml", "policies/promotion.yaml"]
    # the spec that loaded is checked against the others, but naming a file that did not load is no problem
    assert [p.location for p in found["models/wine_logreg.yaml"]] == ["estimator.kind"]
    lines = err.value.lines()
    assert lines[0] == "3 files: 3 problems"
    assert "  models/diabetes_hgb.yaml:" in lines


def test_cross_file_problems_after_schemas_pass(repo: Path) -> None:
    edit_yaml(repo / "models/wine_logreg.yaml", estimator={"kind": "svm"}, data="grapes")
    with pytest.raises(ConfigError) as err:
        load_workspace(repo)
    text = [str(p) for p in err.value.problems_by_path["models/wine_logreg.yaml"]]
    assert any(t.startswith("estimator.kind: expected one of") for t in text)
    assert "data: data/grapes.yaml does not exist" in text


def test_yml_extension_is_flagged_not_ignored(repo: Path) -> None:
    (repo / "models/wine_logreg.yaml").rename(repo / "models/wine_logreg.yml")
    with pytest.raises(ConfigError) as err:
        load_workspace(repo)
    assert "rename to models/wine_logreg.yaml" in "\n".join(err.value.lines())
