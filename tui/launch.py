"""Starting the command center from the command line (tui/cli.py): the terminal's settings,
then the app with its settings from config.toml and a store that opens in a worker."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from playbooks.errors import PlaybookError, one_line

if TYPE_CHECKING:
    from tui.cli import Context

SSH_FPS = "15"


def prepare_terminal(environ: dict) -> bool:
    """Under SSH, cap the frame rate and switch animations off (a user's own TEXTUAL_*
    settings win). Textual reads these at import, so this runs before it is imported."""
    under_ssh = bool(environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"))
    if under_ssh:
        environ.setdefault("TEXTUAL_FPS", SSH_FPS)
        environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    return under_ssh


def run_command_center(ctx: "Context", open_incident: str | None = None) -> int:
    """The command center for a command line's context: settings from config.toml (a first
    look, or the whole file when this run has read it already), the store opened in a
    worker while the dashboard paints; PlaybookError when config.toml's whole check refused it."""
    under_ssh = prepare_terminal(os.environ)
    from store.paths import config_path, default_database_url
    from tui.app import Settings, make_app
    from tui.first_look import first_look

    # config.toml not read yet (the command center alone): a first look paints the first
    # frame, and the whole check runs in the worker that opens the store.
    look = first_look(config_path()) if ctx.loaded_configuration is None else None
    from tui.settings import tui_options

    if look is None:
        configuration = ctx.configuration
        options = tui_options(configuration.tui)
        sources, notifying = tuple(configuration.sources.configured()), tuple(configuration.integrations.configured())
        path, url = str(configuration.path or config_path()), ctx.database_url
    else:
        configuration, options = None, tui_options(look)
        sources, notifying, path = look.sources, look.integrations, str(config_path())
        url = getattr(ctx.args, "database_url", None) or default_database_url(look.store_url)
    if getattr(ctx.args, "read_only", False):  # the flag wins over `[tui] read_only = false`
        options["read_only"] = True
    settings = Settings(actor=ctx.actor, under_ssh=under_ssh, configuration=configuration, metric_sources=sources,
                        notifying=notifying, configuration_pending=look is not None, config_path=path,
                        database_url=url, **options)

    def open_store():
        if look is not None:
            from tui.first_look import ConfigurationRefused

            try:
                settings.configuration = ctx.configuration
            except PlaybookError as exc:
                raise ConfigurationRefused(one_line(exc)) from None
        return ctx.store

    # An already open store (after declaring) is used as is; otherwise it opens in a
    # worker while the dashboard paints.
    app = make_app(ctx.opened_store or open_store, settings, open_incident)
    app.run()
    if app.refused is not None:
        raise PlaybookError(app.refused)  # said by main like any command's refusal
    return 0
