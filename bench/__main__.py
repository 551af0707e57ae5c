"""`python -m bench [audit|recognition] [options]`: the audit log benchmark (the default; bench/audit.py)
or the recognition benchmark (bench/recognition.py)."""

from __future__ import annotations

import sys

from bench import audit, recognition

if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["recognition"]:
        sys.exit(recognition.main(arguments[1:]))
    sys.exit(audit.main(arguments[1:] if arguments[:1] == ["audit"] else arguments))
