/**
 * A trace tensor whose first dimension is the step (top-k, saliency, cache residency): the bulk of a large trace.
 * Rows are read and decoded when a view asks for them, so a 1 GB trace opens without reading its layers; a trace in
 * memory answers synchronously. Pure TypeScript: the renderer's views read traces through this.
 */
import { DTYPE_SIZE, type DType } from './safetensors.js';
import { halfArrayToFloat } from './f16.js';

export type Row = Float32Array | Int32Array | Uint8Array;

/** Raw bytes of rows [s0, s1): synchronous for a trace in memory, a range read (file, HTTP) otherwise. */
export type RowFetch = (s0: number, s1: number) => Uint8Array | Promise<Uint8Array>;

/** Keeps this many decoded rows per tensor: scrubbing back and forth stays in memory, a 1 GB trace does not. */
const MAX_ROWS = 512;

export class StepTensor<A extends Row = Row> {
  readonly rowLength: number;
  private readonly rows = new Map<number, A>();
  private readonly pending = new Map<number, Promise<void>>();
  private whole: A | undefined;
  private wholeLoad: Promise<A> | undefined;

  constructor(
    readonly name: string,
    readonly dtype: DType,
    /** [S, ...row dims]; [0] when the trace does not hold the tensor. */
    readonly shape: number[],
    private readonly fetch: RowFetch | null,
    /** Checks decoded values (token ids inside the vocabulary…) and throws TraceError naming the step. */
    private readonly check: (row: A, step: number) => void = () => {},
    /** Called when rows arrive from an asynchronous read: views redraw. */
    readonly onLoad: { listener?: () => void } = {},
    /** The bytes are in memory (fetch answers at once); otherwise every read is a range read, started on request. */
    private readonly inMemory = true,
  ) {
    this.rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
  }

  /** Whether the trace holds this tensor; views that need an absent one say so. */
  get present(): boolean {
    return this.fetch !== null;
  }
  get steps(): number {
    return this.present ? this.shape[0]! : 0;
  }

  private decode(raw: Uint8Array): A {
    const buf = Uint8Array.prototype.slice.call(raw).buffer; // aligned copy (Buffer.slice would be a view)
    if (this.dtype === 'F16') return halfArrayToFloat(new Uint16Array(buf)) as A;
    if (this.dtype === 'I32') return new Int32Array(buf) as A;
    if (this.dtype === 'F32') return new Float32Array(buf) as A;
    return new Uint8Array(buf) as A;
  }

  private keep(s: number, row: A) {
    this.check(row, s);
    if (this.rows.size >= MAX_ROWS) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(s, row);
  }

  private rowBytes() {
    return this.rowLength * DTYPE_SIZE[this.dtype];
  }

  /**
   * Row `s` decoded, or undefined while it is being read (the read starts now; `onLoad` fires when it is in).
   * Throws TraceError if the row's values are malformed.
   */
  row(s: number): A | undefined {
    if (!this.fetch || s < 0 || s >= this.steps) return undefined;
    if (this.whole) return this.whole.subarray(s * this.rowLength, (s + 1) * this.rowLength) as A;
    const hit = this.rows.get(s);
    if (hit) return hit;
    if (this.inMemory) {
      const row = this.decode(this.fetch(s, s + 1) as Uint8Array);
      this.keep(s, row);
      return row;
    }
    void this.load(s, s + 1).catch(() => {});
    return undefined;
  }

  /** Reads rows [s0, s1) (one range read) unless they are in memory. */
  load(s0: number, s1 = s0 + 1): Promise<void> {
    if (!this.fetch) return Promise.resolve();
    s0 = Math.max(0, s0);
    s1 = Math.min(this.steps, s1);
    if (this.whole || s1 <= s0) return Promise.resolve();
    let a = s0;
    while (a < s1 && this.rows.has(a)) a++;
    let b = s1;
    while (b > a && this.rows.has(b - 1)) b--;
    if (a >= b) return Promise.resolve();
    const key = a * 1e9 + b;
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const p = Promise.resolve(this.fetch(a, b)).then((raw) => {
      const n = this.rowBytes();
      for (let s = a; s < b; s++) this.keep(s, this.decode(raw.subarray((s - a) * n, (s - a + 1) * n)));
      this.pending.delete(key);
      this.onLoad.listener?.();
    });
    p.catch(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  /** The whole tensor, [S × rowLength], if it is in memory (always, for a trace read from bytes). */
  full(): A | undefined {
    if (this.whole || !this.fetch || !this.inMemory) return this.whole;
    const raw = this.fetch(0, this.steps);
    if (!(raw instanceof Uint8Array)) return undefined;
    const all = this.decode(raw);
    for (let s = 0; s < this.steps; s++) this.check(all.subarray(s * this.rowLength, (s + 1) * this.rowLength) as A, s);
    this.whole = all;
    this.rows.clear();
    return all;
  }

  /** Reads the whole tensor (in chunks of steps, so a progress-free UI stays responsive). */
  loadFull(): Promise<A | undefined> {
    if (!this.fetch) return Promise.resolve(undefined);
    const now = this.full();
    if (now) return Promise.resolve(now);
    this.wholeLoad ??= (async () => {
      const S = this.steps,
        n = this.rowBytes();
      const all = new Uint8Array(S * n);
      const chunk = Math.max(1, Math.floor((8 << 20) / Math.max(1, n)));
      for (let s = 0; s < S; s += chunk) all.set(await this.fetch!(s, Math.min(S, s + chunk)), s * n);
      const decoded = this.decode(all);
      for (let s = 0; s < S; s++) this.check(decoded.subarray(s * this.rowLength, (s + 1) * this.rowLength) as A, s);
      this.whole = decoded;
      this.rows.clear();
      this.onLoad.listener?.();
      return decoded;
    })();
    return this.wholeLoad;
  }
}
