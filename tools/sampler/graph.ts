// The foreign-key graph as plain data: strongly connected components and an insertion order
// that puts parents before children, with the edges that no order can satisfy (self-references
// and back edges inside a cycle) named so the copier can defer or fix them up.
import type { ForeignKey } from "./catalog";

export interface Edge {
  /** Referencing (child) table. */
  from: string;
  /** Referenced (parent) table. */
  to: string;
}

/**
 * Tarjan's algorithm. Components come out parents-first for child->parent edges: a component
 * is emitted only after every component it references. Deterministic for a given input.
 */
export function stronglyConnectedComponents(nodes: string[], edges: Edge[]): string[][] {
  const sortedNodes = [...new Set(nodes)].sort();
  const adjacency = new Map<string, string[]>(sortedNodes.map((n) => [n, []]));
  for (const e of edges) {
    if (!adjacency.has(e.from) || !adjacency.has(e.to)) continue;
    adjacency.get(e.from)!.push(e.to);
  }
  for (const list of adjacency.values()) list.sort();

  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];

  // Iterative, so a long chain of tables cannot overflow the call stack.
  for (const start of sortedNodes) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter);
    counter++;
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const succ = adjacency.get(frame.node)!;
      if (frame.next < succ.length) {
        const w = succ[frame.next++];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter);
          counter++;
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        out.push(component.sort());
      }
    }
  }
  return out;
}

export interface InsertionPlan {
  /** Tables in an order where every parent precedes its children, cycles aside. */
  order: string[];
  /** FKs whose parent rows cannot all be inserted first: self-references and cycle back edges. */
  cyclic: ForeignKey[];
  /** Components of more than one table, or one table referencing itself. */
  cycles: string[][];
}

/** A cycle can be broken at a FK that is deferrable, or nullable (insert NULL, set it later). */
export const breakable = (fk: ForeignKey): boolean => fk.deferrable || fk.nullable;

/**
 * Parents-first order of the tables. Inside a cycle the tables are ordered so that only
 * breakable FKs point forward (parent inserted later); if the unbreakable FKs of a cycle form
 * a cycle themselves, the order is alphabetical there and `cyclic` holds unbreakable FKs.
 */
export function insertionOrder(tables: string[], foreignKeys: ForeignKey[], canBreak: (fk: ForeignKey) => boolean = breakable): InsertionPlan {
  const set = new Set(tables);
  const relevant = foreignKeys.filter((fk) => set.has(fk.table) && set.has(fk.refTable));
  const components = stronglyConnectedComponents(
    tables,
    relevant.map((fk) => ({ from: fk.table, to: fk.refTable })),
  );
  const order: string[] = [];
  for (const component of components) {
    if (component.length === 1) {
      order.push(component[0]);
      continue;
    }
    // Order the component by its unbreakable edges alone: their strongly connected components come
    // parents first, so only edges inside a cycle of unbreakable FKs stay cyclic. (Picking any
    // table when none is ready could put a table before the parent its hard FK needs.)
    const inside = new Set(component);
    const hard = relevant.filter((fk) => inside.has(fk.table) && inside.has(fk.refTable) && fk.table !== fk.refTable && !canBreak(fk));
    for (const hardComponent of stronglyConnectedComponents(
      component,
      hard.map((fk) => ({ from: fk.table, to: fk.refTable })),
    )) {
      order.push(...[...hardComponent].sort());
    }
  }
  const position = new Map(order.map((t, i) => [t, i]));
  const cyclic = relevant.filter((fk) => position.get(fk.refTable)! >= position.get(fk.table)!);
  const selfReferencing = new Set(relevant.filter((fk) => fk.table === fk.refTable).map((fk) => fk.table));
  const cycles = components.filter((c) => c.length > 1 || selfReferencing.has(c[0]));
  return { order, cyclic, cycles };
}

/** Tables reachable upward (through references to parents) from the given ones, inclusive. */
export function parentClosure(start: string[], foreignKeys: ForeignKey[]): Set<string> {
  const seen = new Set(start);
  const queue = [...start];
  while (queue.length > 0) {
    const t = queue.pop()!;
    for (const fk of foreignKeys) {
      if (fk.table === t && !seen.has(fk.refTable)) {
        seen.add(fk.refTable);
        queue.push(fk.refTable);
      }
    }
  }
  return seen;
}
