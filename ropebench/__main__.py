import sys

from ropebench.cli import main

sys.exit(main())
