"""`python -m bookshop.cli`, the same command as `bookshop` (bench/jobs.py starts workers so)."""

import sys

from bookshop.cli import main

sys.exit(main())
