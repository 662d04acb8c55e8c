/**
 * Linux turns RX timestamping on for the whole stack when the first socket
 * asks for it (net_enable_timestamp), but through deferred work: packets that
 * arrive before that work has run carry no stamp. While no other socket on
 * the machine has stamping on, a test's first packets can be that early. A
 * test file that needs every packet stamped keeps one stamping socket open
 * and starts once packets arrive stamped.
 */
import { NativeUdpSocket } from '../net/native-udp.js';

/**
 * Opens a stamping socket and waits (2 s at most) until its own packets come
 * back stamped. Returns the function that closes it; throws if stamping never
 * starts.
 */
export async function keepKernelRxStampingOn(): Promise<() => void> {
  let stamped = false;
  const keeper = new NativeUdpSocket(4, { onMessage: (_d, _f, rx) => { stamped ||= rx !== null; }, onError: () => {} });
  try {
    keeper.bind('127.0.0.1', 0);
    const port = keeper.address().port;
    for (let i = 0; i < 200 && !stamped; i++) {
      keeper.send(Buffer.from('warm-up'), '127.0.0.1', port);
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!stamped) throw new Error('the kernel did not stamp received packets within 2 s of a socket asking for it');
  } catch (e) {
    keeper.close();
    throw e;
  }
  return () => keeper.close();
}
