"""TensorFlow's start-up lines kept off the command line's stderr.

TensorFlow's C++ runtime writes its start-up messages through absl before anything can configure absl's
logging: TensorFlow 2.21 prints nine lines (oneDNN, "could not find cuda drivers", the CPU's instruction set,
twice, then an ``E`` line "failed call to cuInit" at the first device enumeration on a machine without a GPU)
whatever ``TF_CPP_MIN_LOG_LEVEL`` says (tensorflow/tensorflow#102212, abseil/abseil-cpp#1718). A command's
stderr is for its one-line errors, so :func:`quiet_tensorflow_start` mutes file descriptor 2 while TensorFlow is
imported and enumerates its devices, wherever in the command that first happens (Keras imports it). Python's
own ``sys.stderr`` is flushed first, and everything written after the import, including TensorFlow's later
messages, reaches stderr as before. ``musim -v`` leaves it all on.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

from musim.quiet import native_stderr_muted


class QuietTensorflowStart(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the path finder does and executes it, then lists its devices, with fd 2 muted."""

    name = "tensorflow"

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None):
        if fullname != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            with native_stderr_muted():
                execute(module)
                with contextlib.suppress(Exception):  # enumeration fails loudly later if it really fails
                    module.config.list_physical_devices()  # the cuInit line, on a machine without a GPU
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)

        spec.loader.exec_module = exec_module  # this spec's loader only: __loader__ stays the path finder's
        return spec


def quiet_tensorflow_start() -> bool:
    """Install :class:`QuietTensorflowStart` ahead of the path finder unless TensorFlow is already imported.
    Returns whether it was installed."""
    if QuietTensorflowStart.name in sys.modules or any(isinstance(f, QuietTensorflowStart) for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, QuietTensorflowStart())
    return True
