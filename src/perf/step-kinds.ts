/**
 * The perf step names, apart from steps.ts so that parsing `npm run perf` options loads no
 * tfjs backend: `--dawn` must install navigator.gpu before tfjs-backend-webgpu is imported.
 */
export type StepKind = 'forward' | 'tent' | 'full';
export const STEP_KINDS: readonly StepKind[] = ['forward', 'tent', 'full'];
