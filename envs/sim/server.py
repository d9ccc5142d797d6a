"""``VirtualPhone``: a ``Phone`` served over adb's wire protocol on 127.0.0.1.

After ``start()``, ``adb connect <serial>`` makes it an ordinary device to the ``adb``
server and to adbutils::

    with VirtualPhone() as virtual:
        subprocess.run(["adb", "connect", virtual.serial])
        device = adbutils.AdbClient().device(virtual.serial)
        device.shell("input tap 540 1200")
"""

from __future__ import annotations

from types import TracebackType

from qvl_agent.envs.sim.adbd import AdbDaemon
from qvl_agent.envs.sim.phone import Phone, PhoneConfig

__all__ = ["VirtualPhone"]


class VirtualPhone:
    """A virtual phone and the adbd that serves it.

    Args:
        config: the phone's identity, profile and whether ADB Keyboard is installed.
        port: TCP port on 127.0.0.1; 0 picks a free one (never 5555-5585).

    Raises:
        ValueError: a port in 5555-5585, or a serial or model adb cannot carry.
    """

    def __init__(self, config: PhoneConfig | None = None, *, port: int = 0) -> None:
        self.phone = Phone(config)
        vendor = self.phone.profile.vendor
        self.daemon = AdbDaemon(self.phone.shell, port=port, serialno=self.phone.config.serialno,
                                model=self.phone.model, product=vendor.product,
                                device=vendor.device, files=self.phone.files)

    @property
    def port(self) -> int:
        return self.daemon.port

    @property
    def serial(self) -> str:
        """What ``adb connect`` and ``adb -s`` take: ``127.0.0.1:PORT``."""
        return self.daemon.serial

    def start(self) -> None:
        self.daemon.start()

    def stop(self) -> None:
        """Stop serving; safe to call twice. The phone's state stays readable."""
        self.daemon.stop()

    def __enter__(self) -> VirtualPhone:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
