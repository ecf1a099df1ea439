from fieldgate.cli import main

raise SystemExit(main())
