"""E-mail-to-SMS grammars (protocols.md §2.1, §2.3, §2.4): recipients, the ``send@`` colon grammar
and free-form ``<phone>@`` mails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.domain.codes import RequestErrorCode
from smsgate.domain.email_grammar import (
    FORMAT_FLAGS,
    Email2SmsSettings,
    MailRecipient,
    RecipientKind,
    classify_recipient,
    free_form_params,
    parse_colon_body,
    subject_credentials,
)
from smsgate.domain.email_text import MailError, MailText

PHONE = "79161234567"

# --- recipients -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("send@smsgate.example", MailRecipient(RecipientKind.COLON)),
        ("SEND@Other.Domain", MailRecipient(RecipientKind.COLON)),
        (f"{PHONE}@x", MailRecipient(RecipientKind.PHONE, (PHONE,))),
        (f"+{PHONE}@x", MailRecipient(RecipientKind.PHONE, (f"+{PHONE}",))),
        ("1234567@x", MailRecipient(RecipientKind.PHONE, ("1234567",))),
        ("123456789012345@x", MailRecipient(RecipientKind.PHONE, ("123456789012345",))),
        (f"{PHONE}.79261234567@x", MailRecipient(RecipientKind.PHONE, (PHONE, "79261234567"))),
        ("123456@x", None),
        ("1234567890123456@x", None),
        ("sender@x", None),
        ("postmaster@x", None),
        (f"{PHONE}.@x", None),
        (f"{PHONE}x@x", None),
        ("send", None),
        ("<>", None),
    ],
)
def test_classify_recipient(address: str, expected: MailRecipient | None) -> None:
    assert classify_recipient(address) == expected


# --- colon grammar ------------------------------------------------------------------------------


def test_spec_example() -> None:
    fields = parse_colon_body("shop:Secret1::+60:1,1,ShopInfo:79991234567:Ваш заказ готов")
    assert (fields.login, fields.psw) == ("shop", "Secret1")
    assert fields.params == {
        "time": "+60",
        "translit": "1",
        "flash": "1",
        "sender": "ShopInfo",
        "phones": "79991234567",
        "mes": "Ваш заказ готов",
    }


def test_minimal_body_takes_every_default() -> None:
    fields = parse_colon_body(f"alice:pw::::{PHONE}:Hello")
    assert fields.params == {"phones": PHONE, "mes": "Hello"}


def test_fields_one_to_six_are_trimmed_and_the_seventh_kept() -> None:
    fields = parse_colon_body(f" alice : pw : 42 : 0 , 3 : 2 : {PHONE} :  a: b\nc:d ")
    assert (fields.login, fields.psw) == ("alice", "pw")
    assert fields.params == {
        "id": "42",
        "tz": "3",
        "translit": "2",
        "phones": PHONE,
        "mes": "  a: b\nc:d ",
    }


def test_empty_login_means_api_key() -> None:
    fields = parse_colon_body(f":sg_key::::{PHONE}:x")
    assert (fields.login, fields.psw) == ("", "sg_key")


def test_list_form() -> None:
    body = f"alice:pw:7::::{PHONE}:Hi Ivan\n79261234567:Hi Petr"
    fields = parse_colon_body(body)
    assert fields.params == {"id": "7", "list": f"{PHONE}:Hi Ivan\n79261234567:Hi Petr"}


@pytest.mark.parametrize("index", range(len(FORMAT_FLAGS)))
def test_every_format_index(index: int) -> None:
    fields = parse_colon_body(f"a:b:::,{index}:{PHONE}:line one\nline two")
    flag = FORMAT_FLAGS[index]
    type_params = {k: v for k, v in fields.params.items() if k not in ("phones", "mes", "subj")}
    assert type_params == ({} if flag is None else {flag[0]: flag[1]})


def test_format_table_is_codes_md_4_3() -> None:
    names = [None if f is None else f"{f[0]}={f[1]}" for f in FORMAT_FLAGS]
    assert names == [
        None,
        "flash=1",
        "push=1",
        "hlr=1",
        "bin=1",
        "bin=2",
        "ping=1",
        "mms=1",
        "mail=1",
        "call=1",
        "viber=1",
        "soc=1",
        "tg=1",
    ]


def test_mail_format_takes_the_first_line_as_subject() -> None:
    fields = parse_colon_body("a:b:::0,8:ivan@example.com:Order 7\nIt is ready")
    assert fields.params["subj"] == "Order 7"
    assert fields.params["mes"] == "It is ready"


@pytest.mark.parametrize("index", ["13", "99", "-1", "x", "1.0"])
def test_unknown_format_is_error_1(index: str) -> None:
    with pytest.raises(MailError) as caught:
        parse_colon_body(f"a:b:::0,{index}:{PHONE}:x")
    assert caught.value.code is RequestErrorCode.PARAMETERS


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("", {}),
        ("0", {"translit": "0"}),
        (",,Shop", {"sender": "Shop"}),
        (",,.", {"sender": "."}),
        (",,,1", {"test": "1"}),
        (",,,0", {}),
        ("1,0,,", {"translit": "1"}),
    ],
)
def test_option_sub_fields(options: str, expected: dict[str, str]) -> None:
    fields = parse_colon_body(f"a:b:::{options}:{PHONE}:x")
    assert {k: v for k, v in fields.params.items() if k not in ("phones", "mes")} == expected


@pytest.mark.parametrize("options", [",,,2", "0,0,S,1,extra"])
def test_bad_option_sub_fields_are_error_1(options: str) -> None:
    with pytest.raises(MailError):
        parse_colon_body(f"a:b:::{options}:{PHONE}:x")


@pytest.mark.parametrize(("when", "expected"), [("0", {}), ("", {}), ("0,5", {"tz": "5"})])
def test_time_zero_is_now(when: str, expected: dict[str, str]) -> None:
    fields = parse_colon_body(f"a:b::{when}::{PHONE}:x")
    assert {k: v for k, v in fields.params.items() if k not in ("phones", "mes")} == expected


@pytest.mark.parametrize("body", ["", "a:b:c:d:e:f", "no colons at all", "a:b"])
def test_fewer_than_seven_fields_is_error_1(body: str) -> None:
    with pytest.raises(MailError) as caught:
        parse_colon_body(body)
    assert caught.value.code is RequestErrorCode.PARAMETERS


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_mail_error(text: str) -> None:
    try:
        fields = parse_colon_body(text)
    except MailError:
        assert text.count(":") < 6 or "," in text
    else:
        assert ("phones" in fields.params) != ("list" in fields.params)


# --- free-form -------------------------------------------------------------------------------------

ONE = [MailRecipient(RecipientKind.PHONE, (PHONE,))]
DEFAULT = Email2SmsSettings()
ALLOW_ALL = Email2SmsSettings(
    allow_no_subject=True, allow_no_text=True, allow_no_return_path=True, phones_in_address=True
)


def free(
    text: str,
    subject: str = "alice:pw",
    settings: Email2SmsSettings = DEFAULT,
    *,
    recipients: list[MailRecipient] = ONE,
    authenticated: bool = False,
    null_sender: bool = False,
) -> dict[str, str]:
    return free_form_params(
        recipients,
        MailText(subject=subject, text=text),
        settings,
        authenticated=authenticated,
        null_sender=null_sender,
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("alice:secret", ("alice", "secret")),
        (" alice : se:cret ", ("alice", "se:cret")),
        (":sg_key", ("", "sg_key")),
        ("no credentials", ("", "")),
        ("", ("", "")),
    ],
)
def test_subject_credentials(subject: str, expected: tuple[str, str]) -> None:
    assert subject_credentials(subject) == expected


def test_body_is_the_text_and_rcpts_the_phones() -> None:
    recipients = [*ONE, MailRecipient(RecipientKind.PHONE, ("79261234567",))]
    assert free("Hello", recipients=recipients) == {
        "phones": f"{PHONE},79261234567",
        "mes": "Hello",
    }


def test_with_auth_the_subject_heads_the_text() -> None:
    assert free("body", "Subject line", authenticated=True)["mes"] == "Subject line\nbody"


def test_auth_without_subject_needs_mfl_1() -> None:
    with pytest.raises(MailError):
        free("body", "", authenticated=True)
    settings = Email2SmsSettings(allow_no_subject=True)
    assert free("body", "", settings, authenticated=True)["mes"] == "body"


def test_without_text_needs_mfl_2() -> None:
    with pytest.raises(MailError):
        free("")
    settings = Email2SmsSettings(allow_no_text=True)
    assert free("", "Only subject", settings, authenticated=True)["mes"] == "Only subject"


def test_null_sender_needs_mfl_3() -> None:
    with pytest.raises(MailError):
        free("x", null_sender=True)
    assert free("x", settings=ALLOW_ALL, null_sender=True)["mes"] == "x"


def test_translit_mfl_4() -> None:
    assert free("x", settings=Email2SmsSettings(translit=True))["translit"] == "1"
    assert "translit" not in free("x")


def test_phones_in_body_mfl_5() -> None:
    settings = Email2SmsSettings(phones_in_body=True)
    params = free("79261234567, +79031234567;79161111111\nHello\nthere", settings=settings)
    assert params == {
        "phones": f"{PHONE},79261234567,+79031234567,79161111111",
        "mes": "Hello\nthere",
    }
    # Not a line of numbers only: it is text.
    assert free("7926123456 is my number\nHi", settings=settings)["phones"] == PHONE
    # Without the switch, the line stays text.
    assert free("79261234567\nHi")["mes"] == "79261234567\nHi"


def test_several_numbers_in_one_address_need_mfl_6() -> None:
    joined = [MailRecipient(RecipientKind.PHONE, (PHONE, "79261234567"))]
    with pytest.raises(MailError):
        free("x", recipients=joined)
    settings = Email2SmsSettings(phones_in_address=True)
    assert free("x", settings=settings, recipients=joined)["phones"] == f"{PHONE},79261234567"


def test_disabled_mfl_0_is_error_6() -> None:
    with pytest.raises(MailError) as caught:
        free("x", settings=Email2SmsSettings(disabled=True))
    assert caught.value.code is RequestErrorCode.FORBIDDEN


def test_mlen_cuts_the_text() -> None:
    assert free("abcdefgh", settings=Email2SmsSettings(max_length=5))["mes"] == "abcde"
    subject_and_body = free("body", "Subj", Email2SmsSettings(max_length=6), authenticated=True)
    assert subject_and_body["mes"] == "Subj\nb"
