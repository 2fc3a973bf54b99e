"""safetensors read and write with numpy alone (the format: 8-byte header length, JSON header, raw buffers).

A trace must be loadable without dlens, so files written here are plain safetensors: `safetensors.numpy.load_file`
opens them. Writes go to a temporary file beside the target, flushed and renamed, so a reader never sees half a file.
"""
import json
import os
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


def write_atomic(path, data):
    """Write bytes to `path` through a temporary file in the same folder; the old file stays until the rename."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def load(path):
    """(metadata, tensors) of a safetensors file."""
    raw = open(path, 'rb').read()
    if len(raw) < 8:
        raise ValueError(f'{path}: {len(raw)} bytes, too short for a safetensors file')
    n = struct.unpack('<Q', raw[:8])[0]
    if n > len(raw) - 8:
        raise ValueError(f'{path}: header length {n} runs past the end of the file')
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop('__metadata__', {})
    out = {}
    for name, h in header.items():
        b0, b1 = h['data_offsets']
        out[name] = np.frombuffer(data[b0:b1], dtype=DTYPES[h['dtype']]).reshape(h['shape'])
    return meta, out
