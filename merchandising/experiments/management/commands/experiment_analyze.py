"""Analyse any A/B test data in a CSV file, to check our numbers against other tools.

python manage.py experiment_analyze --csv FILE --variant-col COL --converted-col COL
    [--control NAME] [--unit-col COL] [--value-col COL] [--json]
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from merchandising.experiments.analysis import AnalysisInputError, analyze_csv


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


class Command(BaseCommand):
    help = "Analyse a conversion A/B test from a CSV file (one row per unit or exposure)."

    def add_arguments(self, parser):
        parser.add_argument("--csv", required=True, help="CSV file with a header row")
        parser.add_argument("--variant-col", required=True)
        parser.add_argument("--converted-col", required=True, help="1/0 or true/false (any case)")
        parser.add_argument(
            "--control", help="control variant (default: first name in sorted order)"
        )
        parser.add_argument("--unit-col", help="only each unit's first row counts")
        parser.add_argument("--value-col", help="per-row value such as revenue (Welch t-test)")
        parser.add_argument("--alpha", type=float, default=0.05)
        parser.add_argument(
            "--sequential", action="store_true", help="decide with always-valid inference"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts):
        try:
            result = analyze_csv(
                opts["csv"],
                variant_col=opts["variant_col"],
                converted_col=opts["converted_col"],
                control=opts["control"],
                unit_col=opts["unit_col"],
                value_col=opts["value_col"],
                alpha=opts["alpha"],
                sequential=opts["sequential"],
            )
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {exc.filename}") from None
        except (AnalysisInputError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        level = int(round(100 * (1 - opts["alpha"])))
        header = f"{'variant':<16}{'units':>10}{'conv.':>9}{'rate':>9}  {level}% CI (Wilson)"
        self.stdout.write(header)
        for v in result["variants"]:
            self.stdout.write(
                f"{v['name'][:15]:<16}{v['units']:>10,}{v['conversions']:>9,}{_pct(v['rate']):>9}  "
                f"[{_pct(v['ci_low'])}, {_pct(v['ci_high'])}]"
                + ("  (control)" if v["is_control"] else "")
            )
        self.stdout.write("")
        for v in result["variants"]:
            if v["is_control"]:
                continue
            rel = "-" if v["rel_uplift"] is None else f"{100 * v['rel_uplift']:+.2f}%"
            self.stdout.write(
                f"{v['name']} vs {result['control']}: {100 * (v['abs_uplift'] or 0):+.2f} points ({rel}), "
                f"{level}% CI [{_pct(v['uplift_ci_low'])}, {_pct(v['uplift_ci_high'])}] (Newcombe); "
                f"z-test p = {_p(v['p_value'])}"
                + (f" (Holm {_p(v['p_value_holm'])})" if result["correction"] else "")
            )
            self.stdout.write(
                f"  P(beats control) = {_pct(v['prob_beat_control'], 1)}, expected loss if shipped "
                f"{100 * v['expected_loss']:.3f} points; always-valid p = {_p(v['always_valid_p_value'])}"
            )
            if "value_p_value" in v:
                self.stdout.write(
                    f"  value per unit diff {v['value_diff']:+.4g}, CI [{v['value_ci_low']}, {v['value_ci_high']}], "
                    f"Welch p = {_p(v['value_p_value'])}"
                )
        self.stdout.write(
            f"\nSRM check: p = {_p(result['srm_p_value'])}"
            + (" WARNING" if result["srm_warning"] else "")
        )
        self.stdout.write(f"Inference: {result['inference_method']}")
        self.stdout.write(result["decision"]["sentence"])
