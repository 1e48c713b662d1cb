import pytest

from gatewayd.sales.barcodes import (
    ScaleLabel,
    barcode_kind,
    compile_layout,
    ean8_check_digit,
    ean13_check_digit,
    gtin_check_digit,
    is_scale_prefix,
    is_valid_gtin,
    normalize_gtin,
    parse_scale_label,
    price_check_digit,
    upca_check_digit,
)


def with_check(body: str) -> str:
    return body + str(gtin_check_digit(body))


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("4006381333931", "ean13"),
        ("9780964092303", "ean13"),
        ("6901234567892", "ean13"),
        ("96385074", "ean8"),
        ("036000241457", "upca"),
        ("4006381333932", None),  # wrong check digit
        ("036000241458", None),
        ("40063813339", None),  # 11 digits
        ("400638133393a", None),
        ("", None),
    ],
)
def test_barcode_kind(code, kind):
    assert barcode_kind(code) == kind


def test_check_digits():
    assert ean13_check_digit("400638133393") == 1
    assert ean8_check_digit("9638507") == 4
    assert upca_check_digit("03600024145") == 7
    with pytest.raises(ValueError):
        ean13_check_digit("12345")
    with pytest.raises(ValueError):
        gtin_check_digit("12a4")


def test_every_single_digit_error_is_caught():
    code = "4006381333931"
    for pos in range(13):
        for d in "0123456789":
            if d != code[pos]:
                assert not is_valid_gtin(code[:pos] + d + code[pos + 1 :])


def test_normalize_gtin():
    assert normalize_gtin("036000241457") == "0036000241457"
    assert is_valid_gtin(normalize_gtin("036000241457"))
    assert normalize_gtin("4006381333931") == "4006381333931"
    assert normalize_gtin("96385074") == "96385074"


def test_price_check_digit_gs1_examples():
    # the worked examples of GS1 General Specifications §7.9.3 / §7.9.4
    assert price_check_digit("2875") == 9
    assert price_check_digit("14685") == 6
    with pytest.raises(ValueError):
        price_check_digit("123")


WEIGHT = "20{I:5}{W:5}C"
PRICE = "2{I:6}{P:5}C"
PRICE_V = "2{I:5}{V}{P:5}C"


def test_weight_label():
    code = with_check("20" + "12345" + "01250")
    assert is_scale_prefix(code)
    assert parse_scale_label(code, [WEIGHT]) == ScaleLabel("12345", 1250, None)
    plu, grams, price = parse_scale_label(code, [WEIGHT])
    assert (plu, grams, price) == ("12345", 1250, None)


def test_price_label_keeps_leading_zeros():
    code = with_check("2" + "001234" + "02599")
    assert parse_scale_label(code, [PRICE]) == ScaleLabel("001234", None, 2599)


def test_bad_check_digit_or_prefix_is_no_match():
    good = with_check("20" + "12345" + "01250")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert parse_scale_label(bad, [WEIGHT]) is None
    other_prefix = with_check("21" + "12345" + "01250")
    assert parse_scale_label(other_prefix, [WEIGHT]) is None
    assert parse_scale_label("6901234567892", [WEIGHT, PRICE]) is None  # a normal product
    assert parse_scale_label(good[:-1], [WEIGHT]) is None  # wrong length


def test_layouts_tried_in_order():
    code = with_check("2" + "123456" + "01999")
    # a weight layout with a wildcard second digit also fits; the first matching layout wins
    assert parse_scale_label(code, ["2{X:1}{I:5}{W:5}C", PRICE]) == ScaleLabel("23456", 1999, None)
    assert parse_scale_label(code, [PRICE, "2{X:1}{I:5}{W:5}C"]) == ScaleLabel("123456", None, 1999)


def test_internal_price_check_digit():
    body = "2" + "12345" + str(price_check_digit("14685")) + "14685"
    code = with_check(body)
    assert parse_scale_label(code, [PRICE_V]) == ScaleLabel("12345", None, 14685)
    wrong_v = (price_check_digit("14685") + 1) % 10
    code2 = with_check("2" + "12345" + str(wrong_v) + "14685")
    assert parse_scale_label(code2, [PRICE_V]) is None


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("20{W:5}{P:5}C", "item code"),
        ("20{I:5}12345C", "weight"),
        ("20{I:5}{W:5}", "must end with the check digit"),
        ("20{I:5}{W:3}C", "covers 11 digits"),
        ("20{I:5}{Q:5}C", "unexpected"),
        ("2{I:5}{V}{P:6}C", "4- or 5-digit"),
        ("2{I:3}{I:2}{W:5}1C", "more than once"),
    ],
)
def test_layout_errors(layout, message):
    with pytest.raises(ValueError, match=message):
        compile_layout(layout)


def test_twelve_position_layout_is_upca_length():
    # "2{I:5}{W:5}C" covers 12 positions: it reads UPC-A length codes, never an EAN-13
    assert compile_layout("2{I:5}{W:5}C").length == 12
    ean13 = with_check("20" + "12345" + "01250")
    assert parse_scale_label(ean13, ["2{I:5}{W:5}C"]) is None
    upca = with_check("2" + "12345" + "01250")
    assert parse_scale_label(upca, ["2{I:5}{W:5}C"]) == ScaleLabel("12345", 1250, None)
