// Loads the page module named by ?module= and exposes its exports to the test runner.
const modules = import.meta.glob('./*.ts');
const name = new URLSearchParams(location.search).get('module') ?? '';
const w = window as unknown as { testModule?: unknown; testReady?: unknown };
const load = modules[`./${name}.ts`];
if (!load) {
  w.testReady = `no page module e2e/pages/${name}.ts`;
} else {
  load().then(
    (mod) => {
      w.testModule = mod;
      w.testReady = true;
    },
    (err: unknown) => {
      w.testReady = `import failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
    },
  );
}
