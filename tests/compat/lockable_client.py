"""A client of the lockable API written the way lockable's published Python client works, run
against lockgate with only the base URL changed (and the standard library instead of requests).

Usage: lockable_client.py BASE_URL TOKEN_A TOKEN_B
Both tokens belong to accounts in the public namespace whose lease is shorter than 3 seconds.
Exits non-zero with a message on the first check that fails.
"""

import base64
import json
import sys
import threading
import time
import urllib.error
import urllib.request


class Client:
    """GET {base}/{operation}/{name} with HTTP Basic (token, empty password); HTTP errors raise,
    like requests' raise_for_status(); the answer is the body's "response"."""

    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.auth = "Basic " + base64.b64encode(f"{token}:".encode()).decode()

    def _call(self, operation, name):
        request = urllib.request.Request(
            f"{self.base}/{operation}/{name}", headers={"Authorization": self.auth}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["response"]

    def try_acquire(self, name):
        return self._call("acquire", name)

    def try_heartbeat(self, name):
        return self._call("heartbeat", name)

    def try_release(self, name):
        return self._call("release", name)


class Lock:
    """`with Lock(client, name):` blocks until acquired (polling), heartbeats on a thread while
    inside, and releases on the way out."""

    def __init__(self, client, name, acquire_sleep=0.2, heartbeat_sleep=0.5, on_lock_loss=None):
        self.client = client
        self.name = name
        self.acquire_sleep = acquire_sleep
        self.heartbeat_sleep = heartbeat_sleep
        self.on_lock_loss = on_lock_loss or (lambda: None)
        self._stop = threading.Event()
        self._thread = None

    def _heartbeat(self):
        while not self._stop.wait(self.heartbeat_sleep):
            if not self.client.try_heartbeat(self.name):
                self.on_lock_loss()

    def __enter__(self):
        while not self.client.try_acquire(self.name):
            time.sleep(self.acquire_sleep)
        self._thread = threading.Thread(target=self._heartbeat, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.client.try_release(self.name)
        return False


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}")
        sys.exit(1)
    print(f"ok: {message}")


def main(base, token_a, token_b):
    a, b = Client(base, token_a), Client(base, token_b)
    name = "nightly-batch"

    lost = []
    with Lock(a, name, on_lock_loss=lambda: lost.append(True)):
        time.sleep(3.0)
        check(b.try_acquire(name) is False, "another account cannot take a held lock")
    check(not lost, "heartbeats kept the lock for longer than its lease")
    check(b.try_acquire(name) is True, "leaving the with block released the lock")

    releaser = threading.Timer(1.0, lambda: b.try_release(name))
    releaser.start()
    started = time.time()
    with Lock(a, name):
        waited = time.time() - started
    releaser.join()
    check(waited >= 0.9, f"a blocking acquire waited for the holder ({waited:.1f} s)")

    try:
        Client(base, "00000000-0000-0000-0000-000000000000").try_acquire(name)
        check(False, "an unknown token is refused")
    except urllib.error.HTTPError as error:
        check(error.code == 401, "an unknown token is refused with 401")

    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
