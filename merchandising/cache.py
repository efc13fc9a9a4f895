"""Cache backends: Redis with two per-call costs of Django's own removed.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` object for every cache call; its
constructor fills a table of about 170 response callbacks, which cost about a quarter of a
millisecond of CPU per call and several calls per storefront request (key look-up, two rate-limit
counters). The client objects here are made once per connection pool and reused: they hold no
connection of their own (the pool does, and it reconnects after a fork), so sharing them between
threads is safe.

``incr`` is one round trip (a server-side script) instead of Django's ``EXISTS`` then ``INCRBY``,
and it is atomic: a counter that expires between the two can no longer be re-created without
its time-out.

The file-system cache of the demo (no server) gets ``add`` and ``incr`` that are atomic across
threads and processes (``FileBasedCache`` below), so counters such as the sign-in throttle count
every attempt on both backends.

``computed_with_age`` keeps an expensive read (a report page's figures) for a while together with
the time it was computed, so the page can say how old its figures are.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.core.cache import cache as default_cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache as DjangoFileBasedCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from django.core.files import locks
from django.utils import timezone

T = TypeVar("T")

_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return nil
"""


def counter_hit(key: str, timeout: int, *, cache=None) -> int:
    """Add one to the counter ``key`` and return the new count, atomically.

    ``incr`` the counter; when it does not exist yet, ``add`` it at 0 with ``timeout`` seconds to
    live (set-if-absent) and ``incr`` again. Both calls are atomic on Redis and on the file cache
    here, so N concurrent callers get N different counts, and "count, then compare with the
    limit" never lets more than the limit through. The time-out runs from the first hit (a fixed
    window)."""
    cache = default_cache if cache is None else cache
    for _ in range(3):
        try:
            return cache.incr(key)  # one round trip while the window's counter exists
        except ValueError:  # no counter yet (or it just expired): start a window, then count
            cache.add(key, 0, timeout)
    raise RuntimeError(f"could not count {key!r}")


def computed_with_age(
    key: str, compute: Callable[[], T], *, timeout: int, refresh: bool = False, cache=None
) -> tuple[T, datetime]:
    """``compute()``'s value and the time it was computed, kept ``timeout`` seconds under ``key``.

    ``refresh`` computes again now. Callers put a version in ``key`` that their writes change
    (see ``cache_version``), and show the returned time: a cached figure is never shown as if
    it were current."""
    cache = default_cache if cache is None else cache
    if not refresh and timeout > 0:
        hit = cache.get(key)
        if hit is not None:
            return hit
    entry = (compute(), timezone.now())
    if timeout > 0:
        cache.set(key, entry, timeout)
    return entry


def cache_version(name: str, *, bump: bool = False, cache=None) -> int:
    """A value to put in cache keys: ``bump=True`` replaces it, so every key built with the old
    value is left to expire unread."""
    cache = default_cache if cache is None else cache
    key = f"version:{name}"
    if bump:  # a new value even when the old one was evicted
        cache.set(key, time.time_ns(), None)
        return cache.get(key)
    return cache.get_or_set(key, time.time_ns, None)


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._incr_script = None

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        if self._incr_script is None:
            self._incr_script = client.register_script(_INCR_EXISTING)
        value = self._incr_script(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


class FileBasedCache(DjangoFileBasedCache):
    """Django's file cache with ``add`` and ``incr`` made atomic across threads and processes.

    Django's versions read and then write (``has_key`` then ``set``; ``get`` then ``set``), so
    two processes counting the same sign-in failure both read 4 and both write 5. The demo's web
    process and workers share this cache without a server, so both calls here hold an exclusive
    lock on one lock file (``flock`` locks an open file description, so threads of one process
    exclude each other too). Counters are rare writes; the single lock is not a bottleneck.
    """

    def _counter_lock(self):
        self._createdir()
        return open(os.path.join(self._dir, "counters.lock"), "a+b")

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        with self._counter_lock() as fh:
            locks.lock(fh, locks.LOCK_EX)
            try:
                return super().add(key, value, timeout, version)
            finally:
                locks.unlock(fh)

    def incr(self, key, delta=1, version=None):
        # Keeps the counter's expiry (Django's version re-sets it with the default time-out).
        with self._counter_lock() as fh:
            locks.lock(fh, locks.LOCK_EX)
            try:
                fname = self._key_to_file(key, version)
                try:
                    with open(fname, "rb") as f:
                        expiry = pickle.load(f)
                        value = pickle.loads(zlib.decompress(f.read()))
                except (FileNotFoundError, EOFError):
                    raise ValueError(f"Key '{key}' not found") from None
                if expiry is not None and expiry < time.time():
                    self._delete(fname)
                    raise ValueError(f"Key '{key}' not found")
                value += delta
                fd, tmp_path = tempfile.mkstemp(dir=self._dir)
                with open(fd, "wb") as f:
                    f.write(pickle.dumps(expiry, self.pickle_protocol))
                    f.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
                os.replace(tmp_path, fname)
                return value
            finally:
                locks.unlock(fh)
