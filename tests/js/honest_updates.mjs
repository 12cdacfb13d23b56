// Honest update sequences made by real yjs, as pages send them: one person's undo/redo of adds,
// edits and deletes; two people editing and undoing each other's shapes; a reconnect's full state
// (yjs writes clients in descending id order); concurrent edits merged; offline edits against the
// server's state vector; a reconnect to a server restarted empty. Prints {name: [base64 update]}.
// The board schema must accept every one in order (tests/unit/test_schema.py).
import * as Y from 'yjs'

const b64 = (u) => Buffer.from(u).toString('base64')
const out = {}
function capture(doc) { const l = []; doc.on('update', u => l.push(u)); return l }
function fields(k=0){ return {t:'pen',cell:'c1',ci:0,x:10,y:20,c:'#e03131',s:4,by:'Ana',at:1764450000000+k,d:3,pts:new Uint8Array(48)} }
function newShape(f){ const m=new Y.Map(); for (const [k,v] of Object.entries(f)) m.set(k,v); return m }
function mk(id){ const d=new Y.Doc(); d.clientID=id; return d }
function um(doc){ const origin={board:'local'}; const u=new Y.UndoManager(doc.getMap('shapes'),{trackedOrigins:new Set([origin]),captureTimeout:2**31-1}); return {u, tx:(f)=>doc.transact(f,origin)} }

// 1 undo/redo of add, delete; field edits
{ const d=mk(1000); const l=capture(d); const {u,tx}=um(d); const sh=d.getMap('shapes')
  tx(()=>sh.set('s1',newShape(fields()))); u.stopCapturing()
  tx(()=>sh.get('s1').set('x',55)); u.stopCapturing()
  tx(()=>sh.get('s1').set('pts',new Uint8Array(96))); u.stopCapturing()
  tx(()=>sh.delete('s1')); u.stopCapturing()
  u.undo() // restore deleted shape (new map w copied content)
  u.undo() // undo pts edit
  u.undo() // undo x
  u.redo(); u.redo(); u.redo() // delete again
  u.undo(); u.undo(); u.undo(); u.undo() // undo add
  u.redo(); u.redo()
  out.undo_single = l.map(b64)
  out.undo_single_final = JSON.stringify(sh.toJSON(), (k,v)=> v instanceof Uint8Array? v.length : v)
}
// 2 two clients: A creates, B edits and deletes; B undo of delete (redo of A's content by B)
{ const A=mk(2000), B=mk(1000); const la=capture(A), lb=capture(B); const seq=[]
  A.on('update',u=>{seq.push(u); Y.applyUpdate(B,u,'remote')}); B.on('update',(u,o)=>{ if(o!=='remote'){seq.push(u); Y.applyUpdate(A,u,'remote')}})
  const {u,tx}=um(B); const a=um(A)
  a.tx(()=>A.getMap('shapes').set('sA',newShape(fields(1))))
  tx(()=>B.getMap('shapes').get('sA').set('x',77)); u.stopCapturing()
  a.tx(()=>A.getMap('shapes').get('sA').set('y',99))
  tx(()=>B.getMap('shapes').delete('sA')); u.stopCapturing()
  u.undo() // B restores A's shape
  a.tx(()=>A.getMap('shapes').get('sA').set('c','#000000'))
  u.undo() // B undoes its x edit
  u.redo(); u.redo()
  u.undo(); u.undo()
  out.undo_two = seq.map(b64)
  out.undo_two_final = JSON.stringify(A.getMap('shapes').toJSON(), (k,v)=> v instanceof Uint8Array? v.length : v)
  // 5: reconnect of B to an empty server: full state
  out.reconnect_B_full = [b64(Y.encodeStateAsUpdate(B))]
  out.reconnect_A_full = [b64(Y.encodeStateAsUpdate(A))]
}
// 3 concurrent edits merged
{ const A=mk(3000), B=mk(3001); const seq=[]
  A.on('update',u=>seq.push(u)); B.on('update',u=>seq.push(u))
  A.getMap('shapes').set('s', newShape(fields()))
  Y.applyUpdate(B, Y.encodeStateAsUpdate(A))
  const base = seq.length
  A.getMap('shapes').get('s').set('x', 1)
  B.getMap('shapes').get('s').set('x', 2)
  B.getMap('shapes').delete('s')
  A.getMap('shapes').get('s').set('y', 3)
  out.concurrent = seq.map(b64)
  out.concurrent_merged = [b64(seq[0]), b64(Y.mergeUpdates(seq.slice(1)))]
}
// 6 offline edits then step2 against server SV (server knows A's shape; B edited offline)
{ const A=mk(5000), B=mk(4000); const serverSeq=[]
  A.on('update',u=>{serverSeq.push(u)}); 
  A.getMap('shapes').set('s', newShape(fields()))
  Y.applyUpdate(B, Y.encodeStateAsUpdate(A))
  const sv = Y.encodeStateVector(A)
  // B offline: edits A's shape, adds its own
  B.getMap('shapes').get('s').set('x', 42)
  B.getMap('shapes').set('b', newShape(fields(3)))
  out.offline = [...serverSeq.map(b64), b64(Y.encodeStateAsUpdate(B, sv))]
  // Now server restarted EMPTY: B reconnects -> step2 with everything (client 5000 structs first, then 4000)
  out.restart_empty = [b64(Y.encodeStateAsUpdate(B))]
}
process.stdout.write(JSON.stringify(out))
