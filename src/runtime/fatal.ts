/**
 * The message a runtime worker posts (outside Comlink) just before it ends itself. Its own
 * module, without tfjs: the page-side client imports it, and tfjs belongs in the worker only.
 */
export interface FatalMessage {
  webttaFatal: { kind: 'device-lost' | 'exit'; message: string };
}

export function isFatalMessage(data: unknown): data is FatalMessage {
  return typeof data === 'object' && data !== null && 'webttaFatal' in data;
}
