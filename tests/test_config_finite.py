"""Property test: NaN, +-inf, huge and negative values in every numeric field of every config
class give a refusal naming the field, or a valid config that the pre-build checks (memory
estimate on the meta device) accept or refuse cleanly; never an exception from deeper code."""

from __future__ import annotations

import dataclasses
import math
import typing

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cell.budget import over_budget
from bench.cell.config import ConfigError, TrainConfig, TrainerConfig
from bench.cell.spec import spec_from_values
from models import MODELS
from tasks import TASKS


def _numeric_fields(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    return [f.name for f in dataclasses.fields(cls) if hints[f.name] in (int, float)]


# (section, model, task, config class): every config class the CLI and matrices accept
TARGETS = (
    [("model", name, "copy", e.config) for name, e in MODELS.items()]
    + [("task", "transformer", name, e.config) for name, e in TASKS.items()]
    + [
        ("train", "transformer", "copy", TrainConfig),
        ("trainer", "transformer", "copy", TrainerConfig),
    ]
)
FIELDS = [(t, field) for t in TARGETS for field in _numeric_fields(t[3])]
NASTY = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    1e-308,
    0,
    -1,
    0.5,
    2**31 - 1,
    2**31,
    10**20,
    -(10**20),
    2**63,
]
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
)


def test_finite_property_covers_every_config_class():
    assert {t[3] for t, _ in FIELDS} == {t[3] for t in TARGETS}
    assert len(FIELDS) >= 40  # every int and float knob of every config


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # the same 400 examples on every run: CI never flakes
    suppress_health_check=[HealthCheck.too_slow],
)
@given(target=st.sampled_from(FIELDS), value=VALUES)
def test_finite_property_every_numeric_field(target, value):
    (section, model, task, _), field = target
    try:
        spec = spec_from_values(model, task, {section: {field: value}}, device="cpu")
        over_budget([spec])  # refusal lines or none; builds only on the meta device
    except ConfigError as err:
        assert field in str(err), (field, value, str(err))
        return
    got = getattr(
        {
            "model": spec.model_cfg,
            "task": spec.task_cfg,
            "train": spec.train,
            "trainer": spec.trainer,
        }[section],
        field,
    )
    assert not (isinstance(got, float) and not math.isfinite(got))
