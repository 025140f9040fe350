import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryId, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/**
 * Counts the statements a Kysely instance sends (each one a database round trip), each named by
 * its kind and first table ("select members", "insert handled_updates"; a statement written as
 * SQL by the table it inserts into, or deletes from), so a test can say how
 * many an update costs and show which ones when there are too many.
 */
export class QueryCounter implements KyselyPlugin {
  readonly seen: string[] = [];
  private readonly names = new WeakMap<QueryId, string>();

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    this.names.set(queryId, describe(node));
    return node;
  }

  async transformResult({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.seen.push(this.names.get(queryId) ?? 'statement');
    return result;
  }

  reset() {
    this.seen.length = 0;
  }
}

function describe(node: RootOperationNode): string {
  const kind = node.kind.replace(/QueryNode$|Node$/, '').toLowerCase();
  if (node.kind === 'RawNode') {
    // A statement written as SQL is named by what it writes, like the built ones.
    const text = node.sqlFragments.join('?').trim().replace(/\s+/g, ' ');
    const writes = /\binsert into (\w+)/.exec(text) ?? /^(?:\?\s*)?delete from (\w+)/.exec(text);
    if (writes) return `${writes[0].includes('insert') ? 'insert' : 'delete'} ${writes[1]}`;
    return `raw ${text.slice(0, 60)}`;
  }
  return `${kind} ${firstTable(node) ?? ''}`.trim();
}

function firstTable(node: unknown): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const n = node as OperationNode & Record<string, unknown>;
  if (n.kind === 'TableNode') return ((n as any).table?.identifier?.name as string) ?? undefined;
  for (const key of ['into', 'table', 'from', 'froms']) {
    const child = n[key];
    const found = Array.isArray(child) ? child.map(firstTable).find(Boolean) : firstTable(child);
    if (found) return found;
  }
  return undefined;
}
