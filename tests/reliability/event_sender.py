"""A storefront-like events client for the database-fault tests: it posts each batch until the
answer is 200, retrying transport errors and 5xx with the same event ids (which is what makes a
retry safe), and counts what happened on the way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
import requests


@dataclass
class EventSender:
    url: str  # the events endpoint
    headers: dict
    per_batch: int  # every batch's accepted + duplicates must add up to this
    tries: int = 200
    session: requests.Session = field(default_factory=requests.Session)
    accepted: int = 0
    duplicates: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    other: list = field(default_factory=list)  # (status, body) of answers that are not 200 or 5xx

    def send(self, events: list[dict]) -> None:
        """Post one batch until it gets through; fail the test after ``tries`` attempts."""
        for _attempt in range(self.tries):
            try:
                response = self.session.post(
                    self.url, json={"events": events}, headers=self.headers, timeout=60
                )
            except requests.RequestException:
                self.transport_errors += 1
                time.sleep(0.05)
                continue
            if response.status_code >= 500:
                self.server_errors += 1
                time.sleep(0.05)
                continue
            if response.status_code != 200:
                self.other.append((response.status_code, response.text[:200]))
                return
            body = response.json()
            assert body["accepted"] + body["duplicates"] == self.per_batch, body
            self.accepted += body["accepted"]
            self.duplicates += body["duplicates"]
            return
        pytest.fail(f"a batch never got through in {self.tries} tries")
