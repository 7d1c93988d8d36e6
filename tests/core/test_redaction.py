"""Passwords never leave through a URL, a recorded command line or a message (scalesearch.core.redaction)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import assume, given, settings, strategies as st

from scalesearch.core.redaction import (
    MASK,
    MASKED_NOTE,
    command_line,
    redact,
    redact_argv,
    redact_command,
    redact_text,
    resume_text,
    secrets_in,
)

SPECIAL = "@:/?#%!$'()*+,"  # what an unencoded password may hold (no '=', '&', ';': those would start a query key)
PASSWORDS = st.text(st.sampled_from("abcXYZ0189" + SPECIAL), min_size=1, max_size=24)
QUERY_PASSWORDS = st.text(st.sampled_from("abcXYZ0189" + SPECIAL + "="), min_size=1, max_size=24)
NAMES = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_"), min_size=1, max_size=8)
SCHEMES = st.sampled_from(["postgresql", "postgresql+psycopg", "postgres", "mysql+pymysql", "sqlite"])
PORTS = st.sampled_from(["", ":5432", ":6543"])
QUERIES = st.sampled_from(["", "?sslmode=require", "?sslmode=require&application_name=grid"])


def leaked(secret: str, public: str, output: str, piece: int = 3) -> list[str]:
    """Every piece of ``secret`` (``piece`` characters or more) that ``output`` shows although ``public`` (the
    text around the secret, with the secret masked) does not hold it: what a reader could learn of it."""
    pieces = {secret[i:j] for i in range(len(secret)) for j in range(i + piece, len(secret) + 1)}
    return sorted(p for p in pieces if p in output and p not in public and p not in MASK)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://user:SECRET@db.example:5432/scale", "postgresql://user:***@db.example:5432/scale"),
    ("postgresql://:SECRET@db.example/scale", "postgresql://:***@db.example/scale"),  # empty user
    ("postgresql://user:SE@CR@ET@db.example/scale", "postgresql://user:***@db.example/scale"),  # unencoded @
    ("postgresql://user:a/b?c#d@host/db", "postgresql://user:***@host/db"),
    ("postgresql://user:S%40CRET@host/db", "postgresql://user:***@host/db"),  # percent-encoded
    ("postgresql://user@host/db?password=SECRET", "postgresql://user@host/db?password=***"),
    ("postgresql://host/db?sslmode=require&password=SECRET&x=1", "postgresql://host/db?sslmode=require&password=***&x=1"),
    ("postgresql://host/db?sslpassword=SECRET", "postgresql://host/db?sslpassword=***"),
    ("postgresql://u:SECRET@host/db?password=SECRET2", "postgresql://u:***@host/db?password=***"),
    ("user:SECRET@host/db", "user:***@host/db"),  # the scheme forgotten: still a password
    ("sqlite:////tmp/a@b/study.db", "sqlite:////tmp/a@b/study.db"),  # an '@' in a path is no password
    ("sqlite:////tmp/u:x@y/study.db", "sqlite:////tmp/u:x@y/study.db"),
    ("sqlite:///results/x/study.db", "sqlite:///results/x/study.db"),
    ("postgresql://user@host:5432/db", "postgresql://user@host:5432/db"),
    ("postgresql://user:***@host/db", "postgresql://user:***@host/db"),  # already redacted: unchanged
])
def test_redact_masks_every_url_form(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert redact(redact(url)) == shown


def test_a_query_value_holding_an_at_sign_hides_the_host_rather_than_show_a_piece_of_the_password() -> None:
    url = "postgresql://user@host:5432/db?password=pa@ss&x=1"
    assert "ss" not in redact(url).split("***")[1] and "pa" not in redact(url)
    url = "postgresql://u:a?password=b@h/db"  # a password that looks like a query: masked whole
    assert redact(url) == "postgresql://u:***"


@settings(max_examples=300, deadline=None)
@given(scheme=SCHEMES, user=st.one_of(st.just(""), NAMES), password=PASSWORDS, host=NAMES, port=PORTS, db=NAMES,
       query=QUERIES)
def test_a_user_info_password_of_any_characters_never_shows(scheme: str, user: str, password: str, host: str,
                                                             port: str, db: str, query: str) -> None:
    url = f"{scheme}://{user}:{password}@{host}{port}/{db}{query}"
    public = f"{scheme}://{user}:***@{host}{port}/{db}{query} 'grid --storage= error: cannot open study storage refused"
    assert redact(url) == f"{scheme}://{user}:{MASK}@{host}{port}/{db}{query}"
    for shown in (redact(url), command_line(["grid", "--storage", url]), command_line(["grid", f"--storage={url}"]),
                  redact_text(f"error: cannot open study storage {url}: refused")):
        assert not leaked(password, public, shown), shown


@settings(max_examples=300, deadline=None)
@given(scheme=SCHEMES, user=st.one_of(st.just(""), NAMES.map(lambda n: n + "@")), password=QUERY_PASSWORDS,
       host=NAMES, port=PORTS, db=NAMES, key=st.sampled_from(["password", "sslpassword", "PASSWORD"]),
       before=st.sampled_from(["", "sslmode=require&"]), after=st.sampled_from(["", "&application_name=x"]))
def test_a_query_password_of_any_characters_never_shows(scheme: str, user: str, password: str, host: str, port: str,
                                                        db: str, key: str, before: str, after: str) -> None:
    url = f"{scheme}://{user}{host}{port}/{db}?{before}{key}={password}{after}"
    public = f"{scheme}://{user}{host}{port}/{db}?{before}{key}=***{after} 'grid --storage= cannot open (refused)"
    for shown in (redact(url), command_line(["grid", "--storage", url]), command_line(["grid", f"--storage={url}"]),
                  redact_text(f"cannot open {url} (refused)")):
        assert not leaked(password, public, shown), shown
    if "@" not in password:  # nothing to confuse with a user info: the rest of the URL stays readable
        assert redact(url) == f"{scheme}://{user}{host}{port}/{db}?{before}{key}={MASK}{after}"


@settings(max_examples=100, deadline=None)
@given(password=PASSWORDS)
def test_a_driver_message_quoting_the_password_alone_is_scrubbed(password: str) -> None:
    url = f"postgresql://user:{password}@host/db"
    assume(len(password) >= 3)
    message = f'FATAL: password "{password}" rejected for {url}'
    public = 'postgresql://user:***@host/db FATAL: password "***" rejected for'
    assert not leaked(password, public, redact_text(message, url))


def test_the_recorded_command_line_masks_both_storage_forms_and_any_other_url() -> None:
    argv = ["grid", "--storage", "postgresql://u:SECRET@h/db", "--out", "a b", "--storage=mysql://:S2@h/db",
            "--data", "https://x:TOKEN@example.org/data.npz"]
    masked = redact_argv(argv)
    assert masked == ["grid", "--storage", "postgresql://u:***@h/db", "--out", "a b", "--storage=mysql://:***@h/db",
                      "--data", "https://x:***@example.org/data.npz"]
    line = command_line(argv)
    assert shlex.split(line)[1:] == masked and "SECRET" not in line and "S2" not in line and "TOKEN" not in line
    assert command_line(["grid", "--storage", "u:SECRET@h/db"]).endswith("--storage 'u:***@h/db'")
    assert command_line([]) == "scalesearch"


def test_a_recorded_command_of_an_earlier_version_is_masked_on_reading() -> None:
    assert redact_command("scalesearch grid --storage 'postgresql://u:p w@h/db' --out r") == \
        "scalesearch grid --storage 'postgresql://u:***@h/db' --out r"
    plain = "scalesearch grid --baseline tiny --alpha 1.0:2.0:0.2"
    assert redact_command(plain) == plain  # nothing to mask: the text stays as it was
    assert "SECRET" not in redact_command("scalesearch grid --storage 'postgresql://u:SECRET@h/db")  # bad quoting


def test_the_resume_line_says_when_a_password_was_masked() -> None:
    masked = resume_text(["grid", "--storage", "postgresql://u:SECRET@h/db"])
    assert masked.splitlines() == ["  scalesearch grid --storage 'postgresql://u:***@h/db'", MASKED_NOTE]
    assert resume_text(["grid", "--out", "r"]) == "  scalesearch grid --out r"


def test_secrets_in_finds_the_written_and_decoded_forms() -> None:
    assert secrets_in("postgresql://u:S%40CRET@h/db?password=two") == ["S%40CRET", "S@CRET", "two"]
    assert secrets_in("postgresql://u@h/db") == []
