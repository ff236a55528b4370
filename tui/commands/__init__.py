"""Every subcommand, one module per job; registered by name in tui.cli.COMMAND_MODULES."""
