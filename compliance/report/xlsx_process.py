"""The process that writes a supervision bulletin's workbook beside the run (see `compliance.report.bulletin.LedgerXlsx`).

It reads its orders, pickled, from standard input and answers on standard output; anything
else printed goes to standard error. Ctrl-C reaches the whole process group: the command
stops this process itself.
"""

from __future__ import annotations

import signal
import sys

from compliance.report.bulletin import write_ledger_first


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answer = sys.stdout.buffer
    sys.stdout = sys.stderr
    write_ledger_first(sys.stdin.buffer, answer)


if __name__ == "__main__":
    main()
