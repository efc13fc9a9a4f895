import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchandising.settings")
application = get_wsgi_application()


def _load_views_and_freeze() -> None:
    """Import every view now rather than on the first request, then move everything start-up
    allocated out of the garbage collector's sight.

    The URLconf pulls in the whole app (SciPy among it; PyTorch stays out since fine-tuning
    imports it only when it trains). CPython's full collections walk every tracked object, so
    without this a web process stops every few dozen requests to re-check objects that live as
    long as the process; with PyTorch loaded that pause was 300-450 ms and most of the product
    list API's p95. `gc.freeze()` puts them
    in the permanent generation (Python documentation, gc.freeze); done before gunicorn forks
    its workers, it also keeps their pages shared.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    gc.collect()
    gc.freeze()


_load_views_and_freeze()
