"""The door: config.toml is read here, once per run of the program, checked whole (the model,
then every secret file it points at), and the `Configuration` is passed down from here."""
from __future__ import annotations

from pathlib import Path

from integrations.secrets import SecretFileError, where_secret_is
from playbooks.config import Configuration, load_configuration
from playbooks.errors import PlaybookError
from store.paths import config_path


def load_checked_configuration(path: Path | None = None) -> Configuration:
    """The configuration at `path` (default: IR_CONFIG or the config folder's config.toml);
    PlaybookError, one sentence naming the key and the file, for anything wrong in it,
    including a secret file others could read."""
    path = path or config_path()
    configuration = load_configuration(path)
    for key, variable in configuration.secret_variables():
        try:
            where_secret_is(variable)
        except SecretFileError as exc:
            raise PlaybookError(f"{path}: {key} = {variable!r}: {exc}") from None
    return configuration
