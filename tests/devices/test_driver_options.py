"""Issue 17 item 8: every driver declares its options as a model; `gatewayd config check` and
start-up refuse an unknown option or a bad value naming the key, and docs/devices.md lists
every option from those models."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.registry import DRIVERS, driver_class
from gatewayd import config as config_mod

ROOT = Path(__file__).resolve().parents[2]
PRINTER = '[devices.printer]\nkind = "printer"\ndriver = "escpos"\ntransport = "tcp:127.0.0.1:9"\n'


def _config(tmp_path: Path, devices: str) -> Path:
    path = tmp_path / "gatewayd.toml"
    path.write_text(f'data_dir = "{tmp_path}"\n[server]\nlisten = "127.0.0.1:0"\n{devices}')
    return path


@pytest.mark.parametrize(("options", "key"), [
    ("{ widht = 42 }", "devices.printer.options.widht: unknown option"),
    ("{ width = 40 }", "devices.printer.options.width"),
    ('{ width = "48" }', "devices.printer.options.width"),
    ('{ completion = "eot" }', "devices.printer.options.completion"),
    ('{ encoding = "gb9999" }', "devices.printer.options.encoding"),
    ("{ poll_s = 0 }", "devices.printer.options.poll_s"),
])
def test_a_bad_option_is_refused_naming_the_key(tmp_path, options, key) -> None:
    with pytest.raises(config_mod.ConfigError, match=key.replace(".", r"\.")):
        config_mod.load(_config(tmp_path, PRINTER + f"options = {options}\n"))


@pytest.mark.parametrize(("table", "key"), [
    ('[devices.s]\nkind = "scale"\ndriver = "toledo8217"\ntransport = "serial:/dev/x"\n'
     'options = { unit = "stone" }\n', "devices.s.options.unit"),
    ('[devices.s]\nkind = "scale"\ndriver = "aclas"\ntransport = "serial:/dev/x"\n'
     'options = { mode = "push" }\n', "devices.s.options.mode"),
    ('[devices.w]\nkind = "scanner"\ndriver = "wedge"\ntransport = "evdev:/dev/x"\n'
     'options = { alt_codepage = "klingon" }\n', "devices.w.options.alt_codepage"),
    ('[devices.d]\nkind = "drawer"\ndriver = "serial"\ntransport = "serial:/dev/x"\n'
     'options = { pin = 3 }\n', "devices.d.options.pin"),
    ('[devices.v]\nkind = "display"\ndriver = "cd5220"\ntransport = "serial:/dev/x"\n'
     'options = { brightness = 9 }\n', "devices.v.options.brightness"),
    ('[devices.x]\nkind = "scale"\ndriver = "mettler"\ntransport = "serial:/dev/x"\n',
     "devices.x.driver"),
])
def test_every_driver_checks_its_options(tmp_path, table, key) -> None:
    with pytest.raises(config_mod.ConfigError, match=key.replace(".", r"\.")):
        config_mod.load(_config(tmp_path, table))


def test_every_driver_declares_an_options_model() -> None:
    for kind, driver in DRIVERS:
        model = driver_class(kind, driver).options_model
        assert model is not None and model.model_config.get("extra") == "forbid", (kind, driver)


def test_config_check_and_start_up_name_the_key(tmp_path) -> None:
    path = _config(tmp_path, PRINTER + "options = { widht = 42 }\n")
    for command in (["config", "check"], ["run"]):
        out = subprocess.run([sys.executable, "-m", "gatewayd", "--config", str(path), *command],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 78, (command, out.stderr)
        assert "devices.printer.options.widht: unknown option" in out.stderr
        assert "Traceback" not in out.stderr


def test_docs_list_every_option_from_the_models() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_device_options", ROOT / "tools" / "gen_device_options.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    doc = (ROOT / "docs" / "devices.md").read_text(encoding="utf-8")
    assert gen.updated(doc) == doc, "docs/devices.md is stale: python tools/gen_device_options.py"
    for kind, driver in DRIVERS:
        for name, field in driver_class(kind, driver).options_model.model_fields.items():
            assert field.exclude or f"| `{name}` |" in doc, (driver, name)
