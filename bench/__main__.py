"""`python -m bench`: the audit log benchmark (see bench/audit.py and `python -m bench --help`)."""

from __future__ import annotations

import sys

from bench.audit import main

if __name__ == "__main__":
    sys.exit(main())
