// Builds the browser bundles shipped in jupyterspot_magic/static/:
//   viewer.js  (IIFE, es2020)  from js/viewer/main.ts
//   e2e-loader.js (IIFE, es2020) from js/viewer/e2e/loader.ts: an encrypted share's page loader
//   viewer.css (minified)      from js/viewer/viewer.css
//   widget.js  (ESM, anywidget module) from js/widget/index.ts, with js/widget/widget.css inlined
//   mathjax.js (copied from the mathjax package, loaded only by pages with math)
// and prints each output's raw and gzip size plus the viewer JS+CSS gzip total.
import { build } from "esbuild";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "jupyterspot_magic", "static");
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  target: "es2020",
  legalComments: "none",
  logLevel: "warning",
  absWorkingDir: root,
};

// The contracts (jupyterspot_magic/contracts/*.json) are bundled as data; their "doc" texts are
// for people reading the files, not for the page.
const dropDocs = (v) =>
  Array.isArray(v)
    ? v.map(dropDocs)
    : v && typeof v === "object"
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k, x]) => !(k === "doc" && typeof x === "string"))
            .map(([k, x]) => [k, dropDocs(x)]),
        )
      : v;
const contractsWithoutDocs = {
  name: "contracts-without-docs",
  setup(b) {
    b.onLoad({ filter: /[\\/]contracts[\\/][^\\/]+\.json$/ }, (args) => ({
      contents: JSON.stringify(dropDocs(JSON.parse(readFileSync(args.path, "utf8")))),
      loader: "json",
    }));
  },
};

const minifiedCss = async (file) => {
  const result = await build({
    ...common,
    entryPoints: [file],
    write: false,
    loader: { ".css": "css" },
  });
  return result.outputFiles[0].text.trim();
};

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, "js/viewer/main.ts")],
    outfile: join(out, "viewer.js"),
    format: "iife",
    platform: "browser",
    plugins: [contractsWithoutDocs],
  }),
  build({
    ...common,
    entryPoints: [join(root, "js/viewer/e2e/loader.ts")],
    outfile: join(out, "e2e-loader.js"),
    format: "iife",
    platform: "browser",
  }),
  build({
    ...common,
    entryPoints: [join(root, "js/viewer/viewer.css")],
    outfile: join(out, "viewer.css"),
  }),
  minifiedCss(join(root, "js/widget/widget.css")).then((css) =>
    build({
      ...common,
      entryPoints: [join(root, "js/widget/index.ts")],
      outfile: join(out, "widget.js"),
      format: "esm",
      platform: "browser",
      define: { __WIDGET_CSS__: JSON.stringify(css) },
    }),
  ),
]);

// MathJax 3 (SVG output: no font files to serve), loaded by the page only when it has math,
// so LaTeX renders without any CDN. With MathJax's "safe" extension appended: it runs right after
// the core, before startup builds the document handler, and filters what TeX can put in the page
// (no javascript:/data: links, only harmless styles: issue 11 row 8, defense in depth).
writeFileSync(
  join(out, "mathjax.js"),
  Buffer.concat([
    readFileSync(join(root, "node_modules/mathjax/es5/tex-svg-full.js")),
    Buffer.from("\n;"),
    readFileSync(join(root, "node_modules/mathjax/es5/ui/safe.js")),
  ]),
);

const sizes = {};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const name of ["viewer.js", "viewer.css", "e2e-loader.js", "widget.js", "mathjax.js"]) {
  const data = readFileSync(join(out, name));
  const gz = gzipSync(data, { level: 9 }).length;
  sizes[name] = gz;
  console.log(
    `${relative(root, join(out, name)).padEnd(40)} ${kb(data.length).padStart(9)} raw ${kb(gz).padStart(8)} gzip`,
  );
}
console.log(`viewer JS+CSS gzip total: ${kb(sizes["viewer.js"] + sizes["viewer.css"])}`);
