// An encrypted share's pictures (seal.py, "image"): the page and cells answers name them
// `data-jsp-src="x/img/<keyed name>"` instead of `src` (the browser must not fetch ciphertext as a
// picture). Each is fetched as it comes near the viewport (cached: its URL is immutable), opened
// with the share's key (WebCrypto when the page has it) and shown from a blob: URL. The box does
// not move when it arrives: the server gave the tag its width and height (content/images.py).

import { aad } from "./aead";
import { openNonced } from "./blob";

const TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
};
const AHEAD = "2000px 0px"; // start before it is on screen: a fast scroll finds it there
const TRIES = 4; // a picture that did not come (a restarting server, a dropped request)
const RETRY_MS = 1500; // ... is asked for again after 1.5 s, 3 s, 4.5 s

/** The picture inside a sealed image blob named `name`; SealError when it does not open. */
export async function openImage(
  key: Uint8Array,
  room: string,
  name: string,
  blob: Uint8Array,
): Promise<Uint8Array> {
  return openNonced(key, blob, aad(room, "img", name));
}

export class SealedImages {
  private readonly observer: IntersectionObserver | null;

  constructor(
    private readonly key: Uint8Array,
    private readonly room: string,
  ) {
    this.observer =
      typeof IntersectionObserver === "function"
        ? new IntersectionObserver((seen) => this.seen(seen), { rootMargin: AHEAD })
        : null;
  }

  /** Start watching every sealed picture under `root` (the page, or cells just swapped in). */
  watch(root: ParentNode): void {
    for (const img of Array.from(root.querySelectorAll<HTMLImageElement>("img[data-jsp-src]"))) {
      if (this.observer) this.observer.observe(img);
      else void this.load(img);
    }
  }

  private seen(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      this.observer?.unobserve(e.target);
      void this.load(e.target as HTMLImageElement);
    }
  }

  private async load(img: HTMLImageElement, tries = 1): Promise<void> {
    const url = img.getAttribute("data-jsp-src");
    if (!url || !img.isConnected) return;
    const name = url.slice(url.lastIndexOf("/") + 1);
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await openImage(this.key, this.room, name, new Uint8Array(await res.arrayBuffer()));
      const type = TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
      const shown = URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>], { type }));
      // Once decoded the element keeps the picture: the URL's bytes can go (a long meeting's
      // live updates would otherwise hold every old figure until the page closes).
      const release = () => URL.revokeObjectURL(shown);
      img.addEventListener("load", release, { once: true });
      img.addEventListener("error", release, { once: true });
      img.loading = "eager"; // a lazy <img> may never load a blob: URL (then never released)
      img.src = shown;
      img.removeAttribute("data-jsp-src");
    } catch (err) {
      console.warn("jupyterspot: picture not opened", url, err);
      if (tries < TRIES) setTimeout(() => void this.load(img, tries + 1), RETRY_MS * tries);
    }
  }
}
