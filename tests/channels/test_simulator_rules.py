"""The simulator's outcome rules and their compact form (channels/simulator_rules.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.channels.simulator_rules import (
    DEFAULT_RULES,
    Outcome,
    OutcomeRule,
    RuleSyntaxError,
    first_match,
    format_rules,
    parse_rule,
    parse_rules,
)


def test_default_rules_read_back_from_their_compact_form() -> None:
    assert parse_rules("*0=undeliv:1, *9=silent, *8=undeliv:6") == DEFAULT_RULES
    assert format_rules(DEFAULT_RULES) == "*0=undeliv:1, *9=silent, *8=undeliv:6"


@pytest.mark.parametrize(
    ("token", "rule"),
    [
        ("*0=undeliv:1", OutcomeRule("*0", Outcome.UNDELIV, 1)),
        ("*9=silent", OutcomeRule("*9", Outcome.SILENT)),
        ("7916*=deliver@30", OutcomeRule("7916*", Outcome.DELIVER, 0, 30.0)),
        ("*5=expire", OutcomeRule("*5", Outcome.EXPIRE)),
        ("*5=expire:27@0.5", OutcomeRule("*5", Outcome.EXPIRE, 27, 0.5)),
        ("*4=reject", OutcomeRule("*4", Outcome.REJECT)),
        ("*3=roaming", OutcomeRule("*3", Outcome.ROAMING)),
        ("*@unknown.example=undeliv:1", OutcomeRule("*@unknown.example", Outcome.UNDELIV, 1)),
        ("  *1 = UNDELIV : 240 @ 2  ", OutcomeRule("*1", Outcome.UNDELIV, 240, 2.0)),
        ("@bot_*=undeliv:13", OutcomeRule("@bot_*", Outcome.UNDELIV, 13)),
    ],
)
def test_each_rule_kind_parses(token: str, rule: OutcomeRule) -> None:
    assert parse_rule(token) == rule
    assert parse_rule(str(rule)) == rule


def test_empty_tokens_and_text_are_ignored() -> None:
    assert parse_rules("") == ()
    assert parse_rules(" *0=undeliv:1,\n , *9=silent, ") == DEFAULT_RULES[:2]


@pytest.mark.parametrize(
    ("text", "token", "problem"),
    [
        ("*0=undeliv:1, *9 silent", "*9 silent", "expected pattern=outcome"),
        ("=deliver", "=deliver", "empty pattern"),
        ("*0=bounce", "*0=bounce", "unknown outcome 'bounce'"),
        ("*0=undeliv", "*0=undeliv", "undeliv needs an err"),
        ("*0=undeliv:", "*0=undeliv:", "empty err"),
        ("*0=undeliv:x1", "*0=undeliv:x1", "err 'x1' is not a whole number"),
        ("*0=undeliv:-1", "*0=undeliv:-1", "is not a whole number"),
        ("*0=undeliv:256", "*0=undeliv:256", "not a delivery error code"),
        ("*0=undeliv:210", "*0=undeliv:210", "not a delivery error code"),
        ("*0=undeliv:200", "*0=undeliv:200", "not a delivery error code"),
        ("*0=deliver:1", "*0=deliver:1", "deliver takes no err"),
        ("*0=silent:6", "*0=silent:6", "silent takes no err"),
        ("*0=expire:200", "*0=expire:200", "not a MAP code"),
        ("*0=deliver@soon", "*0=deliver@soon", "delay 'soon' is not a number"),
        ("*0=deliver@-1", "*0=deliver@-1", "is not a number of seconds >= 0"),
        ("*0=deliver@inf", "*0=deliver@inf", "is not a number of seconds >= 0"),
        ("79 16*=deliver", "79 16*=deliver", "contains ' '"),
    ],
)
def test_parser_errors_name_the_offending_token(text: str, token: str, problem: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rules(text)
    assert caught.value.token == token
    assert problem in caught.value.problem
    assert repr(token) in str(caught.value)


def test_constructing_a_bad_rule_raises_value_error() -> None:
    with pytest.raises(ValueError, match="empty pattern"):
        OutcomeRule("", Outcome.DELIVER)
    with pytest.raises(ValueError, match="contains ','"):
        OutcomeRule("*0,*1", Outcome.DELIVER)
    with pytest.raises(ValueError, match="delay"):
        OutcomeRule("*", Outcome.DELIVER, delay_s=float("nan"))


def test_patterns_are_whole_recipient_globs_ignoring_case() -> None:
    rule = OutcomeRule("*@Fail.Example", Outcome.UNDELIV, 4)
    assert rule.matches("someone@fail.example")
    assert not rule.matches("someone@fail.example.org")
    assert OutcomeRule("7916???????", Outcome.DELIVER).matches("79161234567")
    assert not OutcomeRule("7916???????", Outcome.DELIVER).matches("791612345678")


def test_first_match_wins() -> None:
    rules = parse_rules("79161234560=deliver, *0=undeliv:1, 7916*=undeliv:6")
    assert first_match(rules, "79161234560") == rules[0]
    assert first_match(rules, "79161234570") == rules[1]
    assert first_match(rules, "79161234567") == rules[2]
    assert first_match(rules, "79261234567") is None


_PATTERNS = st.text(alphabet="0123456789*?@.abcXYZ_#-+", min_size=1, max_size=12)
_DELAYS = st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False)


@st.composite
def _rules(draw: st.DrawFn) -> OutcomeRule:
    outcome = draw(st.sampled_from(Outcome))
    err = 0
    if outcome is Outcome.UNDELIV:
        err = draw(st.sampled_from([1, 2, 6, 13, 99, 199, 220, 237, 240, 255]))
    elif outcome is Outcome.EXPIRE:
        err = draw(st.integers(0, 199))
    return OutcomeRule(draw(_PATTERNS), outcome, err, draw(_DELAYS))


@given(st.lists(_rules(), max_size=6))
def test_compact_form_round_trips(rules: list[OutcomeRule]) -> None:
    assert parse_rules(format_rules(rules)) == tuple(rules)
