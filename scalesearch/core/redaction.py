"""Passwords out of everything the tool writes or prints: storage URLs, recorded command lines, messages.

A storage URL may carry a password in its user info (``postgresql://user:SECRET@host/db``, also with an
empty user or an unencoded ``@``, ``:``, ``/``, ``?`` or ``#`` inside the password) or in its query string
(``?password=SECRET``). ``redact`` replaces each with ``***``; ``command_line`` does it to every argument
of a command line that is or holds a URL (``--storage URL`` and ``--storage=URL`` alike), so that the
command recorded in best.json and the reports, and the "Resume with:" line, never carry one.

When it cannot tell, it masks more rather than less: the user info ends at the *last* ``@`` (a password
may hold an unencoded ``@``, a host never does), so a URL whose query holds an ``@`` loses its host too.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from urllib.parse import unquote

MASK = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Query parameters whose value is a secret: password, sslpassword, passwd, pwd, secret, token, ...
_SECRET_PARAM = re.compile(r"(?i)([?&;][^=&;]*(?:pass|pwd|secret|token)[^=&;]*=)([^&;]*)")
STORAGE_FLAG = "--storage"  # the flag whose value is a storage URL, also when the URL lacks its scheme
# What a masked resume line adds: the command cannot be pasted as it is.
MASKED_NOTE = ("(the password is shown as ***: type it in again, or keep it out of the command line: "
               "PostgreSQL reads it from PGPASSWORD or ~/.pgpass)")


def _userinfo_password(url: str) -> tuple[int, int] | None:
    """Where the password of a URL's user info (or of a scheme-less ``user:password@host/db``) lies, as a
    (start, end) slice; None when the user info holds none."""
    m = _SCHEME.match(url)
    begin = m.end() if m else 0
    at = url.rfind("@", begin)
    if at < 0:
        return None
    colon = url.find(":", begin, at)
    if colon < 0 or any(c in url[begin:colon] for c in "/?#"):  # no password, or the '@' is in a path or query
        return None
    return colon + 1, at


def _secret_spans(url: str) -> list[tuple[int, int]]:
    """Every password slice of ``url``: the user info's and each secret query value's, all found in the URL as
    given (so that a password holding '?password=' or a query value holding '@' hides nothing from the other)."""
    spans = [m.span(2) for m in _SECRET_PARAM.finditer(url)]
    userinfo = _userinfo_password(url)
    if userinfo is not None:
        spans.append(userinfo)
    return sorted(spans)


def redact(url: str) -> str:
    """``url`` with every password it holds replaced by ``***`` (user info and query string; overlapping ones
    as one). A value with no password comes back unchanged; so does a redacted one."""
    merged: list[tuple[int, int]] = []
    for start, end in _secret_spans(url):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, pos = [], 0
    for start, end in merged:
        out += [url[pos:start], MASK]
        pos = end
    return "".join(out) + url[pos:]


def secrets_in(url: str) -> list[str]:
    """The passwords ``url`` holds, as written and percent-decoded, longest first (to scrub them from a
    driver's message, which may quote one without the URL around it)."""
    found = [url[start:end] for start, end in _secret_spans(url)]
    out = {s for value in found for s in (value, unquote(value)) if s and s != MASK}
    return sorted(out, key=len, reverse=True)


def redact_text(text: str, url: str | None = None) -> str:
    """``text`` (a message) with the passwords of every URL in it masked; with ``url``, also any password of
    ``url`` that the text quotes on its own. A URL in free text ends at white space."""
    if url:
        text = text.replace(url, redact(url))
        for secret in secrets_in(url):
            text = text.replace(secret, MASK)
    return re.sub(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", lambda m: redact(m.group(0)), text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """The arguments with every password masked: the value of ``--storage`` (in either form) and the URL part
    of any other argument that holds a URL."""
    out: list[str] = []
    storage_next = False
    for arg in argv:
        if storage_next:
            out.append(redact(arg))
        elif arg.startswith(STORAGE_FLAG + "="):
            out.append(STORAGE_FLAG + "=" + redact(arg[len(STORAGE_FLAG) + 1:]))
        elif (m := _SCHEME.search(arg)) is not None:
            out.append(arg[: m.start()] + redact(arg[m.start():]))
        else:
            out.append(arg)
        storage_next = arg == STORAGE_FLAG and not storage_next
    return out


def command_line(argv: Sequence[str], program: str = "scalesearch") -> str:
    """The shell command line of ``program argv``, passwords masked: what files record and messages show."""
    return " ".join([program, shlex.join(redact_argv(argv))]) if argv else program


def redact_command(command: str) -> str:
    """A recorded command line (a best.json written by an earlier version may hold a password) masked."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: mask it as text
        return redact_text(command)
    masked = redact_argv(words)
    return command if masked == words else shlex.join(masked)


def resume_text(argv: Sequence[str], program: str = "scalesearch") -> str:
    """The indented command a 'Resume with:' line shows, and a note when a password in it is masked."""
    shown = command_line(argv, program)
    masked = shown != " ".join([program, shlex.join(argv)]) if argv else False
    return f"  {shown}" + (f"\n{MASKED_NOTE}" if masked else "")
