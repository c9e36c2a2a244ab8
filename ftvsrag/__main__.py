"""`python -m ftvsrag`: what torchrun and `accelerate launch` start (`-m ftvsrag run CONFIG`)."""

import sys

from ftvsrag.cli import main

sys.exit(main())
