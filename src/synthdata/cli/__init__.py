"""The `synthdata` command line: typer apps, one module per command group (see `main`)."""
