/** Reading PostgreSQL's `EXPLAIN (ANALYZE, FORMAT JSON)` output in the plan tests. */

/** One node of a JSON plan, with the fields the plan tests read. */
export type PlanNode = {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
};

/** Every node of the first plan of an EXPLAIN (FORMAT JSON) result, parents before children. */
export function nodesOf(explained: { 'QUERY PLAN': { Plan: PlanNode }[] }[]): PlanNode[] {
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(explained[0]!['QUERY PLAN'][0]!.Plan);
  return nodes;
}
