"""Prefixes, comments, binary and push payloads, length rules (domain/message_text.py).

Rules: protocols.md §1.2–1.4, http-api.md §2.1 and §2.3.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.codes import MessageType, RequestErrorCode
from smsgate.domain.message_text import (
    BinaryPayload,
    BinMode,
    MessagePrefix,
    PidDcs,
    PushPayload,
    TextError,
    check_mes_length,
    check_not_empty,
    is_voice_code_request,
    parse_bin,
    parse_pid_dcs,
    parse_push,
    split_comment,
    split_mail_subject,
    split_prefix,
)

# --- TextError ------------------------------------------------------------------------------------


def test_text_error_is_request_error_1() -> None:
    assert issubclass(TextError, ValueError)
    assert TextError("x").code is RequestErrorCode.PARAMETERS


# --- prefixes (protocols.md §1.2) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "message_type"),
    [
        ("__HLR__", MessageType.HLR),
        ("__PING__", MessageType.PING),
        ("__CALL__", MessageType.CALL),
        ("__VIBER__", MessageType.VIBER),
        ("__SOC__", MessageType.SOC),
        ("__MAIL__", MessageType.MAIL),
        ("__TG__", MessageType.TG),
    ],
)
def test_every_prefix_selects_its_type(prefix: str, message_type: MessageType) -> None:
    assert split_prefix(prefix + "Hello") == (message_type, "Hello")
    assert split_prefix(prefix) == (message_type, "")
    assert {member.value: member.message_type for member in MessagePrefix}[prefix] is message_type


def test_prefix_table_is_complete() -> None:
    assert len(MessagePrefix) == 7


@pytest.mark.parametrize(
    "mes",
    [
        "",
        "Hello",
        " __HLR__",  # nothing may precede it, not even whitespace
        "\n__HLR__",
        "x__VIBER__",
        "__hlr__ text",  # case-sensitive
        "__Viber__",
        "__SMS__ text",  # not a prefix
        "_HLR_",
        "__HLR_",
    ],
)
def test_no_prefix(mes: str) -> None:
    assert split_prefix(mes) == (None, mes)


def test_only_one_prefix_is_recognised() -> None:
    assert split_prefix("__VIBER____TG__hi") == (MessageType.VIBER, "__TG__hi")
    assert split_prefix("__HLR____HLR__") == (MessageType.HLR, "__HLR__")


def test_prefix_keeps_the_rest_exactly() -> None:
    assert split_prefix("__TG__ hello\n") == (MessageType.TG, " hello\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Subject\nBody\nmore", ("Subject", "Body\nmore")),
        ("Subject\r\nBody", ("Subject", "Body")),
        ("Only subject", ("Only subject", "")),
        ("", ("", "")),
        ("\nBody", ("", "Body")),
    ],
)
def test_mail_subject_is_the_first_line(text: str, expected: tuple[str, str]) -> None:
    assert split_mail_subject(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("code", True), ("Code", False), ("code ", False)])
def test_voice_code_request(text: str, expected: bool) -> None:
    assert is_voice_code_request(text) is expected


# --- comments (protocols.md §1.3) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mes", "expected"),
    [
        ("Hello", ("Hello", None)),
        ("Hello\n~~~\nnote", ("Hello", "note")),
        ("Hello\r\n~~~\r\nnote", ("Hello", "note")),
        ("Hello\n~~~\r\nnote", ("Hello", "note")),
        ("Hello\r\n~~~\nnote", ("Hello", "note")),
        ("Hello\n~~~", ("Hello", "")),
        ("Hello\n~~~\n", ("Hello", "")),
        ("~~~\nnote", ("", "note")),  # empty message: the caller rejects it
        ("~~~", ("", "")),
        ("Hello\n\n~~~\nnote", ("Hello\n", "note")),  # only one line break goes
        ("Hello\n~~~\n\nnote\n", ("Hello", "\nnote\n")),
        ("a\n~~~\nb\n~~~\nc", ("a", "b\n~~~\nc")),  # first occurrence only
        ("Hello ~~~ note", ("Hello ~~~ note", None)),
        ("Hello\n~~~~\nnote", ("Hello\n~~~~\nnote", None)),
        ("Hello\n ~~~\nnote", ("Hello\n ~~~\nnote", None)),
        ("Hello\n~~~ \nnote", ("Hello\n~~~ \nnote", None)),
        ("Hello\r~~~\rnote", ("Hello\r~~~\rnote", None)),  # a lone CR is not a line end
        ("~~~note", ("~~~note", None)),
        ("Line 1\nLine 2\n~~~\nc1\nc2", ("Line 1\nLine 2", "c1\nc2")),
    ],
)
def test_split_comment_table(mes: str, expected: tuple[str, str | None]) -> None:
    assert split_comment(mes) == expected


def test_comment_is_truncated_to_1000_characters() -> None:
    text, comment = split_comment("Hi\n~~~\n" + "ж" * 1500)
    assert text == "Hi"
    assert comment == "ж" * 1000


no_tilde_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="~"))


@given(no_tilde_text, st.text(max_size=1000), st.sampled_from(["\n", "\r\n"]))
def test_split_comment_recovers_text_and_comment(text: str, comment: str, line_end: str) -> None:
    text = text.rstrip("\r")  # a CR before the separator's LF belongs to the line break
    mes = text + line_end + "~~~" + line_end + comment
    assert split_comment(mes) == (text, comment)


@given(no_tilde_text)
def test_text_without_separator_is_unchanged(mes: str) -> None:
    assert split_comment(mes) == (mes, None)


# --- mes length (http-api.md §2.1) ----------------------------------------------------------------


def test_mes_length_limit_is_1000_characters() -> None:
    check_mes_length("я" * 1000)
    with pytest.raises(TextError, match="1001"):
        check_mes_length("я" * 1001)


def test_mail_length_limit_is_65536_characters() -> None:
    check_mes_length("a" * 65536, mail=True)
    with pytest.raises(TextError):
        check_mes_length("a" * 65537, mail=True)


def test_empty_text_is_rejected() -> None:
    check_not_empty("x")
    with pytest.raises(TextError, match="empty"):
        check_not_empty("")


# --- binary messages (protocols.md §1.4) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "mode", "udh", "payload"),
    [
        (b"\x00ABC", BinMode.RAW, b"", b"ABC"),
        (b"\x05\x00\x03\x2a\x02\x01data", 1, b"\x05\x00\x03\x2a\x02\x01", b"data"),
        (b"00414243", BinMode.HEX, b"", b"ABC"),
        (b"0041 42\t43\r\n", 2, b"", b"ABC"),  # whitespace anywhere is ignored
        (b"0 04 14 2 43", 2, b"", b"ABC"),  # even inside an octet
        (b"0500032A0201DEADbeef", 2, b"\x05\x00\x03\x2a\x02\x01", b"\xde\xad\xbe\xef"),
        (b"0100", 2, b"\x01\x00", b""),  # the UDH may take everything
    ],
)
def test_parse_bin(raw: bytes, mode: int, udh: bytes, payload: bytes) -> None:
    result = parse_bin(raw, mode, None)
    assert result == BinaryPayload(udh, payload, 0x00, 0x04, None)
    assert result.udhi is bool(udh)


@pytest.mark.parametrize(
    ("raw", "mode", "match"),
    [
        (b"", 1, "empty"),
        (b"", 2, "empty"),
        (b"  \n", 2, "empty"),
        (b"00", 2, "no octets"),  # the length octet alone: an empty message (protocols.md §1.3)
        (b"\x00", 1, "no octets"),
        (b"0", 2, "odd"),
        (b"004", 2, "odd"),
        (b"00zz", 2, "hexadecimal"),
        (b"0x41", 2, "hexadecimal"),
        (b"00\xd0\xb6", 2, "hexadecimal"),
        (b"\x05\x00\x03", 1, "UDH length 5"),
        (b"\x00" + b"A" * 141, 1, "141 octets"),
        (b"\x05" + b"A" * 140, 1, "141 octets"),
        (b"00" + b"41" * 141, 2, "141 octets"),
        (b"\x00A", 3, "bin must be 1 or 2"),
        (b"\x00A", 0, "bin must be 1 or 2"),
    ],
)
def test_parse_bin_errors(raw: bytes, mode: int, match: str) -> None:
    with pytest.raises(TextError, match=match):
        parse_bin(raw, mode, None)


def test_bin_limit_is_140_octets_of_udh_plus_payload() -> None:
    assert len(parse_bin(b"\x00" + b"A" * 140, 1, None).payload) == 140  # 00 is dropped
    result = parse_bin(b"\x05" + b"U" * 5 + b"A" * 134, 1, None)
    assert len(result.udh) + len(result.payload) == 140


@pytest.mark.parametrize(
    ("tail", "pid", "dcs"),
    [
        ("pid: 64, dcs: 245", 64, 245),
        ("pid: 0x40, dcs: 0xF5", 0x40, 0xF5),
        ("PID: 0X7f, DCS: 0xf6", 0x7F, 0xF6),
        ("dcs: 8, pid: 1", 1, 8),
        ("pid:1,dcs:2", 1, 2),
        ("  pid : 1 ,  dcs : 2  \n", 1, 2),
        ("pid: 65", 65, 0x04),
        ("dcs: 0xF6", 0, 0xF6),
        ("pid: 0, dcs: 0", 0, 0),
        ("pid: 255, dcs: 255", 255, 255),
        ("pid: 007", 7, 0x04),
    ],
)
def test_parse_bin_pid_dcs(tail: str, pid: int, dcs: int) -> None:
    assert parse_bin(b"\x00A", 1, tail) == BinaryPayload(b"", b"A", pid, dcs, None)
    assert parse_pid_dcs(tail) == PidDcs(pid, dcs)


@pytest.mark.parametrize(
    "tail",
    [
        "",
        "just a note",
        "pid 5",
        "pid: 5, dcs: 6, extra",
        "pid: 5; dcs: 6",
        "pid: 1, dcs: 2, pid: 3",
        "note: pid: 5",
        "x" * 1500,
    ],
)
def test_other_text_after_separator_is_a_comment(tail: str) -> None:
    result = parse_bin(b"\x00A", 1, tail)
    assert (result.pid, result.dcs) == (0, 0x04)
    assert result.comment == tail[:1000]
    assert parse_pid_dcs(tail) is None


@pytest.mark.parametrize(
    ("tail", "match"),
    [
        ("pid: 256", "0..255"),
        ("dcs: 0x100", "0..255"),
        ("pid: -1", "decimal or 0x hex"),
        ("pid: 0x", "decimal or 0x hex"),
        ("pid: ", "decimal or 0x hex"),
        ("dcs: 1e3", "decimal or 0x hex"),
        ("pid: 1, pid: 2", "twice"),
        ("DCS: 1, dcs: 2", "twice"),
    ],
)
def test_malformed_pid_dcs_is_an_error(tail: str, match: str) -> None:
    with pytest.raises(TextError, match=match):
        parse_bin(b"\x00A", 1, tail)


def test_bin_1_comment_split_through_latin_1() -> None:
    raw = b"\x00\xff\x0a~\x0d\n~~~\npid: 0x40"
    text, tail = split_comment(raw.decode("latin-1"))
    result = parse_bin(text.encode("latin-1"), BinMode.RAW, tail)
    assert result == BinaryPayload(b"", b"\xff\n~", 0x40, 0x04)


@given(st.binary(min_size=1, max_size=141))
def test_hex_and_raw_forms_agree(octets: bytes) -> None:
    spaced = " ".join(f"{octet:02X}" for octet in octets).encode("ascii")
    try:
        raw = parse_bin(octets, 1, None)
    except TextError:
        with pytest.raises(TextError):
            parse_bin(spaced, 2, None)
        return
    assert parse_bin(octets.hex().encode("ascii"), 2, None) == raw
    assert parse_bin(spaced, 2, None) == raw
    assert raw.udh + raw.payload == (octets if octets[0] else octets[1:])


@given(st.binary(max_size=300), st.sampled_from([1, 2]))
def test_arbitrary_input_raises_only_text_error(raw: bytes, mode: int) -> None:
    try:
        result = parse_bin(raw, mode, None)
    except TextError:
        return
    assert len(result.udh) + len(result.payload) <= 140


@given(st.integers(0, 255), st.integers(0, 255), st.booleans(), st.booleans())
def test_pid_dcs_round_trip(pid: int, dcs: int, pid_hex: bool, dcs_first: bool) -> None:
    pid_text = f"pid: {pid:#x}" if pid_hex else f"PID: {pid}"
    dcs_text = f"dcs: {dcs:#04X}".replace("0X", "0x")
    items = [dcs_text, pid_text] if dcs_first else [pid_text, dcs_text]
    assert parse_pid_dcs(", ".join(items)) == PidDcs(pid, dcs)


# --- WAP push (protocols.md §1.1, http-api.md §2.3) -----------------------------------------------


@pytest.mark.parametrize(
    ("mes", "expected"),
    [
        ("http://example.com/a\nOpen me", PushPayload("http://example.com/a", "Open me")),
        ("https://example.com\r\nTitle", PushPayload("https://example.com", "Title")),
        ("https://example.com", PushPayload("https://example.com", "")),
        ("https://e.com\nTwo\nlines", PushPayload("https://e.com", "Two\nlines")),
        ("https://e.com\nПривет", PushPayload("https://e.com", "Привет")),
    ],
)
def test_parse_push(mes: str, expected: PushPayload) -> None:
    assert parse_push(mes) == expected


def test_push_limit_is_120_utf8_bytes_of_url_plus_title() -> None:
    url = "https://example.com/"  # 20 bytes
    assert parse_push(url + "\n" + "a" * 100).title == "a" * 100
    with pytest.raises(TextError, match="121 UTF-8 bytes"):
        parse_push(url + "\n" + "a" * 101)
    assert parse_push(url + "\n" + "я" * 50).title == "я" * 50  # 100 bytes
    with pytest.raises(TextError, match="122 UTF-8 bytes"):
        parse_push(url + "\n" + "я" * 51)


@pytest.mark.parametrize("mes", ["", "\nTitle", "http://a b\nTitle", " http://a\nTitle"])
def test_push_needs_a_url_line(mes: str) -> None:
    with pytest.raises(TextError, match="URL"):
        parse_push(mes)
