import pytest


@pytest.fixture(autouse=True)
def _fresh_serving(settings):
    """Serving caches live per process; each test starts cold and sees writes at once."""
    from merchandising.storefront.selectors import placement_cache_forget
    from recsys import serving

    settings.MERCHLAB_SERVING_CHECK_SECONDS = 0
    settings.MERCHLAB_SERVING_BACKGROUND_REFRESH = False
    settings.MERCHLAB_POPULARITY_SECONDS = 0
    serving.reset()
    placement_cache_forget()
    yield
    serving.reset()
    placement_cache_forget()
