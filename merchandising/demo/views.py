"""Placeholder product images of the demo catalog (SVG tiles made by catalog_data)."""

from functools import lru_cache

from django.http import Http404, HttpResponse
from django.views.decorators.cache import cache_control

from .catalog_data import placeholder_images


@lru_cache(maxsize=1)
def _images() -> dict[str, str]:
    return placeholder_images()


@cache_control(max_age=86400, public=True)
def placeholder_image(request, name: str):
    svg = _images().get(name)
    if svg is None:
        raise Http404("No such image.")
    return HttpResponse(svg, content_type="image/svg+xml")
