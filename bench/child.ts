// The request loop of a bench child process (tick-sub.ts, fanout-sub.ts): requests from the bench over the
// IPC channel are handled one at a time, in order; a failure is answered as { op: 'error' }.
export function serveRequests<Req>(handle: (m: Req) => Promise<void>): void {
  let chain = Promise.resolve();
  process.on('message', (m: Req) => {
    chain = chain.then(() => handle(m)).catch((err: unknown) => {
      process.send?.({ op: 'error', message: err instanceof Error ? err.message : String(err) });
    });
  });
  // The bench going away (even killed) closes the channel: never outlive it.
  process.on('disconnect', () => process.exit(0));
}
