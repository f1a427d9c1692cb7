"""musim.cli.quiet: TensorFlow's C++ start-up lines do not reach stderr; what is written after them does."""

from __future__ import annotations

from tests.test_quiet import stderr_of


def test_importing_keras_and_listing_devices_writes_nothing_to_stderr():
    err = stderr_of("""
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
