"""``python -m bench``: every CPU benchmark against its baseline (see bench/run_all.py)."""

from bench.run_all import main

raise SystemExit(main())
