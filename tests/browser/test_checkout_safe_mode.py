"""The checkout on a till whose store failed its start-up check (issue 13 item 8): it says
why instead of offering a sale."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

from playwright.sync_api import expect


def test_the_checkout_shows_why_the_till_is_in_safe_mode(demo, page):
    demo.stop()
    db = demo.data / "gatewayd.db"
    with open(db, "r+b") as fh:  # a dying disk: garbage over pages in the middle
        fh.seek(db.stat().st_size // 2)
        fh.write(os.urandom(16384))
    demo.spawn()  # not demo.start(): that waits for a healthy daemon
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{demo.http}/healthz", timeout=2)
            raise AssertionError("a damaged store must not be healthy")
        except urllib.error.HTTPError as exc:
            health = json.loads(exc.read())
            break
        except OSError:
            assert time.monotonic() < deadline, demo.log.read_text()[-2000:]
            time.sleep(0.1)
    assert health["status"] == "failing" and health["store"]["safe_mode"] is True
    page.goto(demo.url("/"))
    expect(page.get_by_test_id("safe-mode")).to_be_visible()
    expect(page.get_by_test_id("safe-mode-reason")).to_contain_text(str(db))
    expect(page.get_by_test_id("login-operator")).to_have_count(0)
