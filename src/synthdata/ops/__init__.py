"""Operations: the commands the runbook performs, as library functions the CLI calls."""
