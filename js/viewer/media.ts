// Media-query pinning: nbconvert's CSS has viewport-width media queries (a "mobile" layout below
// 760px, for one); on a phone they would change the reference layout (layout.ts). Every width
// query of the page's own stylesheets is rewritten to answer as if the viewport were the
// reference width. pinMediaText is the pure rewrite of one query list.

const WIDTH_FEATURE =
  /\(\s*(min-|max-)?width\s*:\s*([\d.]+)(px|em|rem)\s*\)|\(\s*width\s*(<=|>=|<|>|=)\s*([\d.]+)(px|em|rem)\s*\)/gi;

/** Does one width feature hold when the viewport is `width` px wide? (em/rem = 16px) */
function widthFeatureHolds(m: RegExpExecArray, width: number): boolean {
  const px = (v: string, unit: string): number => parseFloat(v) * (unit.toLowerCase() === "px" ? 1 : 16);
  if (m[2] !== undefined) {
    const v = px(m[2], m[3]);
    const kind = (m[1] ?? "").toLowerCase();
    return kind === "min-" ? width >= v : kind === "max-" ? width <= v : width === v;
  }
  const v = px(m[5], m[6]);
  switch (m[4]) {
    case "<":
      return width < v;
    case "<=":
      return width <= v;
    case ">":
      return width > v;
    case ">=":
      return width >= v;
    default:
      return width === v;
  }
}

/** Rewrite one media query list as it evaluates at viewport width `width` (width terms only). */
export function pinMediaText(mediaText: string, width: number): string {
  if (!/width/i.test(mediaText)) return mediaText;
  return mediaText
    .split(",")
    .map((query) => {
      const q = query.trim();
      if (/^not\b/i.test(q) || /\bor\b/i.test(q)) return q; // rare forms: leave alone
      let holds = true;
      const rest = q.replace(WIDTH_FEATURE, (...args: unknown[]) => {
        const m = args.slice(0, 7) as unknown as RegExpExecArray;
        if (!widthFeatureHolds(m, width)) holds = false;
        return "";
      });
      if (!holds) return "not all";
      const cleaned = rest
        .replace(/\band\s+(?=and\b|$)/gi, "")
        .replace(/^\s*and\b/i, "")
        .replace(/\band\s*$/i, "")
        .replace(/\s+/g, " ")
        .trim();
      return cleaned || "all";
    })
    .join(", ");
}

/**
 * nbconvert's CSS has viewport-width media queries (a "mobile" layout below 760px, for one):
 * on a phone they would change the reference layout. Make every width query in the page's own
 * stylesheets answer as if the viewport were `width` px wide. The viewer's own stylesheet
 * (viewer.css) is left alone. Cross-origin sheets can't be read and are skipped.
 */
export function pinWidthMediaQueries(width: number, doc: Document = document): number {
  let changed = 0;
  const visit = (rules: CSSRuleList): void => {
    for (const rule of Array.from(rules)) {
      if (rule instanceof CSSMediaRule) {
        const before = rule.media.mediaText;
        const after = pinMediaText(before, width);
        if (after !== before) {
          rule.media.mediaText = after;
          changed++;
        }
      }
      if ("cssRules" in rule && rule.cssRules) visit(rule.cssRules as CSSRuleList);
    }
  };
  for (const sheet of Array.from(doc.styleSheets)) {
    if (sheet.href && /\/viewer\.css(\?|#|$)/.test(sheet.href)) continue;
    let rules: CSSRuleList;
    try {
      rules = sheet.cssRules;
    } catch {
      continue;
    }
    visit(rules);
  }
  return changed;
}
