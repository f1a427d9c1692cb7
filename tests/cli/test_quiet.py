"""musim.cli.quiet: TensorFlow's C++ start-up lines do not reach stderr; what is written after them does."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _stderr(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, check=True)
    return proc.stderr


def test_native_writes_inside_the_block_are_dropped_and_python_writes_around_it_kept():
    err = _stderr("""
        import os, sys
        from musim.quiet import native_stderr_muted
        print("before", file=sys.stderr)
        with native_stderr_muted():
            os.write(2, b"native noise\\n")
        os.write(2, b"native after\\n")
        print("after", file=sys.stderr)
    """)
    assert err == "before\nnative after\nafter\n"


def test_importing_keras_and_listing_devices_writes_nothing_to_stderr():
    err = _stderr("""
        import sys
        from musim.cli.quiet import QuietTensorflowStart, quiet_tensorflow_start
        assert quiet_tensorflow_start() and not quiet_tensorflow_start()  # once
        import keras
        import tensorflow as tf
        tf.constant(1.0) + 1.0
        assert not any(isinstance(f, QuietTensorflowStart) for f in sys.meta_path)  # gone once used
        assert type(tf.__loader__).__name__ == "SourceFileLoader"
        print("done", file=sys.stderr)
    """)
    assert err == "done\n"
