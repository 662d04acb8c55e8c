/** Starting an HTTP listener: one place for the dashboard's and the exporter's. */
import type { Server } from 'node:http';

/**
 * Listens on host:port with `exclusive` (no port sharing with cluster
 * workers), resolving once bound and rejecting with the bind error
 * (EADDRINUSE, EACCES) instead of leaving it to an 'error' event nobody hears.
 */
export function listenExclusive(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => { server.off('listening', onListening); reject(e); };
    const onListening = (): void => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}
