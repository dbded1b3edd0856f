// harness.js — the tiny test runner of the testdata/*_test.js pages: tests
// run in order; results land in window.__results for the Go side
// (jspage_test.go) and in the page's <pre id="out">.

const tests = [];

export const test = (name, fn) => tests.push({ name, fn });

export function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }

export function eq(a, b, msg) {
  const sa = JSON.stringify(a); const sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${msg}: got ${sa}, want ${sb}`);
}

// run runs every test, then publishes the results with extra fields.
export async function run(extra = {}) {
  const results = { passed: [], failures: [] };
  for (const t of tests) {
    try { await t.fn(); results.passed.push(t.name); } catch (e) { results.failures.push(`${t.name}: ${e.message}`); }
  }
  Object.assign(results, extra, { done: true });
  document.getElementById('out').textContent = JSON.stringify(results, null, 2);
  window.__results = results;
}
