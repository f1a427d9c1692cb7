"""ProviderError: its reason is stored in journals and the warehouse and shown by the CLI and the UI."""

from __future__ import annotations

from musim.acquire.errors import ProviderError, RateLimited
from musim.redact import MASK, register_secret


def test_a_reason_that_quotes_a_credential_is_stored_masked():
    """A provider's error text quoting a URL with its password, a token or a registered secret (an API echoing the
    request) was kept as it came: in the journal, the warehouse's error column, the CLI's lines and the web page."""
    register_secret("s3cr3t-client-value")
    for error in (ProviderError("spotify", "GET https://user:hunter2@api.example.com/v1/x failed"),
                  ProviderError("deezer", "bad request: access_token=abc123def456 refused"),
                  RateLimited("spotify", "client s3cr3t-client-value is over its quota")):
        for said in (error.reason, str(error)):
            assert "hunter2" not in said and "abc123def456" not in said and "s3cr3t-client-value" not in said, said
            assert MASK in said
    plain = ProviderError("itunes", "HTTP 404: no such artist")
    assert (plain.reason, str(plain)) == ("HTTP 404: no such artist", "itunes: HTTP 404: no such artist")
