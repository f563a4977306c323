"""
`make run` and `make test` install their Debian packages with scripts/apt-install. On a new machine
apt is often busy (unattended-upgrades, another apt-get) when make starts; the script waits for
apt's lock instead of failing the whole set-up. Real apt-get, real lock (root only).
"""

import fcntl
import os
import subprocess
import threading
from pathlib import Path

import pytest


SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "apt-install"
LISTS_LOCK = "/var/lib/apt/lists/lock"

pytestmark = [
    pytest.mark.sqlite_pass_only,
    pytest.mark.skipif(os.geteuid() != 0, reason="holding apt's lock needs root"),
]


def test_apt_install_waits_for_a_busy_apt_and_then_installs():
    descriptor = os.open(LISTS_LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.lockf(descriptor, fcntl.LOCK_EX)  # what a running `apt-get update` holds
    released = threading.Timer(3, os.close, args=(descriptor,))
    released.start()
    try:
        # hostname is Essential, so "installing" it changes nothing on the machine.
        finished = subprocess.run(
            [str(SCRIPT), "hostname"], capture_output=True, text=True, timeout=300, env={**os.environ}
        )
    finally:
        released.join()

    assert finished.returncode == 0, finished.stderr
    assert "apt is busy" in finished.stderr
