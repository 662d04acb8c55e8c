/**
 * Which of the cloud's two NTP server sets the built-in configuration uses.
 * Alibaba Cloud runs its NTP service under two sets of names: the VPC
 * endpoints (ntp.cloud.aliyuncs.com, ntp7 to ntp12), which answer only from
 * inside its cloud, and the public endpoints (ntp.aliyun.com, ntp1 to ntp7),
 * which answer from anywhere on the internet. An instance of that cloud gets
 * the VPC set (lower delay, and an instance without a public address may
 * reach nothing else); any other machine gets the public set.
 *
 * The signal is DMI, read from sysfs: local and offline, so a daemon starting
 * before the network (or without one) decides the same way, and no metadata
 * service is asked anything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ServerSet = 'vpc' | 'public';

export const SERVER_SETS: readonly ServerSet[] = Object.freeze(['vpc', 'public']);

/** The VPC endpoints of the cloud documentation's chrony.conf: only reachable inside that cloud. */
export const VPC_SERVERS: readonly string[] = Object.freeze([
  'ntp.cloud.aliyuncs.com',
  'ntp7.cloud.aliyuncs.com',
  'ntp8.cloud.aliyuncs.com',
  'ntp9.cloud.aliyuncs.com',
  'ntp10.cloud.aliyuncs.com',
  'ntp11.cloud.aliyuncs.com',
  'ntp12.cloud.aliyuncs.com',
]);

/** The same service's internet endpoints, reachable from anywhere. */
export const PUBLIC_SERVERS: readonly string[] = Object.freeze([
  'ntp.aliyun.com',
  'ntp1.aliyun.com',
  'ntp2.aliyun.com',
  'ntp3.aliyun.com',
  'ntp4.aliyun.com',
  'ntp5.aliyun.com',
  'ntp6.aliyun.com',
  'ntp7.aliyun.com',
]);

export function serversOf(set: ServerSet): readonly string[] {
  return set === 'vpc' ? VPC_SERVERS : PUBLIC_SERVERS;
}

/** What DMI says about the machine; a field is undefined when it could not be read. */
export interface DmiFacts {
  readonly sysVendor?: string;
  readonly productName?: string;
}

export interface ServerSetChoice {
  readonly set: ServerSet;
  /** Why, as a clause that follows "because". */
  readonly reason: string;
}

const DMI_DIR = 'sys/class/dmi/id';
/** What that cloud's instances report (seen as "Hardware Vendor"/"Hardware Model" in hostnamectl). */
const CLOUD_VENDOR = 'Alibaba Cloud';
const CLOUD_PRODUCT = 'Alibaba Cloud ECS';

/** The decision on given DMI facts (pure, for tests and for the file reader below). */
export function chooseServerSet(dmi: DmiFacts, dir = `/${DMI_DIR}`): ServerSetChoice {
  const { sysVendor, productName } = dmi;
  if (sysVendor === CLOUD_VENDOR) return { set: 'vpc', reason: `${dir}/sys_vendor says "${sysVendor}": an instance of Alibaba Cloud, whose VPC endpoints answer only inside its cloud` };
  if (productName === CLOUD_PRODUCT) return { set: 'vpc', reason: `${dir}/product_name says "${productName}": an instance of Alibaba Cloud, whose VPC endpoints answer only inside its cloud` };
  if (sysVendor === undefined && productName === undefined) return { set: 'public', reason: `${dir} cannot be read (a container, or a system without DMI), so this is not known to be an Alibaba Cloud instance` };
  const seen = [sysVendor === undefined ? undefined : `sys_vendor "${sysVendor}"`, productName === undefined ? undefined : `product_name "${productName}"`].filter((s) => s !== undefined).join(', ');
  return { set: 'public', reason: `${dir} says ${seen}: not an Alibaba Cloud instance` };
}

/** One DMI field, trimmed; undefined when missing, unreadable or empty. */
function readDmi(dir: string, field: string): string | undefined {
  try {
    const v = readFileSync(join(dir, field), 'utf8').trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

/**
 * Reads DMI under `root` (default "/": tests give a fake tree) and decides.
 * `override`, from --servers, wins and says so.
 */
export function detectServerSet(root = '/', override?: ServerSet): ServerSetChoice {
  if (override !== undefined) return { set: override, reason: `--servers ${override} was given` };
  const dir = join(root, DMI_DIR);
  return chooseServerSet({ sysVendor: readDmi(dir, 'sys_vendor'), productName: readDmi(dir, 'product_name') }, dir);
}

/** How a log line names a set. */
export function describeServerSet(set: ServerSet): string {
  const s = serversOf(set);
  return `${set === 'vpc' ? "Alibaba Cloud's VPC-internal NTP servers" : "Alibaba Cloud's public NTP servers"} (${s[0] as string} and ${s.length - 1} more)`;
}
