/** How a long-running command (`server`, `exporter`) learns it should stop. */

/** Resolves at the first SIGINT or SIGTERM, and stops listening for them. */
export function waitForTermination(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
