import sys

from synfin.cli import main

sys.exit(main())
