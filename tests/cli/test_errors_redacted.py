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


def test_a_store_url_holding_a_secret_key_with_a_slash_is_hidden_in_every_part_an_error_quotes(monkeypatch, capsys):
    """MUSIM_OBJECT_STORE=s3://KEY:SECRET@bucket with an AWS secret key holding '/' is read as host 'KEY:abc' (the key
    up to its '/'): the error hid the URL's password but printed that host, its start; and s3://KEY@SECRET@bucket (':'
    mistyped) was kept whole as if it named a connection."""
    for store, shown in (("s3://AKIAEXAMPLE:wJalrXUt/K7MDENG+bPxRfiCY@bucket/p", "wJalrXUt"),
                         ("s3://AKIAEXAMPLE@wJalrXUtK7MDENG@bucket/p", "wJalrXUtK7MDENG")):
        monkeypatch.setenv("MUSIM_OBJECT_STORE", store)
        for argv in (["models", "train"], ["-v", "models", "train"]):  # it opens the store first
            assert cli.main(argv) == 2
            err = capsys.readouterr().err
            assert "musim: error: object store URL 's3://" in err and shown not in err, err
