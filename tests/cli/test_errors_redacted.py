"""An unexpected error's line, and its -v traceback, never carry a secret musim knows."""

from __future__ import annotations

from musim import cli, redact


def test_an_unexpected_error_and_its_traceback_are_redacted(monkeypatch, capsys):
    redact.register_secret("PLANTED-SECRET-7f3a")

    def boom(args):
        raise RuntimeError("s3fs said: http://user:PLANTED-SECRET-7f3a@127.0.0.1:9/bucket failed")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv: parser.parse_known_args(["dumps"])[0].__class__(
        verbose=argv[0] == "-v", width=60, func=boom))
    for argv in (["dumps"], ["-v", "dumps"]):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert "PLANTED-SECRET-7f3a" not in err and "RuntimeError" in err
    assert "Traceback" in err
