import sys

from musim.cli import main

sys.exit(main())
