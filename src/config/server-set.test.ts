import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseServerSet, detectServerSet, PUBLIC_SERVERS, VPC_SERVERS } from './server-set.js';

/** Runs `body` with a fake root whose DMI directory holds `fields` (null: no DMI directory at all). */
async function withRoot(fields: Record<string, string> | null, body: (root: string) => void): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ntpkit-dmi-'));
  try {
    if (fields !== null) {
      const id = join(root, 'sys/class/dmi/id');
      await mkdir(id, { recursive: true });
      for (const [k, v] of Object.entries(fields)) await writeFile(join(id, k), `${v}\n`);
    }
    body(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('the two sets: the VPC endpoints of the cloud documentation, and the public ones', () => {
  assert.deepEqual([...VPC_SERVERS], ['ntp.cloud.aliyuncs.com', ...[7, 8, 9, 10, 11, 12].map((n) => `ntp${n}.cloud.aliyuncs.com`)]);
  assert.deepEqual([...PUBLIC_SERVERS], ['ntp.aliyun.com', ...[1, 2, 3, 4, 5, 6, 7].map((n) => `ntp${n}.aliyun.com`)]);
});

test('an Alibaba Cloud ECS instance gets the VPC set, and the reason names the file and what it says', async () => {
  await withRoot({ sys_vendor: 'Alibaba Cloud', product_name: 'Alibaba Cloud ECS' }, (root) => {
    const c = detectServerSet(root);
    assert.equal(c.set, 'vpc');
    assert.match(c.reason, /sys\/class\/dmi\/id\/sys_vendor says "Alibaba Cloud"/);
  });
  // Either field alone is enough (a vendor string changed, a field unreadable).
  assert.equal(chooseServerSet({ productName: 'Alibaba Cloud ECS' }).set, 'vpc');
  assert.equal(chooseServerSet({ sysVendor: 'Alibaba Cloud', productName: 'ecs.g7.large' }).set, 'vpc');
});

test('another cloud (Amazon EC2) gets the public set', async () => {
  await withRoot({ sys_vendor: 'Amazon EC2', product_name: 't3.micro' }, (root) => {
    const c = detectServerSet(root);
    assert.equal(c.set, 'public');
    assert.equal(c.reason, `${join(root, 'sys/class/dmi/id')} says sys_vendor "Amazon EC2", product_name "t3.micro": not an Alibaba Cloud instance`);
  });
});

test('bare metal gets the public set', async () => {
  await withRoot({ sys_vendor: 'Dell Inc.', product_name: 'PowerEdge R640' }, (root) => {
    assert.equal(detectServerSet(root).set, 'public');
  });
  // Empty fields, as some firmware leaves them, are "unknown", not a vendor.
  await withRoot({ sys_vendor: '', product_name: '' }, (root) => {
    assert.match(detectServerSet(root).reason, /cannot be read/);
  });
});

test('a container without readable DMI gets the public set, and says DMI could not be read', async () => {
  await withRoot(null, (root) => {
    const c = detectServerSet(root);
    assert.equal(c.set, 'public');
    assert.equal(c.reason, `${join(root, 'sys/class/dmi/id')} cannot be read (a container, or a system without DMI), so this is not known to be an Alibaba Cloud instance`);
  });
});

test('--servers wins over what DMI says, either way', async () => {
  await withRoot({ sys_vendor: 'Alibaba Cloud' }, (root) => {
    assert.deepEqual(detectServerSet(root, 'public'), { set: 'public', reason: '--servers public was given' });
  });
  await withRoot(null, (root) => {
    assert.deepEqual(detectServerSet(root, 'vpc'), { set: 'vpc', reason: '--servers vpc was given' });
  });
});
