// `npm test`: the viewer's unit tests, every js/test/**/*.test.ts, with node's own test runner
// (node:test), all in this one process (tsx compiles the TypeScript as it is imported; one process
// instead of one per file keeps the run to a second or two). They test pure logic only and need
// no browser: the modules they import touch the DOM only when called.
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here, { recursive: true })
  .filter((f) => f.endsWith(".test.ts"))
  .sort();
if (!files.length) {
  console.error("js/test: no *.test.ts files");
  process.exit(1);
}
register();
// node:test runs each file's tests as they are registered and reports (and sets the exit code)
// when the process ends. A file that does not even import is a failed test of its own.
for (const f of files) {
  try {
    await import(pathToFileURL(join(here, f)).href);
  } catch (err) {
    test(`${f} imports`, () => {
      throw err;
    });
  }
}
