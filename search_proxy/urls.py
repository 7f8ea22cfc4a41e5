"""The dedup key of a result URL: two spellings of one page give the same key."""

from __future__ import annotations

import re
import unicodedata

# Parameters that say who sent the visitor, never which page: dropped from the key.
# `utm_*` is matched by prefix. `from`, `ref` and `ref_src` can carry meaning on a few sites;
# for search results they are referrer tags often enough that merging wins.
TRACKING_PARAMS = frozenset(
    {
        "gclid",  # Google Ads
        "fbclid",  # Facebook
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "dclid",  # DoubleClick
        "igshid",  # Instagram
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_ga",  # Google Analytics cross-domain
        "_gl",
        "spm",  # Alibaba / Taobao
        "from",
        "ref",
        "ref_src",  # Twitter
    }
)
WEB_SCHEMES = frozenset({"http", "https"})

# RFC 3986 appendix B: matches every string, so parsing never raises.
_URI = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?", re.S)
_OPAQUE = re.compile(r"^[A-Za-z][A-Za-z0-9+-]*:(?!\d)")  # mailto:…, but not host:8080
_HOST_PORT = re.compile(r"(\[[^\]]*\]?|[^:]*)(?::(.*))?", re.S)
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# Escapes that stay escaped: decoding them would move a path, query or parameter boundary
# (`a%2Fb` is one path segment, `a/b` two), or they are the escape character itself.
_KEEP_ESCAPED = frozenset("/?#[]&=+;%")
_DEFAULT_PORTS = {"http": {80}, "https": {443}, "": {80, 443}}
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})  # IDNA label separators


def canonical_url(url: str) -> str:
    """The key under which spellings of one URL meet; it is not itself a URL to show.

    The scheme is left out (http and https are one result); the host is lowercased, IDN
    labels become Unicode and a leading `www.` and a default port go; the fragment and a
    trailing slash go; tracking parameters (`utm_*`, `TRACKING_PARAMS`) go and the rest are
    sorted by name, keeping the order of repeated names; percent-escapes are decoded except
    those of delimiters. Anything unparseable still gives a key, never an error.
    """
    text = url.strip()
    if not text:
        return ""
    scheme, authority, path, query = _split(text)
    if authority is None:
        return text  # mailto:, javascript: and the like: nothing to normalise
    key = _authority(authority, scheme) + _decode(path).rstrip("/")
    kept = _query(query)
    return f"{key}?{kept}" if kept else key


def is_web_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host: one a reader can open."""
    scheme, authority, _, _ = _split(url.strip())
    return scheme in WEB_SCHEMES and authority is not None and bool(_parts(authority)[1].strip())


def _split(text: str) -> tuple[str, str | None, str, str]:
    """Scheme (lowercase, '' if none), authority (None if none), path and query."""
    match = _URI.match(text)
    assert match is not None  # the pattern matches any string
    scheme, authority, path, query = match.groups()
    if authority is None and not _OPAQUE.match(text):
        return _split("//" + text)  # `example.com/a` or `host:8080/a`: a host without scheme
    return (scheme or "").lower(), authority, path, query or ""


def _parts(authority: str) -> tuple[str, str, str]:
    """`user@`, host and port of an authority, each '' when absent."""
    userinfo, at, host_port = authority.rpartition("@")
    match = _HOST_PORT.fullmatch(host_port)
    assert match is not None  # the pattern matches any string
    return userinfo + at, match[1], (match[2] or "").strip()


def _authority(authority: str, scheme: str) -> str:
    userinfo, host, port = _parts(authority)
    if port.isascii() and port.isdigit():
        number = int(port)
        port = "" if number in _DEFAULT_PORTS.get(scheme, _DEFAULT_PORTS[""]) else str(number)
    return f"{userinfo}{_host(host)}{':' if port else ''}{port.lower()}"


def _host(host: str) -> str:
    labels = [_label(label) for label in host.strip().translate(_DOTS).rstrip(".").split(".")]
    name = ".".join(labels)
    return name[4:] if name.startswith("www.") and len(name) > 4 else name


def _label(label: str) -> str:
    """Unicode form of one host label, whether it came as punycode or Unicode."""
    try:
        # Encoding applies nameprep (case fold, NFKC) and decoding undoes punycode, so
        # `xn--fsqu00a` and `例子` meet, as do `Bücher` and `bücher`.
        return label.lower().encode("idna").decode("idna")
    except UnicodeError:  # bad punycode, an over-long label: keep a plain folded form
        return unicodedata.normalize("NFKC", label).casefold()


def _query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, eq, value = piece.partition("=")
        name = _decode(name)
        lowered = name.lower()
        if lowered.startswith("utm_") or lowered in TRACKING_PARAMS:
            continue
        pairs.append((name, f"{eq}{_decode(value)}"))
    pairs.sort(key=lambda pair: pair[0])  # stable: repeated names keep their order
    return "&".join(name + rest for name, rest in pairs)


def _decode(part: str) -> str:
    """Decode the escapes that do not change meaning; write the others in upper case."""
    return _ESCAPES.sub(_decode_run, part)


def _decode_run(match: re.Match[str]) -> str:
    raw = bytes.fromhex(match[0].replace("%", ""))
    # Bytes that are not UTF-8 become lone surrogates here and are escaped again below.
    decoded = raw.decode("utf-8", errors="surrogateescape")
    return "".join(
        char if char not in _KEEP_ESCAPED and char.isprintable() else _escape(char)
        for char in decoded
    )


def _escape(char: str) -> str:
    data = char.encode("utf-8", errors="surrogateescape")
    return "".join(f"%{byte:02X}" for byte in data)
