"""Fails when the contract layer refused a request that was not one of its own probes.

A refused request usually fails the test that made it; this catches the ones whose caller
swallowed the error (a best-effort cleanup, say), so no violation goes unseen.

    python -m awscontract.report VIOLATIONS_LOG
"""

from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    found = []
    with open(args[0]) as f:
        for line in f:
            entry = json.loads(line)
            # A lost compare-and-swap or a taken lock is AWS answering a correct request.
            if not entry.get("probe") and not entry.get("conflict"):
                found.append(entry)
    if not found:
        print("contract layer: no request refused")
        return 0
    print(f"contract layer: {len(found)} request(s) AWS would refuse:", file=sys.stderr)
    for e in found:
        print(f"  {e['service']} {e['operation']}: {e['rule']}: {e['message']}\n    source: {e['source']}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
