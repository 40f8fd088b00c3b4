"""A live model's predictions: numbers its arithmetic overflows on are the request's fault."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.inputs import InputColumn
from serving.slot import LiveModel, NumericOverflow, to_frame


def _live(predictor) -> LiveModel:
    return LiveModel(name="m", version=1, artifact_sha256="0" * 64, task="regression",
                     columns=[InputColumn(name="x", type="double")], predictor=predictor,
                     loaded_at=datetime.now(UTC), example=[])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_finite_number_the_model_overflows_on_is_a_numeric_overflow_not_an_answer() -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fitted = make_pipeline(StandardScaler(), LogisticRegression())
    fitted.fit(pd.DataFrame({"x": [0.0, 0.1, 0.2, 0.3]}), [0, 0, 1, 1])  # std < 1: the largest float64 scales to inf
    live = _live(fitted)
    assert len(live.predict([{"x": 0.05}])) == 1
    with pytest.raises(NumericOverflow, match="infinity"):
        live.predict([{"x": 1.7976931348623157e308}])


def test_an_infinite_prediction_is_never_answered() -> None:
    class Exploding:
        def predict(self, frame):
            return frame["x"] * 1e308

    with pytest.raises(NumericOverflow):
        _live(Exploding()).predict([{"x": 10.0}])


def test_the_frame_from_the_checks_values_per_column_equals_the_frame_from_the_records() -> None:
    columns = [InputColumn(name="x", type="double"), InputColumn(name="n", type="long", required=False),
               InputColumn(name="s", type="string", required=False)]
    records = [{"x": 1.5, "n": 2, "s": "a"}, {"x": 2.0, "n": None, "s": None}]
    given = to_frame(records, columns, values=[[1.5, 2.0], [2, None], ["a", None]])
    built = to_frame(records, columns)
    assert given.equals(built) and list(given.dtypes.astype(str)) == ["float64", "float64", "object"]
