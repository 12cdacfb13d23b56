// Interactive figures nbconvert would drop: the renderer leaves a container with a visible
// fallback (`.jupyterspot-plotly` / `.jupyterspot-vega`) followed by the figure as JSON in
// `<script type="application/json" class="jupyterspot-figure">`. Libraries load lazily, only
// when such containers exist, from the share itself (jupyterspot_magic/content/libraries.py:
// the kernel's plotly.js or the pinned copies), never a CDN; if they can't load, the fallback
// stays with a short note.

const VEGA_LIBS = ["vega", "vega-lite", "vega-embed"];

interface LibraryGlobals {
  /** An offline export's inlined libraries (content/export.py): name -> blob: URL. */
  jupyterspotLib?: (name: string) => string;
  define?: { amd?: unknown };
  requirejs?: (deps: string[], ok: (...mods: unknown[]) => void, fail: (e: unknown) => void) => void;
}

/** Where the page gets library `name`: relative, so it resolves under /s/{room}/. */
function libraryUrl(name: string): string {
  const g = window as unknown as LibraryGlobals;
  return g.jupyterspotLib ? g.jupyterspotLib(name) : `./lib/${name}.js`;
}

/** Once the real require.js is on the page (the widget manager or an output asked for it: see
 *  templates/jupyterspot/index.html.j2), a UMD library loaded by a script tag would call its
 *  `define` anonymously and set no global; then load through require.js (its paths point at the
 *  share's copies) and set the global from the module. */
function viaRequire(name: string, global: string): Promise<void> | null {
  const g = window as unknown as LibraryGlobals & Record<string, unknown>;
  if (!g.define?.amd || !g.requirejs) return null;
  const requirejs = g.requirejs;
  return new Promise<void>((resolve, reject) => {
    requirejs(
      [name],
      (mod: unknown) => {
        g[global] ??= mod;
        resolve();
      },
      reject,
    );
  });
}

interface PlotlyFigure {
  data?: unknown[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

interface FigureGlobals {
  Plotly?: { newPlot(el: HTMLElement, data: unknown, layout?: unknown, config?: unknown): unknown };
  vegaEmbed?: (el: HTMLElement, spec: unknown, opts?: unknown) => Promise<unknown>;
}

const scripts = new Map<string, Promise<void>>();

export function loadScript(src: string): Promise<void> {
  let p = scripts.get(src);
  if (!p) {
    p = new Promise<void>((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = false; // keep order when several are requested together
      s.onload = () => resolve();
      s.onerror = () => {
        s.remove();
        reject(new Error(`could not load ${src}`));
      };
      document.head.appendChild(s);
    });
    scripts.set(src, p);
    p.catch(() => scripts.delete(src));
  }
  return p;
}

function figureJson(container: HTMLElement): unknown {
  let script: Element | null = container.nextElementSibling;
  if (!script?.matches("script.jupyterspot-figure")) {
    script = container.querySelector("script.jupyterspot-figure");
  }
  if (!script?.textContent) throw new Error("figure data missing");
  return JSON.parse(script.textContent);
}

function markUnavailable(container: HTMLElement, err: unknown): void {
  console.warn("jupyterspot: figure not rendered:", err);
  container.classList.add("jupyterspot-figure-failed");
  if (container.querySelector(".jupyterspot-figure-note")) return;
  const note = document.createElement("div");
  note.className = "jupyterspot-figure-note";
  note.textContent = "figure unavailable offline";
  container.appendChild(note);
}

let plotlyPromise: Promise<void> | null = null;

function loadPlotly(): Promise<void> {
  const g = window as unknown as FigureGlobals;
  if (g.Plotly) return Promise.resolve();
  plotlyPromise ??= (viaRequire("plotly", "Plotly") ?? loadScript(libraryUrl("plotly"))).then(
    () => {
      if (!g.Plotly) throw new Error("Plotly did not load");
    },
  );
  plotlyPromise.catch(() => {
    plotlyPromise = null;
  });
  return plotlyPromise;
}

let vegaPromise: Promise<void> | null = null;

function loadVega(): Promise<void> {
  const g = window as unknown as FigureGlobals;
  if (g.vegaEmbed) return Promise.resolve();
  vegaPromise ??= (
    viaRequire("vega-embed", "vegaEmbed") ??
    VEGA_LIBS.reduce<Promise<void>>(
      (chain, name) => chain.then(() => loadScript(libraryUrl(name))),
      Promise.resolve(),
    )
  ).then(() => {
    if (!g.vegaEmbed) throw new Error("vega-embed did not load");
  });
  vegaPromise.catch(() => {
    vegaPromise = null;
  });
  return vegaPromise;
}

/** Render into a fresh child; drop the fallback content only once that worked. */
async function renderInto(container: HTMLElement, draw: (target: HTMLElement) => unknown) {
  const fallback = Array.from(container.childNodes);
  const target = document.createElement("div");
  target.className = "jupyterspot-figure-target";
  container.appendChild(target);
  try {
    await draw(target);
  } catch (err) {
    target.remove();
    throw err;
  }
  for (const node of fallback) node.parentNode?.removeChild(node);
  container.classList.add("jupyterspot-figure-live");
}

async function renderPlotly(container: HTMLElement): Promise<void> {
  const fig = figureJson(container) as PlotlyFigure;
  await loadPlotly();
  const Plotly = (window as unknown as FigureGlobals).Plotly;
  if (!Plotly) throw new Error("Plotly missing");
  await renderInto(container, (t) => Plotly.newPlot(t, fig.data ?? [], fig.layout, fig.config));
}

async function renderVega(container: HTMLElement): Promise<void> {
  const spec = figureJson(container);
  await loadVega();
  const vegaEmbed = (window as unknown as FigureGlobals).vegaEmbed;
  if (!vegaEmbed) throw new Error("vega-embed missing");
  await renderInto(container, (t) => vegaEmbed(t, spec));
}

/** Render every interactive figure on the page; resolves when all have settled. */
export async function hydrateFigures(root: ParentNode = document): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (const el of Array.from(root.querySelectorAll<HTMLElement>(".jupyterspot-plotly"))) {
    jobs.push(renderPlotly(el).catch((err) => markUnavailable(el, err)));
  }
  for (const el of Array.from(root.querySelectorAll<HTMLElement>(".jupyterspot-vega"))) {
    jobs.push(renderVega(el).catch((err) => markUnavailable(el, err)));
  }
  await Promise.all(jobs);
}
