"""
Hostile input: how long the SCIM layer takes to refuse (or accept) the bodies and filters of
issue 12, in-process, without a server (the parse and compile steps, which were the cost).

    .venv/bin/python benchmarks/hostile_input.py [--repeat 20]

Prints the median and worst time of each case, and what the answer is.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402


django.setup()

from scim.errors import ScimError  # noqa: E402
from scim.filters import compile_filter  # noqa: E402
from scim.json_body import parse_body  # noqa: E402
from scim.users.filters import USER_FILTER_SPEC  # noqa: E402


def body_cases() -> list[tuple[str, bytes]]:
    flat = b'{"members": [' + b",".join(b'{"value": "%036d"}' % i for i in range(20_000)) + b"]}"
    return [
        ("100,000 nested arrays", b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("100,000 nested objects", b'{"x": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}"),
        ("300 nested arrays", b'{"x": ' + b"[" * 300 + b"]" * 300 + b"}"),
        (f"flat body of 20,000 members ({len(flat) // 1024} KB, accepted)", flat),
        ("lone surrogate", b'{"userName": "a\\ud800"}'),
    ]


def filter_cases() -> list[tuple[str, str]]:
    return [
        ("10,000 '(' (over the length limit)", "(" * 10_000 + 'userName eq "x"' + ")" * 10_000),
        ("8,000 '(' (within the length limit)", "(" * 8000 + 'userName eq "x"' + ")" * 8000),
        ("600-term or filter (16 KB, accepted)", " or ".join(f'userName eq "u{i}@c.io"' for i in range(600))),
        ("extreme dateTime", 'meta.created ge "9999-12-31T23:59:59-14:00"'),
    ]


def measure(call, repeat: int) -> tuple[float, float, str]:
    times, outcome = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            call()
            outcome = "accepted"
        except ScimError as error:
            outcome = f"{error.status} {error.scim_type}"
        except RecursionError:
            outcome = "RecursionError"
        except ValueError:
            outcome = "ValueError"
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, max(times) * 1000, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=20)
    repeat = parser.parse_args().repeat
    print(f"{'case':58} {'median ms':>10} {'max ms':>8}  answer")
    for name, body in body_cases():
        median, worst, outcome = measure(lambda body=body: parse_body(body), repeat)
        print(f"body: {name:52} {median:10.2f} {worst:8.2f}  {outcome}")
        median, worst, outcome = measure(lambda body=body: json.loads(body), repeat)
        print(f"  before (json.loads alone): {'':31} {median:10.2f} {worst:8.2f}  {outcome}")
    for name, text in filter_cases():
        median, worst, outcome = measure(lambda text=text: compile_filter(text, USER_FILTER_SPEC), repeat)
        print(f"filter: {name:50} {median:10.2f} {worst:8.2f}  {outcome}")


if __name__ == "__main__":
    main()
