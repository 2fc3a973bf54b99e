"""Token texts for a trace's vocabulary: from a tokenizer.json (no `tokenizers` package needed) or a loaded tokenizer.

The trace's manifest holds the text of every token id it mentions; views show them. A loaded tokenizer (a
transformers tokenizer, anything with `decode`) is asked directly; a tokenizer.json is read as the file says: byte-level
BPE pieces are mapped back to bytes (GPT-2's table), sentencepiece pieces have '▁' as the space.
"""
import json
import os

from .safetensors_io import read_regular


def _byte_decoder():
    # GPT-2's reversible map of bytes to printable characters, inverted.
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class Vocab:
    """id -> text, and which ids are special (skipped in the output text)."""

    def __init__(self, tokenizer=None):
        self._decode = None
        self._pieces = {}
        self.special = set()
        self._byte_level = False
        if tokenizer is None:
            return
        if isinstance(tokenizer, (str, os.PathLike)):
            self._load_json(os.fspath(tokenizer))
        elif hasattr(tokenizer, 'decode'):
            self._decode = tokenizer
            self.special = set(getattr(tokenizer, 'all_special_ids', []) or [])
        else:
            raise TypeError('tokenizer must be a path to tokenizer.json or a tokenizer with a decode method')

    def _load_json(self, path):
        if os.path.isdir(path):
            path = os.path.join(path, 'tokenizer.json')
        try:
            spec = json.loads(read_regular(path).decode('utf-8'))  # a named pipe is refused, never waited on
        except UnicodeDecodeError:
            raise ValueError(f'cannot read the tokenizer {path}: it is not UTF-8 text') from None
        except json.JSONDecodeError as e:
            raise ValueError(f'cannot read the tokenizer {path}: not valid JSON (at character {e.pos})') from None
        except (OSError, ValueError) as e:
            raise ValueError(f'cannot read the tokenizer {path}: {e}') from None
        if not isinstance(spec, dict):
            raise ValueError(f'cannot read the tokenizer {path}: it is not a JSON object')
        model = spec.get('model') or {}
        vocab = model.get('vocab')
        if isinstance(vocab, dict):
            self._pieces = {i: p for p, i in vocab.items()}
        elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]
            self._pieces = {i: p[0] for i, p in enumerate(vocab)}
        for t in spec.get('added_tokens') or []:
            self._pieces[t['id']] = t['content']
            if t.get('special'):
                self.special.add(t['id'])
        dec = json.dumps(spec.get('decoder') or {})
        self._byte_level = 'ByteLevel' in dec
        self._bytes = _byte_decoder() if self._byte_level else None

    def text(self, i):
        i = int(i)
        if self._decode is not None:
            return self._decode.decode([i])
        p = self._pieces.get(i)
        if p is None:
            return f'<{i}>'
        if i in self.special:
            return p
        if self._byte_level:
            return bytes(self._bytes.get(c, ord('?')) for c in p).decode('utf-8', errors='replace')
        return p.replace('▁', ' ')

    def join(self, ids):
        """Output text of generated ids, special tokens left out."""
        ids = [int(i) for i in ids if int(i) not in self.special]
        if self._decode is not None:
            return self._decode.decode(ids)
        if self._byte_level:
            return b''.join(
                bytes(self._bytes.get(c, ord('?')) for c in self._pieces.get(i, '')) for i in ids
            ).decode('utf-8', errors='replace')
        return ''.join(self.text(i) for i in ids)
