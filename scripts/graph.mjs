// The cycles of a graph given as Map node -> Set of nodes, for the layout
// checks (check-includes.mjs over #include lines, check-links.mjs over the
// symbols object files define and use).

// Tarjan's algorithm, recursive, which is enough for a few hundred files.
export function stronglyConnected(edges) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) || []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc);
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

// The shortest loop from the cycle's first file back to it, for the
// message: a -> b -> a.
export function cycleText(edges, members) {
  const inside = new Set(members);
  const start = members[0];
  const came = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of edges.get(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const loop = [start];
        for (let at = v; at !== start; at = came.get(at)) loop.splice(1, 0, at);
        return [...loop, start].join(' -> ');
      }
      if (!came.has(w)) {
        came.set(w, v);
        queue.push(w);
      }
    }
  }
  return members.join(' -> ');
}
