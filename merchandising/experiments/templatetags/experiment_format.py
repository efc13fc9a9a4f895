"""Number formats for the experiment report: rates as %, differences as points, p-values."""

from django import template

register = template.Library()


@register.filter
def pct(value, digits=2):
    if value is None:
        return "–"
    return f"{100 * float(value):.{int(digits)}f}%"


@register.filter
def points(value, digits=2):
    """A difference of two rates in percentage points, signed."""
    if value is None:
        return "–"
    return f"{100 * float(value):+.{int(digits)}f}"


@register.filter
def signed_pct(value, digits=1):
    if value is None:
        return "–"
    return f"{100 * float(value):+.{int(digits)}f}%"


@register.filter
def pvalue(value):
    if value is None:
        return "–"
    value = float(value)
    return "<0.0001" if value < 1e-4 else f"{value:.4f}" if value < 0.01 else f"{value:.3f}"


@register.filter
def prob(value):
    if value is None:
        return "–"
    value = float(value)
    if value < 0.001:
        return "<0.1%"
    if value > 0.999:
        return ">99.9%"
    return f"{100 * value:.1f}%"


@register.filter
def money(value):
    if value is None:
        return "–"
    return f"{float(value):,.2f}"


@register.filter
def loss(value):
    """Expected loss in percentage points, never a misleading 0."""
    if value is None:
        return "–"
    pts = 100 * float(value)
    return "<0.001" if pts < 0.001 else f"{pts:.3f}"
