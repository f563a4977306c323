"""
Instructions executed by a block of this process's Python code, counted by valgrind's callgrind:
the same figure on a busy machine as on a quiet one (CPU time on this shared 2-core host varies
up to 2x between runs minutes apart), so an A/B of a few per cent can be read off one run each.

    if args.instructions:
        callgrind.run_under_callgrind()       # re-executes this script under valgrind, once
    counter = callgrind.Counter()
    instructions = counter.count("match", lambda: [request(i) for i in range(100)])

Only the counted block is instrumented (--instr-atstart=no), and every thread is counted
(the provisioning log's flusher included). What other processes do (PostgreSQL, Redis) is not.
Needs valgrind and its headers (Debian's `valgrind` package) and gcc; about 50x slower than a
plain run inside the block.
"""

import ctypes
import os
import subprocess
import sys
import tempfile
from pathlib import Path


_UNDER = "WA_UNDER_CALLGRIND"  # the directory of the dumps, in the re-executed process
_SOURCE = r"""
#include <valgrind/callgrind.h>
void wa_begin(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void wa_end(const char *name) { CALLGRIND_DUMP_STATS_AT(name); CALLGRIND_STOP_INSTRUMENTATION; }
"""


def run_under_callgrind() -> None:
    """Re-execute this script under callgrind (instrumentation off until a count begins)."""
    if os.environ.get(_UNDER):
        return
    directory = tempfile.mkdtemp(prefix="wa-callgrind-")
    os.environ[_UNDER] = directory
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--quiet",
        f"--callgrind-out-file={directory}/callgrind.out",
        sys.executable,
        *sys.argv,
    ]
    sys.stdout.flush()
    os.execvp(command[0], command)


class Counter:
    def __init__(self):
        self.directory = Path(os.environ[_UNDER])
        library = self.directory / "wa_callgrind.so"
        source = self.directory / "wa_callgrind.c"
        source.write_text(_SOURCE)
        subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
        self._library = ctypes.CDLL(str(library))
        self._dumps = 0

    def count(self, name: str, block) -> int:
        """The instructions `block()` executed, every thread of this process included."""
        self._library.wa_begin()
        block()
        self._library.wa_end(name.encode())
        self._dumps += 1
        return _totals(self.directory / f"callgrind.out.{self._dumps}")


def _totals(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")
