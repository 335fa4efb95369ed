import sys

from mtfcdd.cli import main

sys.exit(main())
