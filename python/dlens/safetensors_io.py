"""safetensors read and write with numpy alone (the format: 8-byte header length, JSON header, raw buffers).

A trace must be loadable without dlens, so files written here are plain safetensors: `safetensors.numpy.load_file`
opens them. Writes go to a temporary file beside the target, flushed and renamed, so a reader never sees half a file.
"""
import json
import os
import stat
import struct
import tempfile

import numpy as np

DTYPES = {
    'I32': np.int32, 'I64': np.int64, 'F16': np.float16, 'F32': np.float32, 'F64': np.float64, 'U8': np.uint8,
    'I8': np.int8, 'I16': np.int16, 'U16': np.uint16, 'U32': np.uint32, 'BOOL': np.bool_,
}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


def encode(tensors, metadata):
    """Bytes of a safetensors file holding `tensors` (name -> numpy array) and string `metadata`."""
    header = {'__metadata__': metadata}
    offset, blobs = 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        code = CODES.get(a.dtype)
        if code is None:
            raise TypeError(f'tensor {name!r}: dtype {a.dtype} has no safetensors code')
        b = a.astype(a.dtype.newbyteorder('<'), copy=False).tobytes()
        header[name] = {'dtype': code, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)  # keep the data section 8-byte aligned, as the reference writer does
    return b''.join([struct.pack('<Q', len(text)), text, *blobs])


class TraceError(ValueError):
    """A file that is not a well-formed safetensors file or `.dlens` trace; the message says what is wrong (and never
    quotes the file's content)."""


class PathRefused(ValueError):
    """A path dlens will not write to: a folder, a device, a named pipe, a socket or a link to nothing."""


def _kind(mode):
    return ('a folder' if stat.S_ISDIR(mode) else 'a named pipe' if stat.S_ISFIFO(mode) else
            'a device' if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else 'a socket' if stat.S_ISSOCK(mode) else
            'not a regular file')


def write_target(path):
    """Where a write to `path` lands, by the rules the command line's --out follows: the path itself, or through a
    symbolic link to the file it names. Only a regular file (or nothing yet) is replaced; a folder, a device, a named
    pipe, a socket or a dangling link is refused with PathRefused."""
    p = os.path.abspath(os.fspath(path))
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return p
    target = p
    if stat.S_ISLNK(st.st_mode):
        target = os.path.realpath(p)
        try:
            st = os.stat(target)
        except FileNotFoundError:
            raise PathRefused(f'cannot write {path}: it is a symbolic link to a file that does not exist; '
                              'remove the link or give another path') from None
    if not stat.S_ISREG(st.st_mode):
        hint = f'give a file path such as {os.path.join(os.fspath(path), "trace.dlens")}' if stat.S_ISDIR(st.st_mode) \
            else 'give the path of a file'
        raise PathRefused(f'cannot write {path}: it is {_kind(st.st_mode)}, not a file; {hint}')
    return target


def write_atomic(path, data):
    """Write bytes to `path` (write_target's rules) through a temporary file in the same folder; the old file stays
    until the rename."""
    target = write_target(path)
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(target) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


MAX_HEADER = 100 * 1024 * 1024
MAX_DEPTH = 8
SIZES = {k: np.dtype(v).itemsize for k, v in DTYPES.items()}


def is_count(x):
    """A whole number >= 0 that a double holds exactly (what JSON.parse gives the TypeScript reader: 2.0 is 2)."""
    if type(x) is float and x.is_integer():
        x = int(x)
    return type(x) is int and 0 <= x <= 2 ** 53 - 1


def parse_json_checked(text, max_depth, what):
    """json.loads refusing duplicate keys (another reader would keep the other value) and nesting deeper than
    `max_depth`; errors are TraceError and never quote the text."""
    def pairs(items):
        keys = set()
        for k, _ in items:
            if k in keys:
                raise TraceError(f'{what}: the key {json.dumps(k[:80])} appears twice in one object')
            keys.add(k)
        return dict(items)
    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        raise TraceError(f'{what}: it is nested more than {max_depth} levels deep') from None
    except json.JSONDecodeError as e:
        raise TraceError(f'{what}: it is not valid JSON (at character {e.pos})') from None
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            if d > max_depth:
                raise TraceError(f'{what}: it is nested more than {max_depth} levels deep')
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return value


