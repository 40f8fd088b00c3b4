"""`python -m pipelines.stack`: see pipelines/stack/cli.py."""

import sys

from pipelines.stack.cli import main

sys.exit(main())
