"""Downloads a provider's answer must not send inward: from a public host to a local or private address (the
machine's own network: its database, a cloud's metadata service)."""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse

import requests

__all__ = ["InwardURL", "check_inward", "local_host"]


class InwardURL(requests.exceptions.InvalidURL):
    """A download sent (by a redirect, or by the preview URL of an answer) from a public host to a local or private
    address (loopback, a private network, link-local such as a cloud's metadata service at 169.254.169.254)."""

    def __init__(self, url: str) -> None:
        self.host = urllib.parse.urlsplit(url).hostname or "?"
        super().__init__(f"{self.host} is a local or private address")


def local_host(host: str | None) -> bool:
    """Whether ``host`` (a name or an address) is, or resolves to, an address that is not on the public internet
    (loopback, private, link-local, reserved); ``False`` for a name that does not resolve (requests fails on it)."""
    if not host:
        return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return False
    return any(not ipaddress.ip_address(a.split("%", 1)[0]).is_global for a in addresses)


def check_inward(url: str, origin: str | None) -> None:
    """Raise :class:`InwardURL` when ``url`` goes to a local or private address and ``origin`` (the URL it came from:
    the page that redirected, the provider's API) is on a public one: a provider's answer or redirect must not make
    musim fetch from the machine's own network (its database, a cloud's metadata service). A service that is itself
    local (a test server, a mirror on the LAN) may send to local addresses."""
    if origin is None:
        return
    try:
        host, from_host = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(origin).hostname
    except ValueError:  # not a URL: requests refuses it
        return
    if host != from_host and local_host(host) and not local_host(from_host):
        raise InwardURL(url)
