"""The unit file says what issue 2 asks of it; a typo here would only show on a real till."""

import configparser
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "gatewayd.service"


def load():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_hardening_and_notify():
    service = load()["Service"]
    assert service["Type"] == "notify"
    assert service["User"] == "gatewayd"
    assert service["SupplementaryGroups"] == "pos"
    assert service["StateDirectory"] == "gatewayd"
    assert service["ConfigurationDirectory"] == "gatewayd"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "true"
    assert service["NoNewPrivileges"] == "true"
    assert service["WatchdogSec"]
    assert "gatewayd" in service["ExecStart"] and service["ExecStart"].endswith(" run")
