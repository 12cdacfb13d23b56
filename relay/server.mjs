#!/usr/bin/env node
// The relay's entry point: one instance on one port. Start as many as you like behind the same
// Redis (and a load balancer that passes websockets through).
//
//   JUPYTERSPOT_RELAY_SECRET=... node server.mjs --redis redis://127.0.0.1:6379 [--port 8080]
//                                                [--host 0.0.0.0] [--policy-ttl 600]
//
// Pages connect with Hocuspocus' protocol on any path; the share's kernel connects to /kernel with
// "Authorization: Bearer <secret>". The secret comes from the environment, never the command
// line (other users can read a process' arguments). Prints "relay listening on <port>" once
// ready. See relay.mjs for what the relay does and does not decide.

import http from 'node:http'
import { parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'
import { Relay, MAX_MESSAGE } from './relay.mjs'

const { values } = parseArgs({
  options: {
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'policy-ttl': { type: 'string', default: '600' }, // s: see POLICY_TTL in relay.mjs
  },
})

const relay = new Relay({
  redisUrl: values.redis,
  secret: process.env.JUPYTERSPOT_RELAY_SECRET,
  policyTtl: Number(values['policy-ttl']),
})
await relay.ready
const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE })
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' })
  res.end('jupyterspot relay\n')
})
server.on('upgrade', (req, socket, head) => {
  const kernel = new URL(req.url, 'http://relay').pathname === '/kernel'
  if (kernel && !relay.kernelAllowed(req.headers.authorization)) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
    return
  }
  sockets.handleUpgrade(req, socket, head, (ws) => {
    if (kernel) relay.acceptKernel(ws)
    else relay.acceptPage(ws, req)
  })
})
server.listen(Number(values.port), values.host, () => {
  console.log(`relay listening on ${server.address().port}`)
})

const stop = async () => {
  server.close()
  await relay.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
