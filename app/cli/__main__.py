"""`python -m app.cli`: the `clientscore` command."""

from app.cli.main import main

raise SystemExit(main())
