"""A simulated node's kernel ring buffer: what `talosctl dmesg` reads from /dev/kmsg.

Each boot starts a new buffer (a reboot, and the kexec after an install, clear it): the kernel's own boot lines,
sized from the VM (its CPUs, RAM, disks and NIC), then what Talos writes to /dev/kmsg as it goes, prefixed
`[talos]` with facility `user` and priority `warning` (machined's logger), as the node lives it in the simulator:
the maintenance service and its address, apply-config, the install sequence, the boot sequence's phases, each
service event (`service[etcd](Running): Health check successful`), etcd waiting for the bootstrap, the bootstrap
request, the etcd join, API reboots. Timestamps are the boot time plus the monotonic clock, in the lab's time.

Texts: internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go (`phase %s (%s): %d tasks(s)`, `task %s
(%s): starting|done, %s`), v1alpha1_sequencer.go (the phases), v1alpha1_sequencer_tasks.go (`installing Talos to
disk %s`, `install successful`, `memory size is %d MiB`), system/service_runner.go (`service[%s](%s): %s`),
system/services/etcd.go (the bootstrap hint, `successfully promoted etcd member`), server/v1alpha1 (`bootstrap
request received`, `apply config request: mode %s`, `reboot via API received. actor id: %s`), controllers/config
(`entering maintenance service`), controllers/runtime/maintenance_service.go (`this machine is reachable at:`),
internal/app/init (`[talos] [initramfs]`). Kernel line wording follows Linux 6.12 (DefaultKernelVersion
6.12.52-talos in pkg/machinery/constants); which kernel lines appear is ours, a short plausible subset.
Formatting of a line (`%s: %7s: [%s]: %s`) is machined's Dmesg (server/v1alpha1/v1alpha1_server.go).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from labsim.fakes.talos import hardware

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode

KERNEL = "6.12.52-talos"
CMDLINE = ("talos.platform=metal console=tty0 init_on_alloc=1 slab_nomerge pti=on consoleblank=0 "
           "nvme_core.io_timeout=4294967295 printk.devkmsg=on selinux=1 module.sig_enforce=1")
CONTROLLER = '{"component": "controller-runtime", "controller": "%s"}'
BOOT_PHASES = (("memorySizeCheck", ("memorySizeCheck",)), ("diskSizeCheck", ("diskSizeCheck",)),
               ("env", ("setUserEnvVars", "waitForCARoots")), ("dbus", ("startDBus",)),
               ("ephemeral", ("mountEphemeralPartition",)), ("udevSetup", ("writeUdevRules",)),
               ("userDisks", ("mountUserDisks",)), ("userSetup", ("writeUserFiles",)),
               ("startEverything", ("startAllServices",)))
INSTALL_PHASES = ("env", "install", "meta", "saveMeta", "volumeFinalize", "stopEverything", "kexec", "reboot")


def _add(node: TalosNode, message: str, facility: str = "user", priority: str = "warning",
         at: float | None = None) -> None:
    node.kmsg.append((node.talos.clock.now() if at is None else at, facility, priority, message))


def talos(node: TalosNode, message: str) -> None:
    """A line machined logs (user.warning, `[talos]` prefix)."""
    _add(node, f"[talos] {message}")


def boot(node: TalosNode, mode: str) -> None:
    """A new boot: an empty buffer, the kernel's lines (the first 2.5 s of the boot), the initramfs."""
    node.kmsg.clear()
    t0 = node.booted_at
    vm = node.vm
    mib = vm.memory_mib()
    kern = [
        ("notice", f"Linux version {KERNEL} (@buildkitsandbox) (gcc (GCC) 14.2.0, GNU ld (GNU Binutils) 2.44) "
                   "#1 SMP PREEMPT_DYNAMIC"),
        ("info", f"Command line: {CMDLINE}"),
        ("info", "DMI: QEMU Standard PC (i440FX + PIIX, 1996), BIOS rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org "
                 "04/01/2014"),
        ("info", f"smpboot: Allowing {vm.cpus()} CPUs, 0 hotplug CPUs"),
        ("info", f"Memory: {hardware.memtotal_mib(vm) * 1024}K/{mib * 1024}K available"),
    ]
    for i, d in enumerate(hardware.disks(vm), 1):
        if d.cdrom:
            kern.append(("notice", f"sr 0:0:0:0: [{d.name}] scsi3-mmc drive: 4x/4x cd/rw xa/form2 tray"))
        else:
            kern.append(("notice", f"virtio_blk virtio{i}: [{d.name}] {d.size // 512} 512-byte logical blocks "
                                   f"({d.size / 1e9:.1f} GB/{d.size / 1024 ** 3:.1f} GiB)"))
    mac = hardware.mac(vm)
    if mac:
        kern.append(("info", f"virtio_net virtio0 ens18: renamed from eth0 ({mac.lower()})"))
    # the kernel started a few seconds before machined (the node's boot in the simulator): its lines come first
    start = t0 - 3.0
    for i, (prio, text) in enumerate(kern):
        _add(node, text, "kern", prio, at=start + 0.000123 + i * 0.25)
    _add(node, f"[talos] [initramfs] booting Talos v{node.version}", at=t0 - 0.5)
    if mode == "maintenance":
        _add(node, "[talos] entering maintenance service " + CONTROLLER % "config.AcquireController", at=t0 + 5.0)


