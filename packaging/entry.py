"""The frozen program's entry point (PyInstaller runs this as `__main__`).

The bootloader puts the bundle's own library folder first on LD_LIBRARY_PATH and keeps
the user's value in LD_LIBRARY_PATH_ORIG. Our process has already loaded its libraries
by then; every program we start (bwrap, socat, the agent) must see the host's libraries
only, so the user's value is put back before anything runs.
"""

import os
import sys


def _restore_library_path() -> None:
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        original = os.environ.pop(f"{name}_ORIG", None)
        if original is not None:
            os.environ[name] = original
        else:
            os.environ.pop(name, None)


if __name__ == "__main__":
    _restore_library_path()
    from app.cli import main

    sys.exit(main())
