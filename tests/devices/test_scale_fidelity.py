"""Scales as the real ones behave (issue 17 item 5 and the Toledo simulator of item 10):
the 8217's 7E1 line default, its echo mode as Odoo's IoT box probes it, a status answer for
every command, Aclas active-mode 16-byte frames, the CAS PD-II (ECR type 6) overload frame,
and a preset tare in the scale's own unit."""

from __future__ import annotations

import pytest

from drivers.config import DeviceConfig
from drivers.scale.aclas import AclasCodec, bcc
from drivers.scale.toledo8217 import CR, STX, Toledo8217Codec, Toledo8217Status
from drivers.sim.scale import AclasSim, Toledo8217Sim

# -- Toledo 8217 --------------------------------------------------------------------------------


def test_toledo_defaults_to_7e1_and_an_explicit_setting_wins() -> None:
    cfg = DeviceConfig(kind="scale", driver="toledo8217", transport="serial:/dev/pos/scale")
    assert (cfg.serial.baudrate, cfg.serial.bytesize, cfg.serial.parity) == (9600, 7, "E")
    cfg = DeviceConfig(kind="scale", driver="toledo8217", transport="serial:/dev/pos/scale",
                       serial={"bytesize": 8, "parity": "N"})
    assert (cfg.serial.bytesize, cfg.serial.parity) == (8, "N")
    other = DeviceConfig(kind="scale", driver="cas", transport="serial:/dev/pos/scale")
    assert (other.serial.bytesize, other.serial.parity) == (8, "N")


def test_toledo_sim_answers_odoos_probe_in_echo_mode() -> None:
    """Odoo's IoT box finds an 8217 scale by writing `Ehello` and reading 8 bytes, then `F`."""
    sim = Toledo8217Sim()
    sim.feed(b"Ehello")
    assert sim.read_output()[:8] == b"\x02E\rhello"
    sim.feed(b"F")
    assert sim.read_output() == b"\x02F\r"
    sim.set_weight(1234)
    sim.feed(b"W")
    assert sim.read_output() == b"\x0201.234\r"  # commands again after echo mode


@pytest.mark.parametrize("command", [b"B", b"X", b"?", b"w"])
def test_toledo_sim_answers_status_to_every_other_command(command: bytes) -> None:
    sim = Toledo8217Sim()
    sim.set_weight(500, stable=False)
    sim.feed(command)
    out = sim.read_output()
    assert out[:2] == bytes([STX, ord("?")]) and out[-1] == CR and len(out) == 4
    status = Toledo8217Status.from_byte(out[2])
    assert status.motion and out[2] & 0x40
    codec = Toledo8217Codec()
    (reading,) = codec.feed(out)
    assert not reading.stable and codec.garbage_bytes == 0


def test_toledo_preset_tare_is_in_the_scales_unit() -> None:
    assert Toledo8217Codec("kg").preset_tare(1250) == b"T01250\r"  # 01.250 kg
    # 1000 g = 2.20462 lb -> 02.205 lb (thousandths of a pound, half up)
    assert Toledo8217Codec("lb").preset_tare(1000) == b"T02205\r"
    with pytest.raises(ValueError):
        Toledo8217Codec("lb").preset_tare(50_000)  # 110.231 lb: more than five digits


# -- Aclas / CAS PD-II ---------------------------------------------------------------------------


def _frame(sta: bytes, sign: bytes, weight: bytes, unit: bytes = b"kg") -> bytes:
    body = b"\x01\x02" + sta + sign + weight + unit
    return body + bytes([bcc(body), 0x03, 0x04])


def test_aclas_active_frames_carry_flag2() -> None:
    codec = AclasCodec(active=True)
    tared = _frame(b"S", b" ", b"01.234") + bytes([0x20])  # Flag2 bit5: tare mode
    zero = _frame(b"S", b" ", b"00.000") + bytes([0x10])  # bit4: zero
    out = _frame(b"F", b" ", b"99.999") + bytes([0x40])  # bit6: out of range
    readings = codec.feed(tared + zero + out)
    assert [(r.grams, r.net, r.zero, r.over) for r in readings] == [
        (1234, True, False, False), (0, False, True, False), (0, False, False, True)]
    assert codec.garbage_bytes == 0 and codec.pending_bytes == 0
    # split anywhere, the same readings
    codec = AclasCodec(active=True)
    data = tared + zero + out
    split = [r for b in data for r in codec.feed(bytes([b]))]
    assert split == readings


def test_aclas_passive_frames_are_15_bytes() -> None:
    codec = AclasCodec()
    (reading,) = codec.feed(_frame(b"S", b" ", b"01.234"))  # no 16th byte to wait for
    assert reading.grams == 1234 and codec.pending_bytes == 0


def test_aclas_sim_sends_16_bytes_in_active_mode_and_15_passive() -> None:
    sim = AclasSim()
    sim.set_weight(800)
    sim.feed(b"\x11")
    assert len(sim.read_output()) == 15
    sim.feed(b"<PB>\t")
    sim.do_tare()
    sim.tick()
    frame = sim.read_output()
    assert len(frame) == 16 and frame[15] & 0x20  # tare mode
    (reading,) = AclasCodec(active=True).feed(frame)
    assert reading.net and reading.zero


@pytest.mark.parametrize("sta", [b"S", b"U", b"F"])
def test_cas_pd2_ecr_type6_overload_is_over_capacity(sta: bytes) -> None:
    """CAS PD-II in ECR type 6 (the Aclas frame) says overload with sign F, weight FFFFFF."""
    codec = AclasCodec()
    (reading,) = codec.feed(_frame(sta, b"F", b"FFFFFF"))
    assert reading.over and not reading.valid and codec.garbage_bytes == 0


async def test_aclas_driver_in_active_mode_reads_the_16_byte_stream(events) -> None:
    import trio

    from drivers.base import DeviceInfo
    from drivers.scale.device import AclasScale
    from drivers.sim.loopback import LoopbackTransport

    sim = AclasSim()
    dev = AclasScale(DeviceInfo("scale", "scale", "aclas", "loopback"), events.emit,
                     {"mode": "active"})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dev.run, LoopbackTransport(sim))
        sim.set_weight(1500)
        with trio.fail_after(10):
            while not (dev.latest and dev.latest.grams == 1500):
                await trio.sleep(0.05)
        assert sim.commands == ["PB"] and sim.active  # switched it to streaming, no polls
        await dev.tare()
        with trio.fail_after(10):
            while not (dev.latest and dev.latest.net):
                await trio.sleep(0.05)
        assert dev.latest.grams == 0 and dev.info.counters.get("garbage_bytes", 0) == 0
        nursery.cancel_scope.cancel()
