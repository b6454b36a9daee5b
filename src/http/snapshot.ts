// The day's last row per sym of a table, for GET /l402/snapshot: read from today's journal with the
// streaming reader, incrementally — each table keeps the position it has read to and the last row of
// each sym seen, so a request reads only what was journaled since the previous one. Memory: one row per
// distinct sym of the day, per table asked for; reset when the day's journal changes.
import type { Json, JsonTable } from '../ws/index.js';
import { tableToJson } from '../ws/index.js';
import type { QValue } from '../ipc/index.js';
import type { SymFilter, Tickerplant } from '../tick/index.js';
import { positionId, publishedPosition, readRows } from './journal-rows.js';

interface TableRows {
  path: string;
  day: number;
  position: number;
  /** sym → the row's values in column order (as the JSON renderer gives them). */
  readonly last: Map<string, Json[]>;
}

export interface Snapshot {
  readonly table: string;
  /** The journal position the rows are as of (an SSE Last-Event-ID resumes from it). */
  readonly id: string;
  readonly data: JsonTable;
}

export class LastRows {
  private readonly tables = new Map<string, TableRows>();
  /** One read at a time per table: concurrent requests wait for the same catch-up. */
  private readonly reading = new Map<string, Promise<void>>();

  constructor(private readonly tp: Tickerplant) {}

  /** The last row of each sym in `filter` (null: every sym seen today, sorted) as of the published position. */
  async read(table: string, filter: SymFilter): Promise<Snapshot> {
    const before = this.reading.get(table) ?? Promise.resolve();
    const mine = before.then(() => this.catchUp(table));
    const settled = mine.catch(() => undefined);
    this.reading.set(table, settled);
    try {
      await mine;
    } finally {
      if (this.reading.get(table) === settled) this.reading.delete(table);
    }
    const state = this.tables.get(table) as TableRows;
    const names = [...(this.tp.tables.get(table)?.schema.columns ?? [])];
    const syms = filter === null ? [...state.last.keys()].sort() : [...filter].filter((s) => state.last.has(s));
    const data: Record<string, Json[]> = {};
    names.forEach((n, c) => { data[n] = syms.map((s) => (state.last.get(s) as Json[])[c] ?? null); });
    return { table, id: positionId(state.day, state.position), data: { columns: names, data } };
  }

  private async catchUp(table: string): Promise<void> {
    const tp = this.tp;
    tp.flushJournal();
    const path = tp.logFile as string;
    let state = this.tables.get(table);
    if (!state || state.path !== path) {
      state = { path, day: tp.d, position: 0, last: new Map() };
      this.tables.set(table, state);
    }
    const s = state;
    const to = publishedPosition(tp);
    if (s.position >= to) return;
    const r = await readRows(tp, path, table, null, s.position, to, (cols: QValue[]) => {
      const t = tableToJson(tp.tables.get(table)?.schema.columns ?? [], cols);
      const symCol = t.data[t.columns[1] as string] ?? [];
      for (let i = 0; i < symCol.length; i++) s.last.set(String(symCol[i]), t.columns.map((c) => t.data[c]?.[i] ?? null));
    }, () => false);
    if (r.short) throw new Error(`journal ended at ${r.position} of ${to} records`);
    s.position = r.position;
  }
}