def reachable(node: TalosNode) -> None:
    """The maintenance API answers: the machine prints where."""
    talos(node, "this machine is reachable at: " + CONTROLLER % "runtime.MaintenanceServiceController")
    talos(node, f"\t{node.address or ''}")


def installed_boot(node: TalosNode) -> None:
    """The boot sequence of an installed node (logged as its services come up; the phase durations are ours)."""
    t = node.talos.clock.now()
    mib = hardware.memtotal_mib(node.vm)
    for i, (phase, tasks) in enumerate(BOOT_PHASES, 1):
        _add(node, f"[talos] phase {phase} ({i}/{len(BOOT_PHASES)}): {len(tasks)} tasks(s)", at=t)
        for j, task in enumerate(tasks, 1):
            prefix = f"[talos] task {task} ({j}/{len(tasks)}): "
            _add(node, prefix + "starting", at=t)
            if task == "memorySizeCheck":
                _add(node, prefix + "memory size is OK", at=t)
                _add(node, prefix + f"memory size is {mib} MiB", at=t)
            if task == "startAllServices":
                _add(node, prefix + f"waiting for {len(_expected(node))} services", at=t)
                continue
            _add(node, prefix + "done, 1.2ms", at=t)
        if phase != "startEverything":
            _add(node, f"[talos] phase {phase} ({i}/{len(BOOT_PHASES)}): done, 1.5ms", at=t)


def _expected(node: TalosNode) -> list[str]:
    from labsim.fakes.talos import services
    return list(services.CONTROL_PLANE if node.control_plane else services.WORKER)


def service(node: TalosNode, name: str, state: str, event: str) -> None:
    talos(node, f"service[{name}]({state}): {event}")


def etcd_waiting(node: TalosNode) -> None:
    talos(node, "etcd is waiting to join the cluster, if this node is the first node in the cluster, please run "
                "`talosctl bootstrap` against one of the following IPs:")
    talos(node, f"[{node.address or ''}]")


def install(node: TalosNode, disk: str) -> None:
    """apply-config in maintenance mode: the config is taken, the install sequence starts."""
    talos(node, "leaving maintenance service " + CONTROLLER % "config.AcquireController")
    n = len(INSTALL_PHASES)
    talos(node, f"phase env (1/{n}): 1 tasks(s)")
    talos(node, f"phase env (1/{n}): done, 210.3µs")
    talos(node, f"phase install (2/{n}): 1 tasks(s)")
    talos(node, "task install (1/1): starting")
    talos(node, f"task install (1/1): installing Talos to disk {disk}")


def installed(node: TalosNode, duration: float) -> None:
    n = len(INSTALL_PHASES)
    talos(node, "task install (1/1): install successful")
    talos(node, f"task install (1/1): done, {duration:.0f}s")
    talos(node, f"phase install (2/{n}): done, {duration:.0f}s")
    for i, phase in enumerate(INSTALL_PHASES[2:], 3):
        talos(node, f"phase {phase} ({i}/{n}): 1 tasks(s)")
        if phase != "reboot":
            talos(node, f"phase {phase} ({i}/{n}): done, 3.1ms")


def booted(node: TalosNode) -> None:
    """The boot sequence finished (the node is Ready)."""
    took = node.talos.clock.now() - node.booted_at
    n = len(BOOT_PHASES)
    talos(node, f"task startAllServices (1/1): done, {took:.1f}s")
    talos(node, f"phase startEverything ({n}/{n}): done, {took:.1f}s")
    talos(node, f"boot sequence: done: {took:.1f}s")


def lines(node: TalosNode) -> list[tuple[float, str, str, str]]:
    return list(node.kmsg)
