"""Reading the text of a mail (protocols.md §2.2): MIME, transfer encodings, charsets, HTML,
``[text]`` wrapping, RFC 2047 subjects."""

from __future__ import annotations

import base64
import contextlib
import quopri
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.email_text import (
    MailError,
    decode_subject,
    read_mail,
    strip_html,
    unwrap_text,
)

RUSSIAN = "Ваш заказ готов"


def raw(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode("ascii") + b"\r\n\r\n" + body


def test_plain_text_without_charset_is_koi8_r() -> None:
    mail = read_mail(raw("Subject: hi", RUSSIAN.encode("koi8-r")))
    assert mail == read_mail(raw("Subject: hi\nContent-Type: text/plain", RUSSIAN.encode("koi8-r")))
    assert (mail.subject, mail.text) == ("hi", RUSSIAN)


@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", "koi8-r", "iso-8859-5"])
def test_declared_charset_is_used(charset: str) -> None:
    headers = f"Content-Type: text/plain; charset={charset}"
    assert read_mail(raw(headers, RUSSIAN.encode(charset))).text == RUSSIAN


def test_quoted_printable_and_base64_bodies() -> None:
    qp = quopri.encodestring(RUSSIAN.encode("utf-8"))
    b64 = base64.encodebytes(RUSSIAN.encode("koi8-r"))
    common = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "
    assert read_mail(raw(common + "quoted-printable", qp)).text == RUSSIAN
    koi = "Content-Type: text/plain\nContent-Transfer-Encoding: base64"
    assert read_mail(raw(koi, b64)).text == RUSSIAN


def test_multipart_uses_the_first_text_plain_part_and_skips_attachments() -> None:
    message = MIMEMultipart("mixed")
    attachment = MIMEText("not this", "plain", "utf-8")
    attachment.add_header("Content-Disposition", "attachment", filename="a.txt")
    message.attach(attachment)
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("<b>html</b>", "html", "utf-8"))
    alternative.attach(MIMEText(RUSSIAN, "plain", "utf-8"))
    alternative.attach(MIMEText("second", "plain", "utf-8"))
    message.attach(alternative)
    message.attach(MIMEApplication(b"\x00\x01", Name="x.bin"))
    assert read_mail(message.as_bytes()).text == RUSSIAN


def test_html_only_mail_is_stripped_of_tags() -> None:
    message = MIMEMultipart("alternative")
    html = (
        "<html><head><title>T</title><style>p {}</style></head><body>"
        "<p>Hello&nbsp;&amp; <b>welcome</b></p>\n  <p>line   two<br>three</p>"
        "<script>alert(1)</script></body></html>"
    )
    message.attach(MIMEText(html, "html", "utf-8"))
    # &nbsp; is white space like any other (and would cost UCS-2 in an SMS).
    assert read_mail(message.as_bytes()).text == "Hello & welcome\nline two\nthree"


def test_strip_html_collapses_blank_lines() -> None:
    assert strip_html("<p>a</p><p></p><p></p><div>b</div>") == "a\n\nb"


def test_no_text_part_gives_empty_text() -> None:
    message = MIMEMultipart("mixed")
    message.attach(MIMEApplication(b"data"))
    assert read_mail(message.as_bytes()).text == ""


def test_crlf_becomes_lf_and_whitespace_is_trimmed() -> None:
    assert read_mail(raw("Subject: x", b"  one\r\ntwo \r\n\r\n")).text == "one\ntwo"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("before [text] inside [/text] after", "inside"),
        ("[text]a[/text][text]b[/text]", "a"),
        ("no closing [text] here", "no closing [text] here"),
        ("[/text] before [text]x[/text]", "x"),
        ("  plain  ", "plain"),
        ("[text]\n multi\nline \n[/text]", "multi\nline"),
    ],
)
def test_text_wrapping(text: str, expected: str) -> None:
    assert unwrap_text(text) == expected


def test_text_wrapping_inside_a_mail() -> None:
    body = "Signature junk\n[text]login:psw:::::79161234567:Hi[/text]\n-- \nsent from phone"
    assert read_mail(raw("Subject: x", body.encode())).text == "login:psw:::::79161234567:Hi"


def test_unknown_charset_is_error_1() -> None:
    with pytest.raises(MailError) as caught:
        read_mail(raw("Content-Type: text/plain; charset=x-nonsense", b"abc"))
    assert caught.value.code is RequestErrorCode.PARAMETERS


def test_invalid_octets_for_the_charset_are_error_1() -> None:
    with pytest.raises(MailError):
        read_mail(raw("Content-Type: text/plain; charset=utf-8", b"\xff\xfe"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("=?utf-8?b?0J/RgNC40LLQtdGC?= world", "Привет world"),
        ("=?koi8-r?q?=F0=D2=C9=D7=C5=D4?=", "Привет"),
        ("alice:secret", "alice:secret"),
        ("=?x-unknown?q?abc?=", "abc"),
    ],
)
def test_subject_is_decoded_per_rfc_2047(header: str, expected: str) -> None:
    assert read_mail(raw(f"Subject: {header}", b"x")).subject == expected


def test_raw_8bit_subject_is_utf8_or_koi8_r() -> None:
    for octets in ("Привет".encode(), "Привет".encode("koi8-r")):
        assert read_mail(b"Subject: " + octets + b"\r\n\r\nx").subject == "Привет"


def test_subject_from_a_header_object() -> None:
    assert decode_subject(Header("Привет", "utf-8")) == "Привет"
    assert decode_subject(None) == ""


@given(st.binary(max_size=2000))
def test_arbitrary_octets_either_read_or_raise_mail_error(data: bytes) -> None:
    with contextlib.suppress(MailError):
        read_mail(data)
