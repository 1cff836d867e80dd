"""What several commands share: the catalogue, a company by id, the data folder, the vault, the model.

Each helper turns its stage's own error into a :class:`~starcoach.errors.UsageError`
(one line, exit 2) so that a command body stays a few calls long.  Heavy
modules are imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from starcoach.cli.env import Env
from starcoach.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from starcoach.catalogue.banks import Catalogue, Company
    from starcoach.edges import Transcriber


def load_catalogue_or_fail(env: Env) -> "Catalogue":
    from starcoach.catalogue.banks import BankError, load_catalogue, search_dirs

    try:
        return load_catalogue(search_dirs(env.environ))
    except BankError as e:
        raise UsageError(f"bad question bank or company file: {e}") from None


def resolve_company(catalogue: "Catalogue", company_id: Optional[str]) -> Optional["Company"]:
    from starcoach.catalogue.banks import UnknownCompany

    if not company_id:
        return None
    try:
        return catalogue.company(company_id)
    except UnknownCompany as e:
        raise UsageError(str(e)) from None


def open_store(args: "argparse.Namespace", env: Env, *, create: bool = True):
    from pathlib import Path

    from starcoach.store.database import Store, default_data_dir
    from starcoach.store.errors import StoreError

    root = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir(env.environ)
    try:
        return Store.open(root, create=create)
    except StoreError as e:
        raise UsageError(str(e)) from None


def vault_edit_hint(path, env: Optional[Env] = None, action: str = "edit") -> str:
    """The command that runs vault ``action`` on the vault at ``path``: plain for the default vault,
    else with ``--vault``."""
    import shlex
    from pathlib import Path

    from starcoach.store.database import default_data_dir

    if env is not None:
        try:
            if Path(path).expanduser().resolve() != (default_data_dir(env.environ) / "vault.toml").resolve():
                return f"`starcoach vault --vault {shlex.quote(str(path))} {action}`"
        except OSError:
            pass
    return f"`starcoach vault {action}`"


def load_vault_quiet(path, catalogue, err, env: Optional[Env] = None):
    """The story vault if there is one; a broken vault is reported once and ignored."""
    import os

    try:
        os.stat(path)
    except FileNotFoundError:  # what ``load`` says with VaultMissing, told without loading the vault code
        return None
    except OSError:
        pass  # ``load`` says what is wrong
    from rich.markup import escape

    from starcoach.vault.format import VaultError, VaultMissing, load

    try:
        return load(path, catalogue.companies)
    except VaultMissing:
        return None
    except VaultError as e:
        err.print(f"[yellow]warning: story vault not used: {escape(str(e))} "
                  f"(fix it with {escape(vault_edit_hint(path, env))})[/yellow]", soft_wrap=True)
        return None


def resolve_model_or_fail(model: Optional[str], args: "Optional[argparse.Namespace]" = None,
                          env: Optional[Env] = None) -> str:
    """The model directory ``--model`` names (None: the bundled one), checked before anything is loaded.

    A name ``starcoach models`` lists (a folder in DATA_DIR/models/, a model in a local Hugging Face
    cache, the bundled tiny.en) is found as it finds it (``speech.models``); a directory is used as
    it is; anything else goes to ``resolve_model`` (a size name faster-whisper finds in its cache).
    """
    from starcoach.speech.whisper_model import ModelNotFound, resolve_model

    try:
        if model is not None and env is not None and not _looks_like_directory(model):
            from starcoach.cli.models import data_dir_of
            from starcoach.speech.models import find_models, lookup

            found = lookup(model, find_models(data_dir_of(args, env), env.environ))
            if found is not None:
                if not found.usable:
                    raise ModelNotFound(f"model {model!r} ({found.path}) cannot be used: {found.problem}")
                return resolve_model(found.path)
        return resolve_model(model)
    except ModelNotFound as e:
        raise UsageError(str(e)) from None


def _looks_like_directory(model: str) -> bool:
    from pathlib import Path

    return Path(model).expanduser().is_dir()


def load_transcriber(model: Optional[str], err) -> "Transcriber":
    """The speech model, loaded once and warmed up, with a note on standard error."""
    import time

    from starcoach.speech.transcribe import WhisperTranscriber
    from starcoach.speech.whisper_model import ModelNotFound, TranscriptionError

    t0 = time.perf_counter()
    try:
        from starcoach.speech.whisper_model import resolve_model

        with err.status("Loading the speech model…"):
            tx = WhisperTranscriber(resolve_model(model))
            tx.warm_up()
    except ModelNotFound as e:
        raise UsageError(str(e)) from None
    except TranscriptionError as e:
        raise UsageError(f"cannot load the speech model: {e}") from None
    err.print(f"[dim]Speech model ready ({time.perf_counter() - t0:.1f} s).[/dim]")
    return tx
