// parquet_check.mjs FILE G... - reads row groups G... (0-based) of a Parquet file with two
// independent readers, parquet-wasm (Apache Arrow's Rust reader) through apache-arrow (JS), and
// hyparquet (pure JS), and prints per reader and row group: rows, the sum of every value of each
// numeric or list<number> column (as float64, in row order), and the first row's first values.
// One line per reader, row group and column: "<reader> rg=<g> col=<name> rows=<n> sum=<s> head=<v,...>".
// Run by scripts/bench/parquet_check.sh, which compares the lines with lunette's.
import { readFileSync } from "node:fs";
import * as arrow from "apache-arrow";
import * as pw from "parquet-wasm";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";

const [file, ...groups] = process.argv.slice(2);
const bytes = readFileSync(file);
const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
const meta = parquetMetadata(buf);
const fmt = (x) => x.toPrecision(17);
const line = (reader, g, name, rows, sum, head) =>
  console.log(`${reader} rg=${g} col=${name} rows=${rows} sum=${fmt(sum)} head=${head.map(fmt).join(",")}`);

// flattens a value (number, bigint, array or typed array) into out
const flat = (v, out) => {
  if (v === null || v === undefined) return out;
  if (typeof v === "bigint") out.push(Number(v));
  else if (typeof v === "number") out.push(v);
  else if (ArrayBuffer.isView(v) || Array.isArray(v)) for (const x of v) flat(x, out);
  else if (typeof v.toArray === "function") flat(v.toArray(), out);
  return out;
};

let start = 0;
const starts = meta.row_groups.map((rg) => { const s = start; start += Number(rg.num_rows); return s; });
for (const gs of groups) {
  const g = Number(gs);
  const rows = Number(meta.row_groups[g].num_rows);
  // parquet-wasm: only this row group is decoded
  const table = arrow.tableFromIPC(pw.readParquet(new Uint8Array(buf), { rowGroups: [g] }).intoIPCStream());
  for (const f of table.schema.fields) {
    const col = table.getChild(f.name);
    let sum = 0;
    const head = [];
    for (let r = 0; r < col.length; r++) {
      const vals = flat(col.get(r), []);
      for (const x of vals) sum += x;
      if (r === 0) head.push(...vals.slice(0, 4));
    }
    line("parquet-wasm", g, f.name, col.length, sum, head);
  }
  // hyparquet: the same rows
  const objs = await parquetReadObjects({ file: buf, compressors, rowStart: starts[g], rowEnd: starts[g] + rows });
  for (const name of Object.keys(objs[0] || {})) {
    let sum = 0;
    const head = [];
    objs.forEach((o, r) => {
      const vals = flat(o[name], []);
      for (const x of vals) sum += x;
      if (r === 0) head.push(...vals.slice(0, 4));
    });
    line("hyparquet", g, name, objs.length, sum, head);
  }
}
