"""Optional dependencies: imported only when the config asks for them.

``aiokafka`` comes with the ``kafka`` extra and ``psycopg`` with the ``postgres`` extra
(``make demo`` and ``make test`` install both). When one is missing, the error says which
setting needs it and what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from storage.errors import StorageError


class MissingExtra(StorageError):
    """A setting needs a package of an extra that is not installed."""

    def __init__(self, setting: str, module: str, extra: str) -> None:
        self.setting = setting
        self.module = module
        self.extra = extra
        super().__init__(f"{setting} but {module} is not installed: pip install 'vigil[{extra}]'")


def require(module: str, *, extra: str, setting: str) -> ModuleType:
    """Import ``module`` (from the ``extra`` extra), or raise ``MissingExtra``.

    ``setting`` says why it is needed, as the start of the message, e.g.
    ``"bus.kafka is set"``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".", 1)[0]
        if exc.name is None or exc.name.split(".", 1)[0] != top:
            raise  # the package is there but one of its own imports failed: not ours to hide
        raise MissingExtra(setting, top, extra) from None
