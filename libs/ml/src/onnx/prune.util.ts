import type { Graph } from './graph.model';

/** Drops nodes and initializers that no graph output depends on (backward passes leave many). */
export function pruneGraph(g: Graph): Graph {
  const needed = new Set(g.outputs.map((o) => o.name));
  const kept = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const x of n.inputs) if (x) needed.add(x);
  }
  kept.reverse();
  const initializers = new Map([...g.initializers].filter(([k]) => needed.has(k)));
  const produced = new Set(kept.flatMap((n) => n.outputs));
  const valueInfo = g.valueInfo?.filter((v) => produced.has(v.name));
  return { ...g, nodes: kept, initializers, ...(valueInfo ? { valueInfo } : {}) };
}
