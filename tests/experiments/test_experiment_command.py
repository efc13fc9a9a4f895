"""manage.py experiment_analyze: the JSON shape of the issue, text output, clear errors."""

import io
import json

import pytest
from django.core.management import CommandError, call_command


def _run(*args):
    out = io.StringIO()
    call_command("experiment_analyze", *args, stdout=out)
    return out.getvalue()


def test_json_output_has_the_documented_shape(tmp_path):
    path = tmp_path / "ab.csv"
    path.write_text("user,group,bought,revenue\n" + "".join(
        f"u{i},{'control' if i % 2 else 'treatment'},{'TRUE' if i % 7 == 0 else 'false'},{10 if i % 7 == 0 else 0}\n"
        for i in range(400)
    ))  # fmt: skip
    result = json.loads(
        _run("--csv", str(path), "--variant-col", "group", "--converted-col", "bought", "--control", "control",
             "--unit-col", "user", "--value-col", "revenue", "--json")
    )  # fmt: skip
    assert {"variants", "srm_p_value"} <= set(result)
    control, treatment = result["variants"]
    assert control["name"] == "control" and control["units"] == 200
    for key in ("name", "units", "conversions", "rate", "ci_low", "ci_high"):
        assert key in control
    for key in (
        "abs_uplift",
        "rel_uplift",
        "uplift_ci_low",
        "uplift_ci_high",
        "p_value",
        "prob_beat_control",
        "expected_loss",
    ):
        assert key in treatment


def test_text_output_and_errors(tmp_path):
    path = tmp_path / "ab.csv"
    path.write_text("g,c\nA,1\nA,0\nB,1\nB,1\n")
    text = _run("--csv", str(path), "--variant-col", "g", "--converted-col", "c")
    assert "B vs A" in text and "Inference:" in text
    with pytest.raises(CommandError, match="No such file"):
        _run("--csv", str(tmp_path / "missing.csv"), "--variant-col", "g", "--converted-col", "c")
    with pytest.raises(CommandError, match="column"):
        _run("--csv", str(path), "--variant-col", "nope", "--converted-col", "c")
