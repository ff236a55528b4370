"""Subcommands that live in modules of their own; registered in tui.cli.COMMAND_MODULES."""
