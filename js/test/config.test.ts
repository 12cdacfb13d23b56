// config.ts: the page-config block against jupyterspot_magic/contracts/page_config.json, and the
// other things the page tells the viewer (token, name, websocket base).
import assert from "node:assert/strict";
import { test } from "node:test";
import contract from "../../jupyterspot_magic/contracts/page_config.json";
import { cleanName, linkParam, MAX_NAME_LENGTH, parseConfig, readToken, wsBaseUrl } from "../viewer/config";

const SERVED = {
  room: "r0Om",
  role: "host",
  wsBase: "../../ws/r0Om",
  refWidth: 1100,
  version: "abc123",
  cells: 12,
  title: "Demo <b>",
  offline: false,
  relay: "",
  e2e: true,
  kernelLeader: 4294967296,
  presenter: "Ana",
};

const loc = (href: string): Location => {
  const u = new URL(href);
  return { href: u.href, search: u.search, hash: u.hash } as Location;
};

test("the viewer reads exactly the contract's keys, with the contract's types", () => {
  const config = parseConfig("{}");
  assert.deepEqual(Object.keys(config).sort(), Object.keys(contract).sort());
  for (const [key, c] of Object.entries(contract)) {
    assert.equal(typeof config[key as keyof typeof config], c.type, key);
  }
});

test("a page's config is read as the server wrote it", () => {
  assert.deepEqual(parseConfig(JSON.stringify(SERVED)), SERVED);
  const exported = { ...SERVED, room: "", role: "guest", wsBase: "", offline: true };
  assert.deepEqual(parseConfig(JSON.stringify(exported)), exported);
});

test("missing, mistyped or out-of-range values get their defaults", () => {
  const c = parseConfig(
    JSON.stringify({
      role: "admin",
      refWidth: "1200",
      cells: -1,
      title: 7,
      offline: "yes",
      e2e: "true",
      extra: 1,
    }),
  );
  assert.deepEqual(c, {
    room: "",
    role: "guest",
    wsBase: "",
    refWidth: 1000,
    version: "",
    cells: 0,
    title: "",
    offline: false,
    relay: "",
    e2e: false,
    kernelLeader: 4294967296,
    presenter: "",
  });
  assert.equal(parseConfig(JSON.stringify({ refWidth: 150 })).refWidth, 1000);
  assert.equal(parseConfig(JSON.stringify({ refWidth: 200 })).refWidth, 200);
  assert.equal(parseConfig("[1, 2]").role, "guest");
});

test("an unreadable block gives the defaults and says so", (t) => {
  const error = t.mock.method(console, "error", () => undefined);
  assert.equal(parseConfig("{not json").refWidth, 1000);
  assert.equal(error.mock.callCount(), 1);
});

test("the token comes from the page's own URL", () => {
  assert.equal(readToken(loc("https://h/s/room/?token=t%2Bk&name=Ana")), "t+k");
  assert.equal(readToken(loc("https://h/s/room/")), "");
});

test("link parameters: the query first, then an encrypted link's fragment after its key", () => {
  const url = loc("https://h/s/room/?token=t#k=AAAA&name=Ana%20Lee&lead=1");
  assert.equal(linkParam("name", url), "Ana Lee");
  assert.equal(linkParam("lead", url), "1");
  assert.equal(linkParam("token", url), "t");
  assert.equal(linkParam("name", loc("https://h/s/room/?name=Bo#k=AAAA&name=Ana")), "Bo");
  // a name appended to a link that carries one (the presenter's login name) wins
  assert.equal(linkParam("name", loc("https://h/s/room/?token=t&name=root&name=Bea")), "Bea");
  assert.equal(linkParam("name", loc("https://h/s/room/?token=t#k=AAAA&name=root&name=Bea")), "Bea");
  assert.equal(linkParam("name", loc("https://h/s/room/?token=t")), null);
});

test("wsBase resolves against the page, switches to ws(s) and drops query and hash", () => {
  assert.equal(wsBaseUrl("../../ws/r1", loc("https://h.example/p/s/r1/?token=x#y")), "wss://h.example/p/ws/r1");
  assert.equal(wsBaseUrl("../../ws/r1/", loc("http://127.0.0.1:8000/s/r1/")), "ws://127.0.0.1:8000/ws/r1");
  assert.equal(wsBaseUrl("", loc("http://h/s/r1/?token=x")), "ws://h/s/r1");
});

test("names: whitespace and control characters collapse, at most 40 characters", () => {
  assert.equal(cleanName("  Ana\u0000\n  Lee\t"), "Ana Lee");
  assert.equal(cleanName("\u0007\u007f"), "");
  assert.equal(cleanName(42), "");
  assert.equal(cleanName("é".repeat(50)).length, MAX_NAME_LENGTH);
  assert.equal(Array.from(cleanName("😀".repeat(50))).length, MAX_NAME_LENGTH);
});