def read_regular(path):
    """A regular file's bytes; a named pipe, a device or a folder is refused (opened without blocking)."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    except FileNotFoundError:
        raise TraceError(f'{path} does not exist') from None
    except IsADirectoryError:
        raise TraceError(f'{path} is a folder, not a file') from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TraceError(f'{path} is {_kind(st.st_mode)}; dlens reads only regular files')
        with os.fdopen(fd, 'rb', closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def load(path):
    """(metadata, tensors) of a safetensors file, every field checked as dlens's TypeScript reader checks it: the
    header length, UTF-8 JSON without duplicate keys, dtypes, shapes, offsets inside the data section, no overlaps
    and no bytes that belong to no tensor. Raises TraceError."""
    return loads(read_regular(path), path)


def loads(raw, path='the data'):
    """(metadata, tensors) of safetensors bytes, checked as load() checks a file."""
    if len(raw) < 8:
        raise TraceError(f'{path}: {len(raw)} bytes, too short for a safetensors file')
    n = struct.unpack('<Q', raw[:8])[0]
    if n < 2 or n > MAX_HEADER:
        raise TraceError(f'{path}: not a safetensors file (it does not start with a plausible header length)')
    if n > len(raw) - 8:
        raise TraceError(f'{path}: the header runs past the end of the file (a truncated file?)')
    try:
        text = raw[8:8 + n].decode('utf-8')
    except UnicodeDecodeError:
        raise TraceError(f'{path}: the header is not valid UTF-8') from None
    header = parse_json_checked(text, MAX_DEPTH, f'{path}: the header')
    if not isinstance(header, dict):
        raise TraceError(f'{path}: the header is not a JSON object')
    data = raw[8 + n:]
    meta = header.pop('__metadata__', {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise TraceError(f'{path}: __metadata__ must be an object of strings')
    out, ranges = {}, []
    for name, h in header.items():
        at = f'{path}: tensor {json.dumps(name[:80])}'
        if not isinstance(h, dict):
            raise TraceError(f'{at}: the entry is not an object')
        dt = h.get('dtype')
        if not isinstance(dt, str) or dt not in DTYPES:
            raise TraceError(f'{at}: unsupported dtype')
        shape = h.get('shape')
        if not isinstance(shape, list) or not all(is_count(d) for d in shape):
            raise TraceError(f'{at}: shape must be a list of non-negative integers')
        off = h.get('data_offsets')
        if not isinstance(off, list) or len(off) != 2 or not all(is_count(d) for d in off) or off[0] > off[1]:
            raise TraceError(f'{at}: data_offsets must be [begin, end] with 0 <= begin <= end')
        b0, b1 = int(off[0]), int(off[1])
        shape = [int(d) for d in shape]
        if b1 > len(data):
            raise TraceError(f'{at}: its bytes lie outside the data section (a truncated file?)')
        count = 1
        for d in shape:
            count *= d
        if b1 - b0 != count * SIZES[dt]:
            raise TraceError(f'{at}: its shape needs {count * SIZES[dt]} bytes but data_offsets span {b1 - b0}')
        ranges.append((b0, b1, name))
        dtype = np.dtype(DTYPES[dt]).newbyteorder('<')
        out[name] = (np.frombuffer(data, dtype=dtype, count=count, offset=b0) if count else
                     np.zeros(0, dtype)).reshape(shape)
    end = 0
    for b0, b1, name in sorted(ranges):
        if b0 < end:
            raise TraceError(f'{path}: tensor {json.dumps(name[:80])} overlaps the tensor before it')
        if b0 > end:
            raise TraceError(f'{path}: bytes {end}..{b0} of the data section belong to no tensor')
        end = b1
    if end != len(data):
        raise TraceError(f'{path}: the data section has {len(data) - end} trailing bytes that belong to no tensor')
    return meta, out
