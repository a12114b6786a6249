"""Which URLs `http.fetch` may reach: the operator's `--allow-fetch` list and the address rule.

Strategy: nothing is reachable by default. Each `--allow-fetch` entry is one of
- `HOST` or `HOST:PORT`: a DNS name (`api.example.com`, or `*.example.com` for its
  subdomains) or an IP literal (`[::1]:8080` for IPv6), any port unless one is given;
- a CIDR range (`10.0.0.0/8`), which grants addresses only (see below).

A URL passes when its scheme is http or https and its host and port match a HOST entry.
Then its name is resolved *once* and every address it resolved to is checked: an address that
is not public (loopback, private, link-local such as the cloud metadata service
169.254.169.254, multicast, reserved, unspecified) is refused unless an entry names that very
address or a range holding it, so a public-looking name cannot be pointed (or re-pointed, DNS
rebinding) at the inside network. The one name that counts as naming its address is an exact
`localhost` entry (or `NAME.localhost`), which RFC 6761 reserves for loopback: `--allow-fetch
localhost:8080` reaches the loopback address it means, and nothing else. The caller connects to the address returned here, never
resolving again. Redirect targets go through the same check, hop by hop.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

_NAME = re.compile(r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?")


class PolicyError(ValueError):
    """An `--allow-fetch` entry that cannot be used (the message names it)."""


class Refused(Exception):
    """A URL the policy does not allow; the message says why and what to allow."""


@dataclass(frozen=True)
class _Entry:
    host: str            # lower-case name, "*.suffix", or a canonical IP literal
    port: int | None
    address: object      # ipaddress object when the host is an IP literal


def _parse_entry(text: str):
    raw = text.strip()
    if "/" in raw:
        try:
            return ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise PolicyError(f"{text!r}: not a HOST[:PORT] or an address range") from None
    host, port = raw, None
    if raw.startswith("["):
        end = raw.find("]")
        host, rest = raw[1:end], raw[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            raise PolicyError(f"{text!r}: bad bracketed IPv6 address")
        port = rest[1:] or None
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise PolicyError(f"{text!r}: bad port {port!r}")
        port = int(port)
    try:
        address = ipaddress.ip_address(host)
        return _Entry(str(address), port, address)
    except ValueError:
        pass
    if not _NAME.fullmatch(host) or len(host) > 253:
        raise PolicyError(f"{text!r}: not a host name, IP address or HOST:PORT")
    return _Entry(host.lower().rstrip("."), port, None)


def _public(address) -> bool:
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class Policy:
    """The parsed `--allow-fetch` list. `check(scheme, host, port)` gives the address to
    connect to or raises Refused."""

    def __init__(self, entries=()) -> None:
        parsed = [_parse_entry(e) for e in entries]
        self.hosts = [e for e in parsed if isinstance(e, _Entry)]
        self.ranges = [e for e in parsed if not isinstance(e, _Entry)]
        self.addresses = [(e.address, e.port) for e in self.hosts if e.address is not None]

    def _host_allowed(self, host: str, port: int) -> bool:
        for e in self.hosts:
            if e.port is not None and e.port != port:
                continue
            if e.host == host or (e.host.startswith("*.") and host.endswith(e.host[1:])):
                return True
        return False

    def _names_loopback(self, host: str, port: int) -> bool:
        """Whether an entry names `host` itself (no wildcard) and it is a `localhost` name:
        RFC 6761 reserves those for loopback, so no outside DNS answer can stand behind them
        and naming one is the operator's explicit allow of the loopback address it means."""
        return (host == "localhost" or host.endswith(".localhost")) and any(
            e.host == host and e.port in (None, port) for e in self.hosts)

    def _address_allowed(self, address, port: int, loopback_named: bool = False) -> bool:
        if _public(address) or (loopback_named and address.is_loopback):
            return True
        return (any(a == address and p in (None, port) for a, p in self.addresses)
                or any(address in r for r in self.ranges))

    def check(self, host: str, port: int, resolve=None) -> str:
        """The address to connect to for `host:port` (host lower-case, IPv6 unbracketed).

        Raises Refused when the host is not allowed, or resolves to an address that is not
        public and not explicitly allowed; OSError when it does not resolve."""
        try:
            literal = ipaddress.ip_address(host)
            host = str(literal)
        except ValueError:
            literal = None
        if not self._host_allowed(host, port):
            shown = f"[{host}]" if ":" in host else host
            raise Refused(f"{shown}:{port} is not allowed; the operator can allow it with "
                          f"--allow-fetch {shown} (or {shown}:{port})")
        if literal is not None:
            addresses = [literal]
        else:
            infos = (resolve or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
        loopback_named = literal is None and self._names_loopback(host, port)
        for address in addresses:
            if not self._address_allowed(address, port, loopback_named):
                kind = ("loopback" if address.is_loopback else "link-local" if address.is_link_local
                        else "private" if address.is_private else "non-public")
                raise Refused(f"{host} resolves to {address}, a {kind} address; the operator must "
                              f"allow that address explicitly (--allow-fetch {address})")
        if not addresses:
            raise OSError(f"{host} has no address")
        return str(addresses[0])
