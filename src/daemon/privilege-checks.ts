/**
 * What `user`, `binddevice` and `bindacqdevice` name, checked before the
 * daemon starts (and by `ntpkit validate`): the user must be known to this
 * machine and the interfaces must exist here, as chronyd stops at start
 * when getpwnam() fails or SO_BINDTODEVICE is refused. Both are lookups
 * through the addon; nothing is changed.
 */
import { loadNative } from '../clock/native.js';
import type { Config, ConfigOrigin } from '../config/config.js';

type At = (what: string) => ConfigOrigin;
type Report = (where: ConfigOrigin, message: string) => void;

/**
 * Reports, at the line that named it: an unknown `user`, an interface that
 * does not exist, and the combinations whose sockets ntpkit could not bind
 * to the device (the NTS-KE server's and client's TCP connections,
 * initstepslew's queries). `ntsKe`: the NTS-KE server would run.
 */
export function checkUserAndDevices(c: Config, ntsKe: boolean, at: At, error: Report): void {
  const devices: { readonly directive: string; readonly iface: string }[] = [];
  if (c.server.bindDevice !== null) devices.push({ directive: 'binddevice', iface: c.server.bindDevice });
  if (c.acquisition.device !== null) devices.push({ directive: 'bindacqdevice', iface: c.acquisition.device });
  const user = c.process.user;
  if (user === null && devices.length === 0) return;

  const n = loadNative();
  if (user !== null) {
    const lookup = n.ok ? n.addon.userByName : undefined;
    if (!n.ok || lookup === undefined) error(at('user'), `user ${user}: dropping privileges needs the native addon (${n.ok ? 'it has no userByName(): stale build? run sh scripts/build-native.sh' : n.reason})`);
    else if (lookup.call(n.addon, user) === null) error(at('user'), `user ${user}: no such user on this machine (getpwnam() found nothing)`);
  }
  for (const { directive, iface } of devices) {
    const index = n.ok ? n.addon.interfaceIndex : undefined;
    if (!n.ok || index === undefined) error(at(directive), `${directive} ${iface}: binding a socket to a device needs the native addon (${n.ok ? 'it has no interfaceIndex(): stale build? run sh scripts/build-native.sh' : n.reason})`);
    else if (index.call(n.addon, iface) === 0) error(at(directive), `${directive} ${iface}: no such interface on this machine`);
  }
  if (c.server.bindDevice !== null && ntsKe) {
    error(at('binddevice'), `binddevice ${c.server.bindDevice}: the NTS-KE server's TCP socket cannot be bound to a device by ntpkit; remove binddevice or the NTS-KE server (ntsservercert/ntsserverkey)`);
  }
  if (c.acquisition.device !== null) {
    const nts = c.sources.find((s) => s.options.nts);
    if (nts !== undefined) error(at('bindacqdevice'), `bindacqdevice ${c.acquisition.device}: the NTS-KE connection of ${nts.options.host} (line ${nts.line}) cannot be bound to a device by ntpkit; remove bindacqdevice or the nts option`);
    if (c.process.initstepslew !== null) error(at('bindacqdevice'), `bindacqdevice ${c.acquisition.device}: initstepslew's queries cannot be bound to a device by ntpkit; remove bindacqdevice or initstepslew`);
  }
}
