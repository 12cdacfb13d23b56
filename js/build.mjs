// Builds the browser bundles shipped in jupyterspot_magic/static/:
//   viewer.js  (IIFE, es2020)  from js/viewer/main.ts
//   e2e-loader.js (IIFE, es2020) from js/viewer/e2e/loader.ts: an encrypted share's page loader
//   viewer.css (minified)      from js/viewer/viewer.css
//   widget.js  (ESM, anywidget module) from js/widget/index.ts, with js/widget/widget.css inlined
//   mathjax.js (copied from the mathjax package, loaded only by pages with math)
//   lib/*      the output libraries a notebook's outputs load (Plotly, Vega, BokehJS, the widget
//              manager, Leaflet, require.js): pinned copies served by the share instead of CDNs
//              (jupyterspot_magic/content/libraries.py), with lib/manifest.json naming each
//              file and its version (the version pinned in package.json)
// and prints each output's raw and gzip size plus the viewer JS+CSS gzip total.
import { build, transform } from "esbuild";
import { copyFileSync, readFileSync, readdirSync, mkdirSync, writeFileSync } from "node:fs";
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

// The output libraries (jupyterspot_magic/content/libraries.py): key -> [package, file in it].
// bokeh-mathjax (1.8 MB) is left out: the share serves it from the kernel's bokeh, or a stub.
const LIBRARIES = {
  requirejs: ["requirejs", "require.js"],
  plotly: ["plotly.js-dist-min", "plotly.min.js"],
  vega: ["vega", "build/vega.min.js"],
  "vega-lite": ["vega-lite", "build/vega-lite.min.js"],
  "vega-embed": ["vega-embed", "build/vega-embed.min.js"],
  bokeh: ["@bokeh/bokehjs", "build/js/bokeh.min.js"],
  "bokeh-widgets": ["@bokeh/bokehjs", "build/js/bokeh-widgets.min.js"],
  "bokeh-tables": ["@bokeh/bokehjs", "build/js/bokeh-tables.min.js"],
  "bokeh-gl": ["@bokeh/bokehjs", "build/js/bokeh-gl.min.js"],
  "bokeh-api": ["@bokeh/bokehjs", "build/js/bokeh-api.min.js"],
  "html-manager": ["@jupyter-widgets/html-manager", "dist/embed-amd.js"],
  leaflet: ["leaflet", "dist/leaflet.js"],
  "leaflet-css": ["leaflet", "dist/leaflet.css"],
};
const libDir = join(out, "lib");
mkdirSync(join(libDir, "images"), { recursive: true });
mkdirSync(join(libDir, "fonts"), { recursive: true });
const manifest = {};
for (const [key, [pkg, file]] of Object.entries(LIBRARIES)) {
  const pkgDir = join(root, "node_modules", pkg);
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const name = key + (file.endsWith(".css") ? ".css" : ".js");
  let data = readFileSync(join(pkgDir, file));
  if (key === "requirejs") {
    // require.js ships unminified (86 KB): minify it as the other libraries are
    data = Buffer.from(
      (await transform(data.toString("utf8"), { minify: true, legalComments: "none" })).code,
    );
  }
  writeFileSync(join(libDir, name), data);
  manifest[key] = { file: name, version };
}
// leaflet.css asks for url(images/...): the marker and layer icons
for (const img of readdirSync(join(root, "node_modules/leaflet/dist/images"))) {
  copyFileSync(join(root, "node_modules/leaflet/dist/images", img), join(libDir, "images", img));
}
// the widget manager's icon fonts (Font Awesome), asked for relative to the manager's URL; woff2
// only: every browser that runs the page reads it
const hm = join(root, "node_modules/@jupyter-widgets/html-manager/dist");
for (const font of readdirSync(hm).filter((f) => f.endsWith(".woff2"))) {
  copyFileSync(join(hm, font), join(libDir, "fonts", font));
}
writeFileSync(join(libDir, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");

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
let libRaw = 0;
let libGz = 0;
for (const { file } of Object.values(manifest)) {
  const data = readFileSync(join(libDir, file));
  libRaw += data.length;
  libGz += gzipSync(data, { level: 9 }).length;
}
console.log(`output libraries (lib/): ${kb(libRaw)} raw ${kb(libGz)} gzip`);
