/**
 * A structural check of JSON text before JSON.parse trusts it. JSON.parse keeps the last of duplicate keys, so two
 * readers of one file could see two different traces; and a deeply nested value parses fine but overflows the stack
 * of whatever walks it later (a schema, `dlens info`). This scanner refuses both, in one pass without recursion.
 * Pure TypeScript: the renderer reads traces with it too.
 */
export class JsonShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonShapeError';
  }
}

export function checkJsonShape(text: string, maxDepth: number): void {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      if (expectKey) {
        const keys = stack[stack.length - 1]!;
        const raw = text.slice(start, i + 1);
        let key = raw;
        try {
          key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        } catch {
          /* JSON.parse reports it */
        }
        if (keys.has(key))
          throw new JsonShapeError(`the key ${JSON.stringify(key.slice(0, 80))} appears twice in one object`);
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push(c === 0x7b ? new Set() : null);
      if (stack.length > maxDepth) throw new JsonShapeError(`it is nested more than ${maxDepth} levels deep`);
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    }
  }
}

/** JSON.parse with the shape check; the error never quotes the text (it may be a file that is not ours). */
export function parseJsonChecked(text: string, maxDepth: number): unknown {
  checkJsonShape(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new JsonShapeError(`it is not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
}
