from observatoire.cli import main

raise SystemExit(main())
