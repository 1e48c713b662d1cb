import pytest

from gatewayd.sales.paycodes import classify_paycode, is_paycode


@pytest.mark.parametrize(
    ("code", "want"),
    [
        ("134567890123456789", "wechat"),  # 18 digits, prefix 13
        ("104567890123456789", "wechat"),
        ("154567890123456789", "wechat"),
        ("164567890123456789", None),  # prefix 16: neither
        ("13456789012345678", None),  # wechat prefix, 17 digits
        ("1345678901234567890", None),  # 19 digits
        ("2812345678901234", "alipay"),  # 16 digits
        ("281234567890123456", "alipay"),  # 18 digits
        ("301234567890123456789012", "alipay"),  # 24 digits
        ("3012345678901234567890123", None),  # 25 digits
        ("251234567890123", None),  # 15 digits
        ("311234567890123456", None),  # prefix 31
        ("241234567890123456", None),  # prefix 24
        ("6901234567892", None),  # an EAN-13
        ("28123456789012ab", None),
        ("２８１２３４５６７８９０１２３４", None),  # full-width digits are not ASCII
        ("", None),
        (" 281234567890123456\r\n", "alipay"),  # scanner suffix
    ],
)
def test_classify(code, want):
    assert classify_paycode(code) == want
    assert is_paycode(code) == (want is not None)
