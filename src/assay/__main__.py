"""``python -m assay``: the command line (as the ``assay`` script); ``assay serve`` starts its worker this way."""

from assay.cli import main

raise SystemExit(main())
